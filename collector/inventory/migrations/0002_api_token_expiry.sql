-- Inventory schema, version 2: API tokens may expire.

-- When the token stops working (Unix milliseconds); 0: never.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;

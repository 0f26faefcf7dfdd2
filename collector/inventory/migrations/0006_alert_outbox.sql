-- Inventory schema, version 6: alert notifications to webhooks.
--
-- alert_state is what the alerting engine last saw firing, so that a
-- change (an alert starting or resolving) is noticed exactly once, across
-- collector restarts. alert_outbox holds the notifications of those changes
-- until a webhook has taken them: written in the same transaction as the
-- state, retried with backoff, kept across restarts and kill -9.
CREATE TABLE alert_state (
    fingerprint TEXT PRIMARY KEY,
    alert       TEXT NOT NULL,    -- JSON of the alert as last seen
    since       INTEGER NOT NULL  -- Unix milliseconds it was first seen firing
);

CREATE TABLE alert_outbox (
    id         INTEGER PRIMARY KEY,
    target     TEXT NOT NULL,              -- the webhook's name
    body       BLOB NOT NULL,              -- the JSON to post
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,           -- Unix milliseconds of the next attempt
    created_at INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_outbox_due ON alert_outbox(next_at);

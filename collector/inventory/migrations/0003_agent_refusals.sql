-- Inventory schema, version 3: what the collector refused from each agent.
--
-- One row per (agent, kind): a frame it could not decode, a batch over the
-- frame limit, samples beyond the allowed clock skew, a quota exceeded...
-- The agent moves past what was refused; this is where an operator sees
-- that something was, how often, and the latest reason.
CREATE TABLE agent_refusals (
    agent       TEXT NOT NULL REFERENCES agents(name) ON DELETE CASCADE,
    kind        TEXT NOT NULL,              -- a RefusalKind
    count       INTEGER NOT NULL DEFAULT 0, -- units refused (frames, samples, hosts...) since the agent was added
    first_at    INTEGER NOT NULL,           -- Unix milliseconds
    last_at     INTEGER NOT NULL,
    last_reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (agent, kind)
);

-- The agent's clock against the collector's, as last measured at a hello or
-- a batch (collector minus agent, milliseconds); 0 until measured.
ALTER TABLE agents ADD COLUMN clock_skew_ms INTEGER NOT NULL DEFAULT 0;

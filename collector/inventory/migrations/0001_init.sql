-- Inventory schema, version 1. Times are Unix milliseconds (INTEGER).

-- Enrolled agents. A revoked agent keeps its row (revoked_at set) so its
-- certificate serial stays refused.
CREATE TABLE agents (
    name         TEXT PRIMARY KEY,
    hosts        TEXT NOT NULL DEFAULT '',   -- comma-separated host name patterns (path.Match)
    cert_serial  TEXT NOT NULL DEFAULT '',   -- hex serial of the current certificate
    cert_not_after INTEGER NOT NULL DEFAULT 0,
    token_hash   TEXT NOT NULL DEFAULT '',   -- sha256 of a one-time enrollment token, '' once used
    token_expires INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER NOT NULL DEFAULT 0,
    last_seen    INTEGER NOT NULL DEFAULT 0,
    last_address TEXT NOT NULL DEFAULT '',
    software     TEXT NOT NULL DEFAULT ''
);

-- Ingest delivery state per agent: the dedupe watermark.
CREATE TABLE agent_streams (
    agent      TEXT PRIMARY KEY REFERENCES agents(name) ON DELETE CASCADE,
    epoch      INTEGER NOT NULL,
    acked_seq  INTEGER NOT NULL,
    dropped_batches INTEGER NOT NULL DEFAULT 0,
    dropped_samples INTEGER NOT NULL DEFAULT 0,
    corrupt    INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

CREATE TABLE hosts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,      -- the agent's target name
    agent         TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    sys_name      TEXT NOT NULL DEFAULT '',
    sys_descr     TEXT NOT NULL DEFAULT '',
    sys_object_id TEXT NOT NULL DEFAULT '',
    location      TEXT NOT NULL DEFAULT '',
    contact       TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE attributes (
    id          INTEGER PRIMARY KEY,
    host_id     INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,               -- stable identity within the host ("if:ge-0/0/1")
    kind        TEXT NOT NULL,               -- wire.Kind* ("interface", "ntp", ...)
    name        TEXT NOT NULL DEFAULT '',
    descr       TEXT NOT NULL DEFAULT '',
    props       TEXT NOT NULL DEFAULT '{}',  -- JSON object of strings
    interval_s  INTEGER NOT NULL DEFAULT 0,
    ds          TEXT NOT NULL DEFAULT '[]',  -- JSON array of {name, kind, min, max}
    archive     TEXT NOT NULL DEFAULT '',    -- RRD path relative to the data directory
    status      INTEGER NOT NULL DEFAULT 0,  -- status.Status
    status_reason TEXT NOT NULL DEFAULT '',
    status_since INTEGER NOT NULL DEFAULT 0,
    gone        INTEGER NOT NULL DEFAULT 0,  -- 1: no longer reported by the device
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (host_id, key)
);
CREATE INDEX attributes_status ON attributes(status, host_id);
CREATE INDEX attributes_kind ON attributes(kind, host_id);

-- Status changes: one row per transition.
CREATE TABLE status_events (
    id        INTEGER PRIMARY KEY,
    attr_id   INTEGER NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    old_status INTEGER NOT NULL,
    new_status INTEGER NOT NULL,
    reason    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX status_events_attr ON status_events(attr_id, at);
CREATE INDEX status_events_at ON status_events(at);

-- System events (agent dropped data, enrollment, revocation...).
CREATE TABLE events (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    agent  TEXT NOT NULL DEFAULT '',
    host   TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL
);
CREATE INDEX events_at ON events(at);

CREATE TABLE users (
    name        TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,             -- bcrypt
    role        TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at  INTEGER NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,            -- sha256 of the cookie value
    user_name   TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,            -- sha256 of the token
    user_name   TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    last_used   INTEGER NOT NULL DEFAULT 0
);

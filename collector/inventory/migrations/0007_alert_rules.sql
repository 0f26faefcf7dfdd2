-- Inventory schema, version 7: alert rules that set an attribute's status.
--
-- A threshold rule that fires puts an attribute into Alert; a rule on
-- absent data puts it into Unknown. The status the agent reports is kept
-- apart (reported_status, reported_reason), and the attribute's status is
-- the rule's while the agent reports Up, the agent's otherwise (a Down
-- port is Down whatever its traffic). Clearing the rule returns the
-- attribute to what the agent reports.
ALTER TABLE attributes ADD COLUMN reported_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attributes ADD COLUMN reported_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE attributes ADD COLUMN rule_name TEXT NOT NULL DEFAULT '';    -- '' when no rule holds the status
ALTER TABLE attributes ADD COLUMN rule_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attributes ADD COLUMN rule_reason TEXT NOT NULL DEFAULT '';
UPDATE attributes SET reported_status = status, reported_reason = status_reason;

-- The operator role: acknowledges alerts and makes silences, changes
-- nothing else. SQLite cannot alter a CHECK constraint, so users is
-- rebuilt; sessions and api_tokens reference it (ON DELETE CASCADE), so
-- their rows are set aside and restored around it, or dropping the old
-- users table would delete them.
CREATE TEMP TABLE sessions_keep AS SELECT * FROM sessions;
CREATE TEMP TABLE api_tokens_keep AS SELECT * FROM api_tokens;
DROP TABLE sessions;
DROP TABLE api_tokens;
CREATE TABLE users_new (
    name        TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,             -- bcrypt
    role        TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at  INTEGER NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO users_new SELECT name, password_hash, role, created_at, disabled FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
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
    last_used   INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER NOT NULL DEFAULT 0   -- Unix milliseconds; 0: never
);
INSERT INTO sessions SELECT token_hash, user_name, csrf, created_at, expires_at FROM sessions_keep;
INSERT INTO api_tokens SELECT token_hash, user_name, label, created_at, last_used, expires_at FROM api_tokens_keep;
DROP TABLE sessions_keep;
DROP TABLE api_tokens_keep;

-- Acknowledgements of firing alerts (by the alert's id, a hash of its
-- labels); removed when the alert resolves.
CREATE TABLE alert_acks (
    alert_id   TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);

-- Silences: alerts whose labels match every matcher between starts_at and
-- ends_at are not notified. matchers is a JSON array of {name, value}
-- where value is a glob (path.Match).
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    matchers   TEXT NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    am_ids     TEXT NOT NULL DEFAULT '{}'  -- JSON: Alertmanager URL -> the id of this silence there
);
CREATE INDEX silences_ends ON silences(ends_at);

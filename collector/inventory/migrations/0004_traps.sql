-- Inventory schema, version 5: SNMP traps and informs the agents received.
--
-- One row per notification. (agent, epoch, seq, idx) is where it was in
-- the agent's stream (batch seq, position in the batch): journal replay
-- applies a record again, and the unique key makes the insert a no-op.
CREATE TABLE traps (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,              -- Unix ms, when the agent received it
    received_at INTEGER NOT NULL,              -- Unix ms, when the collector journaled it
    agent       TEXT NOT NULL,
    epoch       INTEGER NOT NULL,              -- the agent's spool epoch (uint64 bits)
    seq         INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    host        TEXT NOT NULL DEFAULT '',      -- the target it is attributed to; '' unknown source
    source      TEXT NOT NULL,                 -- the address it was attributed by
    source_from TEXT NOT NULL DEFAULT 'udp',   -- udp, snmpTrapAddress, agent-addr
    from_addr   TEXT NOT NULL DEFAULT '',      -- UDP source ip:port
    version     INTEGER NOT NULL,              -- 1, 2 (v2c), 3
    inform      INTEGER NOT NULL DEFAULT 0,
    user        TEXT NOT NULL DEFAULT '',      -- v3 security name
    oid         TEXT NOT NULL,                 -- snmpTrapOID (v1 translated, RFC 3584)
    name        TEXT NOT NULL DEFAULT '',      -- MODULE::name, '' when unknown
    uptime      INTEGER NOT NULL DEFAULT 0,    -- sender's sysUpTime, 1/100 s
    varbinds    TEXT NOT NULL DEFAULT '[]',    -- JSON [{oid, name, type, value, hex}]
    enterprise  TEXT NOT NULL DEFAULT '',
    generic     INTEGER NOT NULL DEFAULT 0,
    specific    INTEGER NOT NULL DEFAULT 0,
    truncated   INTEGER NOT NULL DEFAULT 0,    -- varbinds the agent left out
    UNIQUE (agent, epoch, seq, idx)
);
CREATE INDEX traps_at ON traps(at);
CREATE INDEX traps_host_at ON traps(host, at);
CREATE INDEX traps_oid_at ON traps(oid, at);
CREATE INDEX traps_name_at ON traps(name, at);

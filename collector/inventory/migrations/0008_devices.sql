-- Inventory schema, version 8: device hardware and neighbours (issue 18).
--
-- entities is each host's ENTITY-MIB physical table as last discovered
-- (one row per entPhysicalIndex; contained_in 0 for a top-level entity);
-- a replaced module or transceiver is an event (kind "hardware"), and the
-- row keeps when it was first seen with this serial. neighbors is what
-- each host's LLDP and CDP tables list, one row per local interface and
-- remote system; rows not seen in the latest discovery are deleted.
-- host_identities holds the host's own LLDP chassis ids and management
-- addresses, which the topology matches neighbours against (with sysName
-- and the configured address).
CREATE TABLE entities (
    host_id      INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    class        TEXT NOT NULL DEFAULT '',
    descr        TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    model        TEXT NOT NULL DEFAULT '',
    serial       TEXT NOT NULL DEFAULT '',
    hardware_rev TEXT NOT NULL DEFAULT '',
    firmware_rev TEXT NOT NULL DEFAULT '',
    software_rev TEXT NOT NULL DEFAULT '',
    vendor       TEXT NOT NULL DEFAULT '',
    contained_in INTEGER NOT NULL DEFAULT 0,
    position     INTEGER NOT NULL DEFAULT -1,
    fru          INTEGER NOT NULL DEFAULT 0,
    if_index     INTEGER NOT NULL DEFAULT 0,
    first_seen   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (host_id, idx)
);

CREATE TABLE neighbors (
    id            INTEGER PRIMARY KEY,
    host_id       INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    protocol      TEXT NOT NULL,             -- lldp, cdp
    local_ifindex INTEGER NOT NULL DEFAULT 0,
    local_port    TEXT NOT NULL DEFAULT '',
    chassis_id    TEXT NOT NULL DEFAULT '',
    sys_name      TEXT NOT NULL DEFAULT '',
    port_id       TEXT NOT NULL DEFAULT '',
    port_descr    TEXT NOT NULL DEFAULT '',
    platform      TEXT NOT NULL DEFAULT '',
    mgmt_addr     TEXT NOT NULL DEFAULT '',
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    UNIQUE (host_id, protocol, local_ifindex, local_port, chassis_id, port_id)
);
CREATE INDEX neighbors_sys_name ON neighbors(sys_name);

CREATE TABLE host_identities (
    host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,                   -- chassis, address
    value   TEXT NOT NULL,
    PRIMARY KEY (host_id, kind, value)
);
CREATE INDEX host_identities_value ON host_identities(kind, value);

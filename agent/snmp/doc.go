// Package snmp polls SNMP devices (v1, v2c, v3) for the agent: discovery
// of the system group, IF-MIB interfaces and HOST-RESOURCES storage and
// processors; counters, statuses and reachability on every poll. A Target
// implements poll.Target for one configured device. Device features
// (devices.go): ENTITY-MIB hardware, sensors (ENTITY-SENSOR, Cisco,
// Juniper), vendor and UCD CPU and memory as attributes, LLDP and CDP
// neighbours, each table behind its own backoff gate (table.go).
//
// Invariants:
//   - One *gosnmp.GoSNMP per Target, used by one goroutine at a time, with
//     its own SecurityParameters (gosnmp writes the engine ID, boots and
//     time into them; sharing them breaks v3).
//   - An interface is identified by the port_match order (default ifName,
//     ifDescr, ifAlias, ifIndex), never by its ifIndex alone: its attribute
//     key "if:<identity>" and its history follow the name across ifIndex
//     renumbering, and a renumbered interface's next sample is flagged as a
//     discontinuity.
//   - A sample's Reset flag marks the first sample after a discontinuity:
//     device restart (sysUpTime went back other than by its 497-day wrap,
//     or snmpEngineBoots changed), ifCounterDiscontinuityTime changed, or
//     renumbering. A Counter32 wrap is never flagged: the archive handles it.
//   - 64-bit HC counters are chosen per interface at discovery (present and
//     not stuck at 0 while the 32-bit counters move); the sample's kind
//     records the width.
//   - Counters are read with as few requests as the device allows: GetBulk
//     over all needed columns at once (max-repetitions halved on tooBig and
//     remembered), or Get of known instances packed up to MaxOIDs when only
//     a few interfaces are selected or the version is v1.
//   - Device strings are untrusted bytes, cleaned where they are read
//     (text.go, shared/safetext): sysDescr is text of at most MaxText
//     bytes, every other string (sysName, sysLocation, sysContact, ifName,
//     ifDescr, ifAlias, hrStorageDescr, OIDs) one line of at most MaxName,
//     invalid bytes and control characters escaped (\xff), longer values
//     cut with "…"; ifPhysAddress is hex. Identities and attribute keys are
//     computed from cleaned values and are at most MaxName bytes
//     ("if:"+identity); clean names keep the keys they always had. Error
//     texts become one clean line before they are a status reason.
//   - A gauge a device cannot have measured (hrProcessorLoad outside
//     0..100 %, hrStorageUsed above hrStorageSize or negative sizes, a
//     user OID that is not a finite number) is recorded as unknown (NaN)
//     with an Alert (or Unknown) status that names the value.
//   - Errors name the host, port and v3 user and explain v3 Report PDUs;
//     communities and passphrases never appear in errors or logs.
//   - A device table that fails or times out never fails the poll or the
//     discovery: it is skipped for one interval, then 2, 4 ... 64, while
//     the other tables are read; tables the device lacks (one GetNext
//     probe per discovery) are not walked at all. Rows, entities and
//     neighbours are bounded (wire.MaxEntities, wire.MaxNeighbors).
//   - Standard objects (SNMPv2-MIB, IF-MIB, HOST-RESOURCES-MIB) are built in
//     by name, so no MIB files are needed (ResolveOID).
package snmp

// Package snmpsim is a simulated SNMP agent: a device with an IF-MIB
// interface table (ifTable and ifXTable), the SNMPv2-MIB system group,
// snmpEngine, and a few HOST-RESOURCES-MIB objects, answering SNMP v1, v2c
// and v3 (USM) requests on a UDP socket. It exists so the agent's poller,
// the demo and end-to-end tests have a device whose every answer is known in
// advance.
//
// Invariants:
//
//   - Every counter is a deterministic function of time: the integral of the
//     interface's rate since the last restart (or counter reset), floored to
//     an integer. Device.Counter returns exactly what the device answers for
//     the same instant, so a test can compare a poller's rates with the
//     truth. Counter32 columns are the same integral modulo 2^32, so they
//     wrap exactly as a real device's do.
//   - The OID space is one sorted slice, rebuilt only when ifIndex values are
//     renumbered (Device.Restart(true)). Get is a binary search for the exact
//     OID, GetNext and GetBulk a binary search for the first OID after the
//     requested one; no request scans the table. OID encodings are computed
//     once when the table is built; values are computed lazily per request.
//   - A v1/v2c request with the wrong community gets no answer, as on real
//     agents. A v3 request that fails USM checks gets the Report PDU a real
//     agent sends (unknown engine ID for discovery, unknown user name, wrong
//     digest, not in time window, unsupported security level, decryption
//     error), so clients exercise their real error paths.
//   - A response never exceeds the smaller of Config.MaxMsgSize and the
//     request's msgMaxSize (v3). GetBulk results are truncated to fit;
//     a Get or GetNext whose answer does not fit gets tooBig.
//
// Requests are decoded with gosnmp's codec (SnmpDecodePacket). Responses
// are encoded by this package (ber.go): the encoder writes precomputed OID
// encodings and knows each varbind's exact size, which the truncation rule
// needs, and v3 responses are authenticated and encrypted here with keys
// localised by gosnmp. Both directions are checked against net-snmp's tools
// and gosnmp's client in the tests.
package snmpsim

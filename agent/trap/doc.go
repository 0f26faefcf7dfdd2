// Package trap is the agent's SNMP notification receiver: SNMPv1 traps,
// SNMPv2c and SNMPv3 traps, and informs, on one UDP socket (config
// section traps:). gosnmp decodes each datagram (UnmarshalTrap, with a
// USM table of the configured v3 users); this package owns the socket and
// everything around the decoder:
//
//   - Credentials: a v1/v2c community must be one configured; a v3
//     message must authenticate (and decrypt) as a configured user. A
//     trap's keys are localised to the sender's engine ID, taken from the
//     trap; an inform is addressed to this agent's engine ID, which the
//     sender learns first with an unauthenticated discovery request
//     (RFC 3414 section 4) that Listener answers with a report.
//   - Refusals (wrong community, unknown user or key, malformed, not a
//     notification) are counted per reason and logged at most once per
//     source per minute; nothing refused is stored.
//   - Bounded memory under a storm: one 64 KiB read buffer; a token
//     bucket per source (bounded table of sources); a queue between the
//     socket and the spool bounded in traps and bytes; a trap keeps at
//     most wire.MaxTrapVarBinds varbinds of at most wire.MaxTrapValueLen
//     bytes each. Every string goes through shared/safetext.
//   - Attribution (Targets): the first of the snmpTrapAddress.0 varbind,
//     the v1 agent-addr and the UDP source that matches a target's address
//     or trap_sources names the host (and becomes the trap's Source). A
//     trap that matches none is kept, with an empty host and the first of
//     those addresses as its Source.
//   - Durability: a writer goroutine hands the queued traps to the Sink
//     (the batcher, which writes them to the spool before it returns) in
//     groups, and answers informs only after that write succeeded (and
//     after Options.Sync, the spool's fsync, when set). A failed write
//     leaves informs unanswered, so their senders retry. Retransmitted
//     informs (same source, request ID and content) are answered again
//     but stored once.
//     A kill -9 loses only traps (never answered informs) received in the
//     last moments and still queued for the writer: the spool write
//     follows within the time one group takes to write.
package trap

// Package ntp watches NTP servers with mode 6 control queries, as ntpq
// does: READSTAT (opcode 1) for the association list and peer status
// words, READVAR (opcode 2) for the system variables (association 0) and
// for each association. It knows the protocol and nothing of scheduling or
// the uplink; Target adapts it to poll.Target.
//
// The layers, bottom up:
//   - packet.go: the 12-byte header and one datagram (ParsePacket, Append);
//   - reassemble.go: one reply from its fragments (Reassembler);
//   - client.go: request/reply over a connected UDP socket, with sequence
//     matching, timeouts and retries (Client, Session);
//   - varlist.go: the name=value text of READVAR replies (ParseVarList);
//   - snapshot.go, status.go: one round of queries (Fetch) and the status
//     words;
//   - table.go: the `ntpq -pn` peer table (Peer.Row, WriteTable);
//   - target.go: samples, statuses and inventory per poll (Target).
//
// Invariants:
//   - A reply is accepted only when its sequence number, opcode and
//     association match the request and its fragments tile 0..end exactly
//     with the last one's More bit clear. Fragments may arrive in any order
//     and more than once; anything else (a hole, an overlap, two ends) ends
//     in an error after the timeout and retries, never a partial result.
//   - Memory per reply is bounded by Client.MaxResponse (default 64
//     fragments of 468 bytes); a datagram is at most MaxPacketLen bytes.
//   - Nothing from the network can make a query hang past its timeout x
//     attempts, or the caller's context, whichever ends first.
//   - The table is computed exactly as ntpsec's ntpq computes it
//     (pylib/util.py PeerSummary); the tests compare both on random input.
//   - A server's text is untrusted: every string that leaves the package
//     in a report (keys, names, properties, reasons, sysDescr) or a table
//     line is clean (shared/safetext: valid UTF-8, control characters
//     escaped as \x1b, bounded with a visible cut). Peer keys are at most
//     safetext.MaxName bytes and unchanged for clean addresses (PeerKey).
//   - A number no server can have measured (sanity.go: an offset beyond
//     ±2^31 s, a negative or > 2^16 s delay or jitter, NaN, infinities, a
//     stratum outside 0..16, a reach register above 0377) is not a sample:
//     it is recorded as unknown (NaN) and the attribute is Alert, its
//     reason naming the value ("server reported offset -1e+20 ms, not a
//     valid offset").
//
// Units: the server sends delay, offset and jitter in milliseconds; the
// Row and System fields named ...MS keep milliseconds; samples are in
// seconds, as the archive contract says.
package ntp

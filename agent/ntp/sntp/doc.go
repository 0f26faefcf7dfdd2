// Package sntp measures an NTP server with ordinary client requests (NTP
// mode 3, RFC 5905 and RFC 4330), the way ntpdate -q, sntp and chronyd's
// client do, for servers that answer no control queries (chronyd without
// cmdallow, appliances, public pools, ntpd with restrict noquery).
//
// A query sends Client.Samples requests, one after the other, and keeps
// every valid reply as a Sample: the server's offset relative to the
// agent's own clock, the round-trip delay, stratum, reference ID, leap
// indicator, root delay and dispersion. Result.Best is the sample with the
// smallest delay (the one least disturbed by queueing on the path).
//
// Invariants:
//   - A reply is a sample only when it is a server reply (mode 4, version
//     1..4) of at least 48 bytes to the request just sent: its origin
//     timestamp equals the request's transmit timestamp, which is a random
//     64-bit nonce (as chronyd and modern clients send; the local send time
//     is kept apart), so an off-path sender that cannot see the request
//     cannot inject a sample. Its receive and transmit timestamps are not
//     zero and the round-trip delay is not negative. Anything else is
//     ignored and counted, and the query's error (when no sample came)
//     says what was ignored.
//   - A Kiss-o'-Death (stratum 0 with a kiss code in the reference ID, and
//     a valid origin) ends the query at once with a *KissError: RATE asks
//     the client to slow down, DENY and RSTR to stop; the caller decides
//     (agent/ntp's SNTP target honours them). No further request is sent.
//   - Replies are read into a fixed buffer of MaxPacketLen bytes; a
//     datagram longer than that is ignored. Nothing can make a query last
//     longer than Samples x Timeout plus the gaps, or the caller's context.
//
// Units: durations are time.Duration; the reference ID is the raw 32 bits
// (RefIDString renders it as ntpq does: a dotted quad for stratum >= 2,
// the ASCII code otherwise, cleaned with shared/safetext).
package sntp

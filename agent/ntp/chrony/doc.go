// Package chrony watches chronyd through its command protocol (cmdmon,
// UDP port 323), as `chronyc -n tracking`, `sources` and `sourcestats` do:
// REQ_TRACKING for the daemon's own synchronisation, REQ_N_SOURCES, then
// REQ_SOURCE_DATA and REQ_SOURCESTATS for each source. It knows the
// protocol and nothing of scheduling or the uplink; agent/ntp adapts it
// to poll.Target.
//
// The packets are encoded and decoded by facebook/time's ntp/chrony
// package (Apache-2.0; protocol version 6, which chrony 4.x speaks). This
// package owns what that package leaves to its caller, because the
// daemon at the other end is untrusted:
//   - every datagram is read into a fixed buffer (MaxReplyLen); a reply is
//     taken only when it is a version 6 reply to the command just sent,
//     with its sequence number, and at least as long as its type requires
//     (a truncated reply is ignored and counted, never partly decoded);
//     anything else is ignored and counted, and the timeout error says
//     what was ignored;
//   - a query lasts at most Timeout x (Retries+1), or the caller's
//     context, whichever ends first;
//   - the number of sources a daemon claims is capped (MaxSources);
//   - chronyd drops requests from addresses its cmdallow rules do not
//     allow without answering, and answers "not authorised" to commands a
//     remote client may not send: both errors say so and name the
//     address to allow;
//   - names are built from the reply's addresses and reference IDs, so
//     they are printable ASCII; every string still goes through
//     shared/safetext before it leaves the package in a table.
//
// Units: offsets, delays and dispersions are seconds (float64), as chronyd
// sends them; frequencies and skews ppm.
package chrony

// Package uplink streams the spool to the collector.
//
// The agent dials out: QUIC (TLS 1.3, mutual authentication against the
// collector's CA, ALPN wire.ALPN) on the configured UDP address, or, when a
// QUIC handshake times out (UDP blocked on the way) or this host cannot
// send UDP to the collector (a local firewall: sendmsg fails with EPERM, or
// an ICMP unreachable comes back), and a TCP fallback address is
// configured, the same frames over TLS 1.3 on TCP with the same ALPN. A
// refusal by the collector (its certificate check) never causes a fallback.
// After a fallback, TCP is used for QUICRetry before QUIC is tried again.
//
// A session follows shared/wire: Hello, then the link counts as up only
// when HelloAck arrives (a QUIC dial succeeds before the collector has
// checked the agent's certificate; a rejection surfaces as the connection's
// close cause, which is logged). The agent then sends the series
// definitions the connection has not seen and the batches from
// HelloAck.AckedSeq+1 onward, keeping at most Window batches unacknowledged
// in flight. Each Ack advances the spool's watermark (which deletes fully
// acknowledged segments). Frames from the collector are read only with
// wire.ReadFrame under MaxFrame and decoded with the limited codec; an
// oversized or malformed frame ends the session.
//
// When the spool drops batches during a session (full or too old), the
// session is ended and a new Hello declares the new first seq, so the
// collector sees the gap as a declared drop, never as a hole.
//
// Between sessions the uplink waits a capped exponential backoff with
// jitter (BackoffMin doubling up to BackoffMax, each wait uniformly in
// [d/2, d]); the backoff restarts from BackoffMin after a session that came
// up.
package uplink

// Package wire is the protocol between an agent and the collector: framing,
// the messages, and the limits a receiver enforces on untrusted bytes.
//
// # Framing
//
// Every message travels as one frame:
//
//	+----------------+--------+----------------------+
//	| length (4, BE) | type 1 | CBOR body (length-1) |
//	+----------------+--------+----------------------+
//
// The length counts the type byte and the body. A reader checks the length
// against its cap before it reads or allocates anything (ReadFrame), and
// decodes the body with Unmarshal under the limited decode mode of Codec:
// never a CBOR stream decoder on the network, which buffers whatever a
// hostile length header announces.
//
// # Session
//
// The agent opens the connection (QUIC with ALPN "outpost/2", or TLS over
// TCP with the same ALPN when UDP is blocked) and one bidirectional stream,
// then:
//
//	agent                                   collector
//	Hello{agent, epoch, first/last seq} -->
//	                                    <-- HelloAck{epoch, acked seq, max frame, hosts}
//	Series{first id, defs}              -->   (dictionary entries not yet sent on this connection)
//	Batch{seq, groups, statuses, hosts} -->
//	                                    <-- Reject{seq, kind, reason}   (version 2: what was refused for good)
//	                                    <-- Ack{seq}   (highest seq durably journaled)
//	...                                 <-- Error{code, message, fatal}
//
// # Versions
//
// The ALPN digit is the protocol version, repeated in Hello.Proto. A
// collector offers every version it speaks (CollectorALPNs: "outpost/2",
// "outpost/1"); an agent offers only its own, so collectors are upgraded
// before agents. Version 2 added Reject and the map form of Batch; a
// version 1 agent gets no Reject (the Ack alone moves it past a refused
// batch) and its array-form batches still decode.
//
// # Refusals never wedge a stream
//
// A batch the collector cannot use, wholly or in part (text that is not
// UTF-8 is cleaned, not refused; a host outside the agent's patterns,
// samples of undefined series, timestamps far ahead, a body that does not
// decode but whose seq can be read), is recorded durably as refused and
// then acked like any other: the agent's spool moves past it and never
// sends it again. Reject tells a version 2 agent what was refused and why.
// Only what cannot be identified at all (a frame over the limit, an
// unknown type, a batch whose seq cannot be read, a malformed Hello or
// Series) ends the connection. An agent never sends a batch larger than
// HelloAck.MaxFrame: it skips it, and the collector sees declared drops.
//
// The link counts as up only once HelloAck arrives: with QUIC, a dial
// succeeds before the server has checked the client certificate.
//
// # Delivery
//
// Batches carry a sequence number that starts at 1 for each spool epoch (a
// random number chosen when the agent's spool is created). The collector
// journals a batch durably, then acks; it dedupes by (agent, epoch, seq), so
// a batch sent twice is written once. The agent deletes spooled batches only
// when acked, and after a reconnect resends from HelloAck.AckedSeq+1. When
// the agent's spool dropped its oldest batches, Hello.FirstSeq is above the
// collector's acked seq: the gap is the declared drop, counted in Drops.
//
// # Series dictionary
//
// Samples name their series by a number (uint32) the agent assigns once per
// key and keeps for the life of its spool. Series messages define numbers
// before the first batch on a connection that uses them; the collector keeps
// the dictionary per connection and resolves numbers back to keys before it
// journals a batch, so its journal never depends on a connection's state.
//
// # Samples
//
// Samples are grouped by poll time (Group.Time, Unix milliseconds). Integer
// values (counters, absolute) travel as (id, value) pairs in one flat array,
// floats as two parallel arrays: a typical sample costs the id (1 to 5
// bytes) plus the value (1 to 9 bytes), with no per-sample array header. All
// samples of one poll of one attribute are in the same batch, so the
// collector can write them as one archive update.
package wire

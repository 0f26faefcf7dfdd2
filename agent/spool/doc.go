// Package spool is the agent's on-disk write-ahead log of batches, and the
// series registry that keeps the batches decodable.
//
// # Layout
//
// A spool is a directory:
//
//	state.json            epoch, ack watermark, drop and corruption counters
//	series.log            the series registry (append-only, one record per id)
//	seg-<firstseq>.log    segments, named by the sequence number of their first record
//
// A segment is a run of records; each record is one batch frame body:
//
//	+-----------+---------+---------+-------------+-----------+---------+
//	| magic (4) | len (4) | seq (8) | samples (4) | crc32c(4) | payload |
//	+-----------+---------+---------+-------------+-----------+---------+
//
// All integers are big-endian. The CRC (Castagnoli) covers len, seq, samples
// and the payload. The magic word lets a reader find the next record after a
// corrupt one.
//
// # Invariants
//
//   - Sequence numbers are strictly increasing across segments and across
//     restarts: the next seq is above every seq in any segment, above the
//     first seq named by the newest segment file and above the ack watermark.
//   - Only the newest (active) segment is written. Older segments are never
//     modified, only deleted: when every record in them is acknowledged
//     (Ack), or when the spool is over its byte or age bound (drop-oldest).
//   - A dropped segment's unacknowledged batches and samples are added to the
//     drop counters, which are persisted in state.json and reported upstream.
//     Drops take whole segments, so the first record of a segment is the
//     oldest a reader can be left with; AppendOpening tells the writer which
//     record that is (the batcher puts every host's inventory there).
//   - A record that fails its CRC, and a torn tail left by a crash, are
//     skipped and counted (Drops.Corrupt), never fatal. A torn tail is
//     truncated away when the spool is opened, so it is counted once.
//   - Data is fsynced every FsyncInterval and on Close; the series registry
//     is fsynced before the segment, so a durable batch never refers to a
//     series id that is not durable.
//
// The epoch is a random non-zero uint64 chosen when the spool directory is
// created; the collector dedupes by (agent, epoch, seq).
package spool

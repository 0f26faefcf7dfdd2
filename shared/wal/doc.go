// Package wal is the segmented, checksummed record log under both durable
// logs of Outpost: the agent's spool (agent/spool) and the collector's
// ingest journal (collector/journal). It owns what the two share: record
// framing with a checksum, segment files, torn-tail truncation, resync after
// corruption, group-commit fsync, and a tailing reader. The policies stay
// with the users: the spool's sequence numbers, drop-oldest and ack
// watermark; the journal's checkpoints.
//
// # Records
//
// A Format describes one framing:
//
//	+-----------+------------+--------------------+------------------+------+
//	| magic (4) | length (4) | meta (Format.Meta) | CRC32-C (4)      | data |
//	+-----------+------------+--------------------+------------------+------+
//
// All integers are big-endian. The CRC (Castagnoli) covers length, meta
// and data, so a damaged length is detected too; the magic word lets a
// scanner find the next record after a damaged region. Meta is a fixed
// number of bytes the user defines: the spool keeps a record's sequence
// number and sample count there (Meta 12, magic "OPS1"), the journal
// nothing (Meta 0, magic "OPJ1"). Both on-disk formats written before this
// package existed are instances of this framing and are read unchanged.
//
// # Segments
//
// A Segment is one append-only file of records. OpenSegment reads and
// scans it: valid records are reported in order, a damaged region is
// skipped up to the next record that verifies and counted once, and the
// bytes after the last valid record (a torn tail: a record cut short by a
// crash) are reported so the caller can truncate them (Segment.Truncate).
// An append that fails part way is cut back, so the next record starts on a
// boundary.
//
// # Logs
//
// A Log is a directory of segments addressed by position: a byte offset in
// the concatenation of all segments ever written, so positions only grow,
// across segments and restarts. Segment files are named by the position of
// their first byte. Write appends, Sync makes everything up to a position
// durable, and concurrent Sync callers share fsyncs (group commit). A Log
// never deletes a segment on its own: RemoveBefore deletes the segments
// that end at or before a position the user no longer needs.
//
// A Tailer follows a Log from a position as records become durable and
// segments roll, the way Prometheus's WAL watcher follows its WAL; when the
// segment it needs was removed, it continues at the oldest one left and
// says how many bytes it skipped.
//
// A user that names its segments otherwise (the spool names them by their
// first sequence number) builds on Format and Segment directly.
package wal

// Package rrd is Outpost's round-robin archive engine: rrdtool's semantics
// and rrdtool's own file format (64-bit little-endian, versions 0003 and,
// with DCOUNTER/DDERIVE, 0005), in pure Go. Files Outpost writes are read by
// `rrdtool info/fetch/graph`, and Outpost reads files rrdtool made. The
// package knows nothing of SNMP or the network.
//
// One concept per file: format.go (the on-disk layout and its validation),
// create.go, value.go (typed readings and rrdtool's number parsing),
// update.go (rrd_update.c's algorithm), fetch.go (archive choice and row
// alignment of rrd_fetch.c), xport.go, info.go, journal.go (atomic writes),
// cache.go (the in-process rrdcached), layout.go, percentile.go,
// timespec.go (rrdtool's time syntax).
//
// # Invariants
//
//   - Semantics are rrdtool 1.7.2's, bit for bit where rrdtool is
//     deterministic: counters are diffed exactly on their decimal digits
//     (rrd_diff), wraps add 2^32-1 then 2^64-2^32 as rrdtool does, numbers
//     are read with rrdtool's own (not correctly rounded) strtod, and the
//     PDP/CDP arithmetic follows rrd_update.c step by step, including the
//     separate closing of a partly open first step and the primary and
//     secondary values of long gaps. The differential tests hold this
//     against the rrdtool binary on random streams.
//   - An update whose time is not after the last one is refused with
//     rrdtool's message and ErrNotNewer; updates before it in the same call
//     are kept (as is whatever last values the refused one already
//     recorded, as rrdtool's memory-mapped update does).
//   - Unknown is stored as rrdtool's DNAN (bytes 00 00 00 00 00 00 f8 ff).
//   - Reading a file never trusts its counts: every count is checked
//     against the file size before anything is allocated from it, and the
//     file size must be exactly what the header describes. A hostile or
//     truncated file is an error wrapping ErrFormat, never a panic.
//     Holt-Winters archives (version 0004 and the HW consolidation
//     functions) are refused clearly.
//
// # Crash safety
//
// A write changes the header and rows at scattered offsets, which no single
// write(2) can do atomically, and rrdtool files cannot be copied and renamed
// per update at any useful speed (a default-layout file is 550 KB; an
// update touches ~10 KB). So each write goes through a small per-file redo
// journal, "<file>.journal" (journal.go), created with the archive and then
// rewritten in place: the complete new bytes of the header and of every
// touched row, with a CRC-32C, a length and an end marker, are written
// there first under the state word PENDING; only then are they written in
// place; then the state word becomes APPLIED. Every Outpost open of a file
// (update, fetch, info, the cache) first replays a complete pending journal
// (idempotent) or ignores a torn one (the archive was not touched before
// the journal was complete). After a crash at any instant the file is
// therefore, once opened by Outpost, exactly as before or as after the
// whole batch. For power loss the order is made durable: UpdateFile fsyncs
// the journal (and its directory entry when it is new) before writing in
// place, and the archive before marking the journal applied; the Cache does
// the same for a group of files with two syncfs(2) calls instead of
// per-file fsyncs. A stale journal is never replayed over newer data,
// because every commit rewrites and syncs the journal before it touches the
// archive. rrdtool itself does not know the journal: it must not read a
// file between an Outpost crash and the next Outpost open of that file
// (the collector opens every archive it owns through the Cache at start).
//
// Writers take an exclusive flock(2) on the archive (per open file
// description, so it excludes other opens in the same process too), readers
// a shared one. rrdtool uses fcntl locks, which do not interact with flock:
// do not run `rrdtool update` on a file Outpost is writing.
//
// # Write-back cache
//
// Cache queues updates per file in memory and writes each file in one pass
// per flush (read the header, apply all queued updates, write the header
// and touched rows), the way rrdcached does. Update refuses early what
// would fail later (time not newer, wrong number or kind of values), so a
// queued update is only lost if the process dies before the next flush;
// the collector's own journal replays those (ErrNotNewer tells it which
// ones the archive already has).
package rrd

// Package rrd is Outpost's round-robin archive engine: rrdtool's semantics
// and rrdtool's own file format (64-bit little-endian, versions 0003 and,
// with DCOUNTER/DDERIVE, 0005), in pure Go. Files Outpost writes are read by
// `rrdtool info/fetch/graph`, and Outpost reads files rrdtool made. The
// package knows nothing of SNMP or the network.
//
// One concept per file: format.go (the on-disk layout and its validation),
// create.go, value.go (typed readings and rrdtool's number parsing),
// update.go (rrd_update.c's algorithm), fetch.go (archive choice and row
// alignment of rrd_fetch.c), xport.go, info.go, tune.go (rrdtool tune
// --minimum/--maximum), journal.go (atomic writes),
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
// rewritten in place: the complete new bytes of the header's live part
// (everything after the DS and RRA definitions) and of every touched row,
// with a CRC-32C, a length and an end marker, are written
// there first under the state word PENDING; only then are they written in
// place; then the state word becomes APPLIED. Every Outpost open of a file
// (update, fetch, info, the cache) first replays a complete pending journal
// (idempotent) or ignores a torn one (the archive was not touched before
// the journal was complete). After a crash at any instant the file is
// therefore, once opened by Outpost, exactly as before or as after the
// whole batch. For power loss the order is made durable: UpdateFile fsyncs
// the journal (and its directory entry when it is new) before writing in
// place, and the archive before marking the journal applied; the Cache
// keeps the same order with barriers shared by many files (see below). A
// stale journal is never replayed over newer data, because every commit
// rewrites the journal, and makes it durable, before it touches the
// archive, and a journal is only rewritten after the archive writes it
// covers are durable. rrdtool itself does not know the journal: it must
// not read a file between an Outpost crash and the next Outpost open of it
// (the collector reads every archive's header with ReadInfo, which
// recovers, the first time it touches the archive after a start).
//
// Writers take an exclusive flock(2) on the archive (per open file
// description, so it excludes other opens in the same process too), readers
// a shared one. rrdtool uses fcntl locks, which do not interact with flock:
// do not run `rrdtool update` on a file Outpost is writing.
//
// # Page cache
//
// An archive is written a few rows at a time for its whole life, so how
// its pages sit in the page cache decides what a write costs. Create
// writes a new file a page at a time, and every open for reading or
// writing advises random access (POSIX_FADV_RANDOM, as librrd does), so
// the file's pages are cached as single pages, not as large folios: on
// ext4 with large folios a small write into a large folio walks every
// block of it (ext4_block_write_begin), and with 10,000 archives the
// in-place writes of one flush took 2.5x as long on 64 KiB folios (222
// ms against 89 ms, a raw-syscall probe of the same writes).
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
//
// Every cache flush is durable and keeps the journal order for each file,
// at a cost of one barrier per group of files instead of fsyncs per file.
// A barrier is one syncfs(2) per file system (fdatasync of each file when
// there are at most four). Flushing groups 1..n:
//
//	journals of group 1 | B | group 1 in place
//	journals of group 2 | B | group 1 marked applied, group 2 in place
//	...                   B | group n marked applied
//
// (group k+1 is computed and its journals written during the barrier
// after group k; each journal and archive is handed to the disk with
// sync_file_range(2) as soon as it is written, so a barrier mostly finds
// the work done). So between any two barriers an archive changes only if
// the journal that gives its new content was durable at the first one and
// is not touched until the second; a journal changes only while its
// archive holds, durably, what that journal's replay would give. A power
// cut at any instant therefore leaves every file, once opened by Outpost,
// as it was before or after one whole flush of it (TestCacheBarrierOrder
// checks exactly this condition at every barrier; TestCrashSafety kills
// the process during flushes). FlushAll returns after its last barrier:
// every update accepted before the call is then on stable storage, which
// is what the collector's checkpoint needs (collector/ingest checkpoints
// its journal only after FlushAll). Flush (used by Cache.Fetch) is the
// same for one file.
//
// After a power cut the collector's journal replays every update after its
// last checkpoint. A file that is ahead of the checkpoint holds a prefix
// of those updates in whole flushes (each flush applies a file's queued
// updates in time order), so the replay skips exactly what it has
// (ErrNotNewer) and applies the rest.
//
// No flush skips the barriers (a "write back now, make durable at the
// checkpoint" split was considered): between checkpoints the kernel
// writes dirty pages back in any order, so after a power cut a file
// written without barriers can be torn (half of its header, some rows)
// with no valid journal to repair it, and the collector's journal, which
// replays updates logically, cannot repair a torn file either. In the
// collector every flush is a checkpoint's FlushAll anyway, so the split
// would buy nothing there; BenchmarkUpdateThroughput measures what the
// barriers cost.
package rrd

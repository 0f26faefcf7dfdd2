// Package journal is the collector's ingest write-ahead log: a batch an agent
// sent is appended here, durably, before the collector acknowledges it, and
// it is replayed after a restart until its effects are flushed to the
// archives.
//
// The log itself (segments, record framing, torn-tail truncation, resync
// after corruption, group commit, tailing) is shared/wal's Log; this package
// adds the journal's policy: the checkpoint, and what it lets go.
//
// # Layout
//
// The journal is a directory of segment files named by the 16-hex-digit
// global position of their first byte ("0000000000000000.wal"), plus a
// "checkpoint" file holding the position up to which every record is applied
// and flushed. A position (Pos) is a byte offset in the concatenation of all
// segments ever written, so positions only grow, across segments and
// restarts.
//
// Every record is shared/wal's framing with the magic "OPJ1" and no meta:
//
//	+-----------+------------+-----------------------------+---------+
//	| magic (4) | length (4) | CRC32-C of length+data (4)  | data    |
//	+-----------+------------+-----------------------------+---------+
//
// all big-endian. The magic lets Replay find the next record after a corrupt
// one; the CRC covers the length, so a damaged length is detected too.
//
// # Invariants
//
//   - Append returns only after the record and everything before it are on
//     stable storage (fsync). Concurrent appenders share fsyncs (group
//     commit): one goroutine syncs for all records written while it waited.
//   - Open truncates a torn tail of the newest segment (a record cut short by
//     a crash), so appends continue right after the last whole record.
//   - Replay skips a corrupt record in the middle of the journal, counts it
//     (Stats.Corrupt) and continues with the next record that verifies.
//   - Checkpoint(pos) records pos durably first, then deletes the segments
//     that end at or before pos. The active segment is never deleted.
//   - Tail follows the journal from any position, returning records once
//     they are durable (a forwarder's reader).
package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"

	"github.com/outpost-nms/outpost/shared/atomicfile"
	"github.com/outpost-nms/outpost/shared/wal"
)

// Pos is a position in the journal: a byte offset across all segments.
type Pos = wal.Pos

// Entry is one record handed to a Replay callback or returned by a
// Tailer. Data is only valid during the call (until the next Next).
type Entry = wal.Entry

// Tailer follows the journal; see Journal.Tail.
type Tailer = wal.Tailer

const (
	magic      uint32 = 0x4f504a31 // "OPJ1"
	segSuffix         = ".wal"
	checkpoint        = "checkpoint"

	// DefaultSegmentBytes is the segment size used when Options.SegmentBytes is 0.
	DefaultSegmentBytes = 64 << 20
	// MaxRecord is the largest record Append accepts (bytes of data).
	MaxRecord = 64 << 20
)

// format is the journal's record framing.
var format = wal.Format{Magic: magic, MaxData: MaxRecord}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by Append after Close.
var ErrClosed = wal.ErrClosed

// ErrTooLarge is returned by Append for a record larger than MaxRecord.
var ErrTooLarge = wal.ErrTooLarge

// Options tunes a journal.
type Options struct {
	// SegmentBytes is the size after which a new segment starts; default
	// DefaultSegmentBytes. A record never spans segments.
	SegmentBytes int64
}

// Stats are cumulative counters since Open.
type Stats struct {
	Appends      uint64 // records appended
	AppendBytes  uint64 // bytes appended, headers included
	Syncs        uint64 // fsyncs issued for appends (group commits)
	Corrupt      uint64 // corrupt records or regions skipped by Replay
	TornBytes    uint64 // bytes truncated from a torn tail at Open
	Segments     int    // segment files on disk now
	End          Pos    // position after the last record
	Checkpointed Pos    // last checkpoint
}

// Journal is an open journal directory. Safe for concurrent use.
type Journal struct {
	dir string
	log *wal.Log

	mu   sync.Mutex // orders checkpoints
	ckpt Pos
}

// Open opens or creates the journal in dir (created 0700 if absent),
// truncating a torn tail of the newest segment.
func Open(dir string, opts Options) (*Journal, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal %s: %w", dir, err)
	}
	ck, err := readCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	// A fresh journal starts at the checkpoint, so positions never go
	// backwards even if every segment was removed.
	l, err := wal.OpenLog(dir, wal.LogOptions{Format: format, Suffix: segSuffix, SegmentBytes: opts.SegmentBytes, Start: ck})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", dir, err)
	}
	return &Journal{dir: dir, log: l, ckpt: ck}, nil
}

// RecordLen is the journal space a record of n data bytes takes: Append's
// returned end minus RecordLen(len(data)) is the record's start.
func RecordLen(n int) Pos { return Pos(format.RecordLen(n)) }

// Append writes one record and returns once it is durable. pos is the
// position just after the record: pass it to Checkpoint once the record's
// effects are flushed.
func (j *Journal) Append(data []byte) (Pos, error) { return j.log.Append(data) }

// Write appends one record without waiting for it to be durable and
// returns the position after it. Call Sync(pos) before acting on the
// record's durability: a writer that pipelines several records syncs once
// for all of them.
func (j *Journal) Write(data []byte) (Pos, error) { return j.log.Write(data) }

// Sync returns once every record ending at or before pos is on stable
// storage. Concurrent callers share fsyncs (group commit).
func (j *Journal) Sync(pos Pos) error { return j.log.Sync(pos) }

// End returns the position after the last record appended.
func (j *Journal) End() Pos { return j.log.End() }

// Checkpointed returns the position of the last checkpoint: Replay from it
// after a restart.
func (j *Journal) Checkpointed() Pos {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ckpt
}

// Stats returns the counters.
func (j *Journal) Stats() Stats {
	s := j.log.Stats()
	return Stats{Appends: s.Appends, AppendBytes: s.AppendBytes, Syncs: s.Syncs, Corrupt: s.Corrupt,
		TornBytes: s.TornBytes, Segments: s.Segments, End: s.End, Checkpointed: j.Checkpointed()}
}

// Checkpoint records that every record ending at or before pos is applied
// and flushed, then deletes the segments wholly before pos. A pos before
// the current checkpoint is ignored; a pos after End is an error.
func (j *Journal) Checkpoint(pos Pos) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if pos <= j.ckpt {
		return nil
	}
	if end := j.log.End(); pos > end {
		return fmt.Errorf("journal: checkpoint %d beyond end %d", pos, end)
	}
	if err := writeCheckpoint(j.dir, pos); err != nil {
		return err
	}
	j.ckpt = pos
	if err := j.log.RemoveBefore(pos); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Close syncs and closes the active segment. Appends after Close fail with
// ErrClosed, and Tailers return ErrClosed.
func (j *Journal) Close() error { return j.log.Close() }

// Replay calls fn for every record that starts at or after from, in order,
// up to the end at the time of the call. Corrupt records are skipped and
// counted. An error from fn stops the replay and is returned.
func (j *Journal) Replay(from Pos, fn func(Entry) error) error { return j.log.Replay(from, fn) }

// Tail returns a reader that follows the journal from from (a record
// boundary, such as a forwarder's own checkpoint), returning each record
// once it is durable and waiting for more at the end. Records before the
// oldest segment still on disk (removed by Checkpoint) are skipped and
// counted by Tailer.Skipped.
func (j *Journal) Tail(from Pos) *Tailer { return j.log.Tail(from) }

func readCheckpoint(dir string) (Pos, error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpoint))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("journal: read checkpoint: %w", err)
	}
	if len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return 0, fmt.Errorf("journal: checkpoint file %s is damaged", filepath.Join(dir, checkpoint))
	}
	return Pos(binary.BigEndian.Uint64(b)), nil
}

func writeCheckpoint(dir string, pos Pos) error {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:], uint64(pos))
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	if err := atomicfile.Write(filepath.Join(dir, checkpoint), b[:], 0o600); err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	return nil
}

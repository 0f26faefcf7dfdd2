// Package journal is the collector's ingest write-ahead log: a batch an agent
// sent is appended here, durably, before the collector acknowledges it, and
// it is replayed after a restart until its effects are flushed to the
// archives.
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
// Every record is
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
package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/outpost-nms/outpost/shared/atomicfile"
)

// Pos is a position in the journal: a byte offset across all segments.
type Pos uint64

const (
	magic      uint32 = 0x4f504a31 // "OPJ1"
	headerLen         = 12
	segSuffix         = ".wal"
	checkpoint        = "checkpoint"

	// DefaultSegmentBytes is the segment size used when Options.SegmentBytes is 0.
	DefaultSegmentBytes = 64 << 20
	// MaxRecord is the largest record Append accepts (bytes of data).
	MaxRecord = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal closed")

// ErrTooLarge is returned by Append for a record larger than MaxRecord.
var ErrTooLarge = errors.New("journal record too large")

// Options tunes a journal.
type Options struct {
	// SegmentBytes is the size after which a new segment starts; default
	// DefaultSegmentBytes. A record never spans segments.
	SegmentBytes int64
	// Retain, when set, is consulted by Checkpoint before it deletes
	// segments: it is given the journal's end and returns the lowest
	// position some other reader (the forwarder) still needs. Segments
	// ending after it are kept even when checkpointed. It is called with
	// the journal's lock held, so it must not call the journal.
	Retain func(end Pos) Pos
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
	dir     string
	segSize int64
	retain  func(end Pos) Pos

	mu       sync.Mutex // guards the fields below and writes to f
	f        *os.File   // active segment
	segBase  Pos        // position of the active segment's first byte
	end      Pos        // position after the last record
	segs     []Pos      // bases of all segments, ascending (the last is active)
	retired  []*os.File // rotated segments, closed by the next syncer
	closed   bool
	ckpt     Pos
	stats    Stats
	writeErr error // sticky: a failed write or sync poisons the journal

	smu     sync.Mutex // guards synced and syncing
	scond   *sync.Cond
	synced  Pos
	syncing bool
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
	j := &Journal{dir: dir, segSize: opts.SegmentBytes, retain: opts.Retain}
	j.scond = sync.NewCond(&j.smu)
	ck, err := readCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	j.ckpt = ck
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		// A fresh journal starts at the checkpoint, so positions never go
		// backwards even if every segment was removed.
		if err := j.newSegment(ck); err != nil {
			return nil, err
		}
	} else {
		j.segs = segs
		last := segs[len(segs)-1]
		f, err := os.OpenFile(j.segPath(last), os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		valid, size, err := scanTail(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("journal %s: %w", j.segPath(last), err)
		}
		if valid < size {
			if err := f.Truncate(valid); err != nil {
				f.Close()
				return nil, fmt.Errorf("journal: truncate torn tail: %w", err)
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return nil, fmt.Errorf("journal: %w", err)
			}
			j.stats.TornBytes = uint64(size - valid)
		}
		if _, err := f.Seek(valid, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
		j.f, j.segBase, j.end = f, last, last+Pos(valid)
	}
	j.synced = j.end
	return j, nil
}

func (j *Journal) segPath(base Pos) string {
	return filepath.Join(j.dir, fmt.Sprintf("%016x%s", uint64(base), segSuffix))
}

// newSegment creates and activates a segment starting at base. j.mu held (or Open).
func (j *Journal) newSegment(base Pos) error {
	f, err := os.OpenFile(j.segPath(base), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("journal: new segment: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return err
	}
	if j.f != nil {
		j.retired = append(j.retired, j.f)
	}
	j.f, j.segBase, j.end = f, base, base
	j.segs = append(j.segs, base)
	return nil
}

// RecordLen is the journal space a record of n data bytes takes: Append's
// returned end minus RecordLen(len(data)) is the record's start.
func RecordLen(n int) Pos { return Pos(headerLen + n) }

// Append writes one record and returns once it is durable. pos is the
// position just after the record: pass it to Checkpoint once the record's
// effects are flushed.
func (j *Journal) Append(data []byte) (Pos, error) {
	pos, err := j.Write(data)
	if err != nil {
		return 0, err
	}
	if err := j.Sync(pos); err != nil {
		return 0, err
	}
	return pos, nil
}

// Write appends one record without waiting for it to be durable and
// returns the position after it. Call Sync(pos) before acting on the
// record's durability: a writer that pipelines several records syncs once
// for all of them.
func (j *Journal) Write(data []byte) (Pos, error) {
	if len(data) > MaxRecord {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	rec := make([]byte, headerLen+len(data))
	binary.BigEndian.PutUint32(rec[0:], magic)
	binary.BigEndian.PutUint32(rec[4:], uint32(len(data)))
	copy(rec[headerLen:], data)
	crc := crc32.Update(crc32.Checksum(rec[4:8], castagnoli), castagnoli, data)
	binary.BigEndian.PutUint32(rec[8:], crc)

	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return 0, ErrClosed
	}
	if j.writeErr != nil {
		err := j.writeErr
		j.mu.Unlock()
		return 0, err
	}
	if int64(j.end-j.segBase) > 0 && int64(j.end-j.segBase)+int64(len(rec)) > j.segSize {
		// Make the old segment durable before the new one exists, so a
		// sync of the new file alone covers everything later.
		if err := j.f.Sync(); err != nil {
			j.writeErr = fmt.Errorf("journal: sync segment: %w", err)
			j.mu.Unlock()
			return 0, j.writeErr
		}
		if err := j.newSegment(j.end); err != nil {
			j.writeErr = err
			j.mu.Unlock()
			return 0, err
		}
	}
	if _, err := j.f.Write(rec); err != nil {
		// Cut off whatever part was written so later records stay readable.
		if terr := j.f.Truncate(int64(j.end - j.segBase)); terr == nil {
			_, terr = j.f.Seek(int64(j.end-j.segBase), io.SeekStart)
			if terr != nil {
				j.writeErr = fmt.Errorf("journal: %w", terr)
			}
		} else {
			j.writeErr = fmt.Errorf("journal: write failed and could not be undone: %w", terr)
		}
		j.mu.Unlock()
		return 0, fmt.Errorf("journal: append: %w", err)
	}
	j.end += Pos(len(rec))
	pos := j.end
	j.stats.Appends++
	j.stats.AppendBytes += uint64(len(rec))
	j.mu.Unlock()
	return pos, nil
}

// Sync returns once every record ending at or before pos is on stable
// storage. Concurrent callers share fsyncs (group commit).
func (j *Journal) Sync(pos Pos) error { return j.waitSync(pos) }

// waitSync returns once everything before pos is synced. The first waiter
// to find no sync running becomes the syncer for everyone written so far.
func (j *Journal) waitSync(pos Pos) error {
	j.smu.Lock()
	defer j.smu.Unlock()
	for j.synced < pos {
		if j.syncing {
			j.scond.Wait()
			continue
		}
		j.syncing = true
		j.smu.Unlock()

		j.mu.Lock()
		target, f, retired := j.end, j.f, j.retired
		j.retired = nil
		werr := j.writeErr
		j.mu.Unlock()
		for _, r := range retired {
			r.Close() // already synced at rotation
		}
		var err error
		if werr != nil {
			err = werr
		} else if err = f.Sync(); err != nil {
			err = fmt.Errorf("journal: fsync: %w", err)
			j.mu.Lock()
			j.writeErr = err
			j.mu.Unlock()
		}

		j.smu.Lock()
		j.syncing = false
		j.scond.Broadcast()
		if err != nil {
			return err
		}
		if target > j.synced {
			j.synced = target
		}
		j.mu.Lock()
		j.stats.Syncs++
		j.mu.Unlock()
	}
	return nil
}

// End returns the position after the last record appended.
func (j *Journal) End() Pos {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.end
}

// Checkpointed returns the position of the last checkpoint: Replay from it
// after a restart.
func (j *Journal) Checkpointed() Pos {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ckpt
}

// Stats returns the counters.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.Segments = len(j.segs)
	s.End = j.end
	s.Checkpointed = j.ckpt
	return s
}

// Checkpoint records that every record ending at or before pos is applied
// and flushed, then deletes the segments wholly before pos (and before
// what Options.Retain keeps). A pos before
// the current checkpoint is ignored; a pos after End is an error.
func (j *Journal) Checkpoint(pos Pos) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if pos <= j.ckpt {
		return nil
	}
	if pos > j.end {
		return fmt.Errorf("journal: checkpoint %d beyond end %d", pos, j.end)
	}
	if err := writeCheckpoint(j.dir, pos); err != nil {
		return err
	}
	j.ckpt = pos
	if j.retain != nil {
		if r := j.retain(j.end); r < pos {
			pos = r
		}
	}
	keep := j.segs[:0]
	for i, base := range j.segs {
		active := i == len(j.segs)-1
		next := j.end
		if !active {
			next = j.segs[i+1]
		}
		if !active && next <= pos {
			if err := os.Remove(j.segPath(base)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("journal: remove segment: %w", err)
			}
			continue
		}
		keep = append(keep, base)
	}
	j.segs = keep
	return nil
}

// Close syncs and closes the active segment. Appends after Close fail with ErrClosed.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	for _, r := range j.retired {
		r.Close()
	}
	j.retired = nil
	err := j.f.Sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Entry is one record handed to a Replay callback. Data is only valid
// during the call.
type Entry struct {
	Pos  Pos // position of the record's first byte
	End  Pos // position after the record (what Append returned)
	Data []byte
}

// Replay calls fn for every record that starts at or after from, in order,
// up to the end at the time of the call. Corrupt records are skipped and
// counted. An error from fn stops the replay and is returned.
func (j *Journal) Replay(from Pos, fn func(Entry) error) error {
	j.mu.Lock()
	segs := append([]Pos(nil), j.segs...)
	end := j.end
	j.mu.Unlock()
	for i, base := range segs {
		segEnd := end
		if i+1 < len(segs) {
			segEnd = segs[i+1]
		}
		if segEnd <= from || segEnd <= base {
			continue
		}
		n, err := j.replaySegment(base, segEnd, from, fn)
		j.mu.Lock()
		j.stats.Corrupt += n
		j.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (j *Journal) replaySegment(base, segEnd, from Pos, fn func(Entry) error) (corrupt uint64, err error) {
	data, err := os.ReadFile(j.segPath(base))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil // removed by a concurrent checkpoint
		}
		return 0, fmt.Errorf("journal: replay: %w", err)
	}
	if limit := int64(segEnd - base); int64(len(data)) > limit {
		data = data[:limit]
	}
	off := 0
	if from > base {
		off = int(from - base)
	}
	for off < len(data) {
		n, ok := parseRecord(data[off:])
		if !ok {
			next := resync(data, off+1)
			corrupt++
			off = next
			continue
		}
		e := Entry{Pos: base + Pos(off), End: base + Pos(off+n), Data: data[off+headerLen : off+n]}
		if err := fn(e); err != nil {
			return corrupt, err
		}
		off += n
	}
	return corrupt, nil
}

// parseRecord checks the record at the start of b and returns its total length.
func parseRecord(b []byte) (int, bool) {
	if len(b) < headerLen || binary.BigEndian.Uint32(b) != magic {
		return 0, false
	}
	n := binary.BigEndian.Uint32(b[4:])
	if n > MaxRecord || int64(headerLen)+int64(n) > int64(len(b)) {
		return 0, false
	}
	crc := crc32.Update(crc32.Checksum(b[4:8], castagnoli), castagnoli, b[headerLen:headerLen+int(n)])
	if crc != binary.BigEndian.Uint32(b[8:]) {
		return 0, false
	}
	return headerLen + int(n), true
}

// resync returns the offset of the next valid record at or after off, or len(b).
func resync(b []byte, off int) int {
	var m [4]byte
	binary.BigEndian.PutUint32(m[:], magic)
	for off < len(b) {
		i := bytes.Index(b[off:], m[:])
		if i < 0 {
			return len(b)
		}
		if _, ok := parseRecord(b[off+i:]); ok {
			return off + i
		}
		off += i + 1
	}
	return len(b)
}

// scanTail returns the length of the valid prefix of the newest segment: a
// region that does not verify is kept only if a valid record follows it (a
// corrupt record in the middle, skipped by Replay); otherwise it is a torn
// tail.
func scanTail(f *os.File) (valid, size int64, err error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, 0, err
	}
	off := 0
	good := 0
	for off < len(data) {
		n, ok := parseRecord(data[off:])
		if ok {
			off += n
			good = off
			continue
		}
		off = resync(data, off+1)
	}
	return int64(good), int64(len(data)), nil
}

func listSegments(dir string) ([]Pos, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var segs []Pos
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 16, 64)
		if err != nil {
			continue // not ours
		}
		segs = append(segs, Pos(v))
	}
	sort.Slice(segs, func(a, b int) bool { return segs[a] < segs[b] })
	return segs, nil
}

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

func syncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Pos is a position in a Log: a byte offset across all its segments.
type Pos uint64

// Errors of a Log.
var (
	// ErrClosed is returned by writes after Close, and by a Tailer whose
	// Log was closed.
	ErrClosed = errors.New("log closed")
	// ErrTooLarge is returned by Write for data over Format.MaxData.
	ErrTooLarge = errors.New("record too large")
)

// LogOptions configure a Log.
type LogOptions struct {
	// Format is the record framing (a Log's records carry no meta).
	// Required.
	Format Format
	// Suffix ends every segment file name (".wal"): the name is the
	// position of the segment's first byte as 16 hex digits, then Suffix.
	// Files without it are ignored. Required.
	Suffix string
	// SegmentBytes is the size after which a new segment starts. A record
	// never spans segments. Required.
	SegmentBytes int64
	// Start is the position of a fresh log's first byte, used when the
	// directory holds no segment (a user that removed every segment passes
	// its checkpoint, so positions never go backwards).
	Start Pos
}

// LogStats are cumulative counters since OpenLog.
type LogStats struct {
	Appends     uint64 // records appended
	AppendBytes uint64 // bytes appended, headers included
	Syncs       uint64 // fsyncs issued for appends (group commits)
	Corrupt     uint64 // damaged regions skipped by Replay
	TornBytes   uint64 // bytes truncated from a torn tail at OpenLog
	Segments    int    // segment files now
	End         Pos    // position after the last record
}

// Entry is one record read from a Log. Data is only valid until the next
// read (the end of a Replay callback, the next Tailer.Next).
type Entry struct {
	Pos  Pos // position of the record's first byte
	End  Pos // position after the record (what Write returned)
	Data []byte
}

// Log is a directory of segments addressed by position. Safe for
// concurrent use.
type Log struct {
	dir string
	opt LogOptions

	mu       sync.Mutex // guards the fields below and appends to active
	active   *Segment
	segBase  Pos   // position of the active segment's first byte
	end      Pos   // position after the last record
	segs     []Pos // bases of all segments, ascending (the last is active)
	retired  []*Segment
	closed   bool
	stats    LogStats
	writeErr error // sticky: a failed write or sync poisons the log

	smu     sync.Mutex // guards synced, syncing and notify
	scond   *sync.Cond
	synced  Pos
	syncing bool
	notify  chan struct{} // closed when synced advances or the log closes
}

// OpenLog opens or creates the log in dir (created 0700 if absent). It
// truncates a torn tail of the newest segment; a damaged region followed by
// valid records is kept (Replay skips and counts it).
func OpenLog(dir string, opt LogOptions) (*Log, error) {
	if opt.Suffix == "" || opt.SegmentBytes <= 0 || opt.Format.Magic == 0 || opt.Format.Meta != 0 {
		return nil, errors.New("wal: LogOptions need a Format without meta, a Suffix and SegmentBytes")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	l := &Log{dir: dir, opt: opt, notify: make(chan struct{})}
	l.scond = sync.NewCond(&l.smu)
	segs, err := l.list()
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		if err := l.newSegment(opt.Start); err != nil {
			return nil, err
		}
	} else {
		l.segs = segs
		last := segs[len(segs)-1]
		seg, res, err := OpenSegment(l.path(last), opt.Format, nil)
		if err != nil {
			return nil, err
		}
		if res.ValidTo < seg.Size() {
			torn := seg.Size() - res.ValidTo
			if err := seg.Truncate(res.ValidTo); err != nil {
				seg.Close()
				return nil, err
			}
			l.stats.TornBytes = uint64(torn)
		}
		l.active, l.segBase, l.end = seg, last, last+Pos(seg.Size())
	}
	l.synced = l.end
	return l, nil
}

func (l *Log) path(base Pos) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016x%s", uint64(base), l.opt.Suffix))
}

func (l *Log) list() ([]Pos, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	var segs []Pos
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, l.opt.Suffix) {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSuffix(name, l.opt.Suffix), 16, 64)
		if err != nil {
			continue // not ours
		}
		segs = append(segs, Pos(v))
	}
	sort.Slice(segs, func(a, b int) bool { return segs[a] < segs[b] })
	return segs, nil
}

// newSegment creates and activates a segment starting at base. l.mu held (or OpenLog).
func (l *Log) newSegment(base Pos) error {
	seg, err := CreateSegment(l.path(base))
	if err != nil {
		return err
	}
	if l.active != nil {
		l.retired = append(l.retired, l.active)
	}
	l.active, l.segBase, l.end = seg, base, base
	l.segs = append(l.segs, base)
	return nil
}

// RecordLen is the log space a record of n data bytes takes.
func (l *Log) RecordLen(n int) Pos { return Pos(l.opt.Format.RecordLen(n)) }

// Append writes one record and returns once it is durable, with the
// position just after it.
func (l *Log) Append(data []byte) (Pos, error) {
	pos, err := l.Write(data)
	if err != nil {
		return 0, err
	}
	if err := l.Sync(pos); err != nil {
		return 0, err
	}
	return pos, nil
}

// Write appends one record without waiting for it to be durable and
// returns the position after it. Call Sync(pos) before acting on the
// record's durability: a writer that pipelines several records syncs once
// for all of them.
func (l *Log) Write(data []byte) (Pos, error) {
	if len(data) > l.opt.Format.MaxData {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	rec := l.opt.Format.Append(make([]byte, 0, l.opt.Format.RecordLen(len(data))), nil, data)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if l.writeErr != nil {
		return 0, l.writeErr
	}
	if used := int64(l.end - l.segBase); used > 0 && used+int64(len(rec)) > l.opt.SegmentBytes {
		// Make the old segment durable before the new one exists, so a
		// sync of the new file alone covers everything later.
		if err := l.active.Sync(); err != nil {
			l.writeErr = err
			return 0, err
		}
		if err := l.newSegment(l.end); err != nil {
			l.writeErr = err
			return 0, err
		}
	}
	if err := l.active.Append(rec); err != nil {
		if errors.Is(err, ErrUndone) {
			l.writeErr = err
		}
		return 0, err
	}
	l.end += Pos(len(rec))
	l.stats.Appends++
	l.stats.AppendBytes += uint64(len(rec))
	return l.end, nil
}

// Sync returns once every record ending at or before pos is on stable
// storage. Concurrent callers share fsyncs (group commit): the first
// waiter to find no sync running syncs everything written so far for all.
func (l *Log) Sync(pos Pos) error {
	l.smu.Lock()
	defer l.smu.Unlock()
	for l.synced < pos {
		if l.syncing {
			l.scond.Wait()
			continue
		}
		l.syncing = true
		l.smu.Unlock()

		l.mu.Lock()
		target, active, retired := l.end, l.active, l.retired
		l.retired = nil
		err := l.writeErr
		l.mu.Unlock()
		for _, r := range retired {
			r.Close() // synced when it was rotated out
		}
		if err == nil {
			if err = active.Sync(); err != nil {
				l.mu.Lock()
				l.writeErr = err
				l.mu.Unlock()
			}
		}

		l.smu.Lock()
		l.syncing = false
		l.scond.Broadcast()
		if err != nil {
			return err
		}
		if target > l.synced {
			l.synced = target
			close(l.notify)
			l.notify = make(chan struct{})
		}
		l.mu.Lock()
		l.stats.Syncs++
		l.mu.Unlock()
	}
	return nil
}

// End returns the position after the last record written.
func (l *Log) End() Pos {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.end
}

// Synced returns the position up to which the log is known durable.
func (l *Log) Synced() Pos {
	l.smu.Lock()
	defer l.smu.Unlock()
	return l.synced
}

// First returns the position of the oldest segment's first byte: the
// oldest position Replay or a Tailer can read.
func (l *Log) First() Pos {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[0]
}

// Stats returns the counters.
func (l *Log) Stats() LogStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Segments = len(l.segs)
	s.End = l.end
	return s
}

// RemoveBefore deletes the segments that end at or before pos. The active
// segment is never deleted.
func (l *Log) RemoveBefore(pos Pos) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := l.segs[:0]
	var err error
	for i, base := range l.segs {
		if i < len(l.segs)-1 && l.segs[i+1] <= pos && err == nil {
			if e := os.Remove(l.path(base)); e != nil && !errors.Is(e, os.ErrNotExist) {
				err = fmt.Errorf("wal: remove segment: %w", e)
				keep = append(keep, base)
			}
			continue
		}
		keep = append(keep, base)
	}
	l.segs = keep
	return err
}

// Close syncs and closes the active segment. Writes after Close fail with
// ErrClosed; Tailers return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	for _, r := range l.retired {
		r.Close()
	}
	l.retired = nil
	err := l.active.Sync()
	if cerr := l.active.Close(); err == nil {
		err = cerr
	}
	l.mu.Unlock()
	l.smu.Lock()
	close(l.notify)
	l.notify = make(chan struct{})
	l.smu.Unlock()
	return err
}

// Replay calls fn for every record that starts at or after from, in order,
// up to the end at the time of the call. Damaged regions are skipped and
// counted (Stats.Corrupt). An error from fn stops the replay and is
// returned.
func (l *Log) Replay(from Pos, fn func(Entry) error) error {
	l.mu.Lock()
	segs := append([]Pos(nil), l.segs...)
	end := l.end
	l.mu.Unlock()
	for i, base := range segs {
		segEnd := end
		if i+1 < len(segs) {
			segEnd = segs[i+1]
		}
		if segEnd <= from || segEnd <= base {
			continue
		}
		n, err := l.replaySegment(base, segEnd, from, fn)
		l.mu.Lock()
		l.stats.Corrupt += n
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *Log) replaySegment(base, segEnd, from Pos, fn func(Entry) error) (corrupt uint64, err error) {
	data, err := os.ReadFile(l.path(base))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil // removed meanwhile
		}
		return 0, fmt.Errorf("wal: replay: %w", err)
	}
	if limit := int64(segEnd - base); int64(len(data)) > limit {
		data = data[:limit]
	}
	off := 0
	if from > base {
		off = int(from - base)
	}
	f := l.opt.Format
	for off < len(data) {
		r, n, ok := f.Parse(data[off:])
		if !ok {
			corrupt++
			off = f.Resync(data, off+1)
			continue
		}
		if err := fn(Entry{Pos: base + Pos(off), End: base + Pos(off+n), Data: r.Data}); err != nil {
			return corrupt, err
		}
		off += n
	}
	return corrupt, nil
}

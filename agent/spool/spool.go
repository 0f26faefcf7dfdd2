package spool

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/shared/wire"

	"github.com/outpost-nms/outpost/shared/atomicfile"
	"github.com/outpost-nms/outpost/shared/dirlock"
	"github.com/outpost-nms/outpost/shared/wal"
)

// Defaults of Options (agent/config's spool section uses the same).
const (
	DefaultSegmentBytes  = 16 << 20
	DefaultMaxBytes      = 1 << 30
	DefaultMaxAge        = 72 * time.Hour
	DefaultFsyncInterval = time.Second
)

// Options configure a spool. Zero fields take the defaults.
type Options struct {
	// Dir is the spool directory; created if missing. Required.
	Dir string
	// SegmentBytes is the size at which the active segment is closed and a
	// new one started. Default 16 MiB.
	SegmentBytes int64
	// MaxBytes bounds the total size of all segments; over it the oldest
	// segment is dropped. Default 1 GiB.
	MaxBytes int64
	// MaxAge bounds how old the newest record of a segment may be before
	// the segment is dropped. Default 72h.
	MaxAge time.Duration
	// FsyncInterval is how often appended data is fsynced. Default 1s.
	// A negative value disables the background sync (callers use Sync).
	FsyncInterval time.Duration
	// Logger receives drop and corruption reports. Default slog.Default().
	Logger *slog.Logger
}

// Spool is an append-only log of batches on disk. Appends and reads are
// safe for concurrent use; one goroutine per Cursor.
type Spool struct {
	opt  Options
	reg  *Registry
	log  *slog.Logger
	lock *dirlock.Lock // held from Open to Close: one process per spool

	mu       sync.Mutex
	state    state
	segs     []*segment // oldest first; the last one is active
	nextSeq  uint64
	dirty    bool // appended since the last fsync
	stDirty  bool // state changed since it was last written
	notify   chan struct{}
	closed   bool
	syncErr  error
	stopSync chan struct{}
	syncDone chan struct{}
}

type segment struct {
	first    uint64 // seq in the file name
	path     string
	f        *wal.Segment // nil until opened
	index    []indexEntry
	lastTime time.Time // time of the newest append (mtime after reopen)
}

// state is persisted in state.json.
type state struct {
	Epoch       uint64         `json:"epoch"`
	Acked       uint64         `json:"acked"`
	Drops       wire.Drops     `json:"drops"`
	CorruptSeen map[string]int `json:"corrupt_seen,omitempty"` // per segment file: corrupt records already counted
}

// Errors.
var (
	// ErrClosed is returned by operations on a closed spool.
	ErrClosed = errors.New("spool closed")
	// ErrTooLarge is returned by Append for a payload over MaxRecord.
	ErrTooLarge = errors.New("record larger than the spool's limit")
)

const (
	stateFile  = "state.json"
	seriesFile = "series.log"
	segPrefix  = "seg-"
	segSuffix  = ".log"
)

// Open opens or creates the spool in opt.Dir: it loads the state and the
// series registry, scans every segment (counting corrupt records once,
// truncating a torn tail of the newest one), applies the bounds, and starts
// the background fsync.
func Open(opt Options) (*Spool, error) {
	if opt.Dir == "" {
		return nil, errors.New("spool: no directory")
	}
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = DefaultSegmentBytes
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MaxAge <= 0 {
		opt.MaxAge = DefaultMaxAge
	}
	if opt.FsyncInterval == 0 {
		opt.FsyncInterval = DefaultFsyncInterval
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", opt.Dir, err)
	}
	lock, err := dirlock.Acquire(opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w (is another outpost-agent running with this spool?)", err)
	}
	s := &Spool{opt: opt, log: opt.Logger, notify: make(chan struct{}), lock: lock}
	if err := s.loadState(); err != nil {
		lock.Release()
		return nil, err
	}
	reg, regCorrupt, err := openRegistry(filepath.Join(opt.Dir, seriesFile))
	if err != nil {
		lock.Release()
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.reg = reg
	if regCorrupt > 0 {
		s.log.Warn("spool: series registry had corrupt records; their ids are lost", "records", regCorrupt)
	}
	if err := s.loadSegments(); err != nil {
		_ = s.closeFiles()
		lock.Release()
		return nil, err
	}
	s.mu.Lock()
	s.enforceLocked()
	err = s.writeStateLocked()
	s.mu.Unlock()
	if err != nil {
		_ = s.closeFiles()
		lock.Release()
		return nil, err
	}
	if opt.FsyncInterval > 0 {
		s.stopSync = make(chan struct{})
		s.syncDone = make(chan struct{})
		go s.syncLoop()
	}
	return s, nil
}

func (s *Spool) loadState() error {
	b, err := os.ReadFile(filepath.Join(s.opt.Dir, stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		var e [8]byte
		for binary.BigEndian.Uint64(e[:]) == 0 {
			if _, err := rand.Read(e[:]); err != nil {
				return fmt.Errorf("spool: epoch: %w", err)
			}
		}
		s.state.Epoch = binary.BigEndian.Uint64(e[:])
		s.stDirty = true
	case err != nil:
		return fmt.Errorf("spool: read state: %w", err)
	default:
		if err := json.Unmarshal(b, &s.state); err != nil || s.state.Epoch == 0 {
			return fmt.Errorf("spool: state file %s is damaged (%v); move the spool directory away to start a new epoch", filepath.Join(s.opt.Dir, stateFile), err)
		}
	}
	if s.state.CorruptSeen == nil {
		s.state.CorruptSeen = map[string]int{}
	}
	return nil
}

func (s *Spool) loadSegments() error {
	ents, err := os.ReadDir(s.opt.Dir)
	if err != nil {
		return fmt.Errorf("spool: list %s: %w", s.opt.Dir, err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 10, 64)
		if err != nil || first == 0 {
			s.log.Warn("spool: ignoring a file with a segment-like name", "file", name)
			continue
		}
		s.segs = append(s.segs, &segment{first: first, path: filepath.Join(s.opt.Dir, name)})
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].first < s.segs[j].first })
	s.nextSeq = s.state.Acked + 1
	var prevLast uint64
	for i, seg := range s.segs {
		last := i == len(s.segs)-1
		var res scanResult
		f, scan, err := wal.OpenSegment(seg.path, format, scanAccept(&res.index))
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		seg.f = f
		res.corrupt, res.validTo = scan.Corrupt, scan.ValidTo
		// Keep only records at or above the name's seq and above the
		// previous segment's last record: anything else is damage.
		for len(res.index) > 0 && (res.index[0].seq < seg.first || res.index[0].seq <= prevLast) {
			res.index = res.index[1:]
			res.corrupt++
		}
		if n := len(res.index); n > 0 {
			prevLast = res.index[n-1].seq
		}
		seg.index = res.index
		seg.lastTime = f.ModTime()
		fileSize := f.Size()
		base := filepath.Base(seg.path)
		if last && res.validTo < fileSize {
			// Torn tail of the active segment: cut it so appends continue
			// from a valid record, and count it now (it is gone after this).
			if err := f.Truncate(res.validTo); err != nil {
				return fmt.Errorf("spool: torn tail: %w", err)
			}
			s.state.Drops.Corrupt++
			res.corrupt--
			s.stDirty = true
			s.log.Warn("spool: truncated a torn or corrupt tail", "segment", base, "bytes", fileSize-res.validTo)
		}
		if seen := s.state.CorruptSeen[base]; res.corrupt > seen {
			s.state.Drops.Corrupt += uint64(res.corrupt - seen)
			s.state.CorruptSeen[base] = res.corrupt
			s.stDirty = true
			s.log.Warn("spool: skipped corrupt records", "segment", base, "records", res.corrupt-seen)
		}
		if n := len(seg.index); n > 0 && seg.index[n-1].seq >= s.nextSeq {
			s.nextSeq = seg.index[n-1].seq + 1
		}
		if seg.first > s.nextSeq {
			s.nextSeq = seg.first
		}
	}
	if len(s.segs) == 0 {
		return s.rollLocked()
	}
	return nil
}

// rollLocked starts a new active segment named by nextSeq.
func (s *Spool) rollLocked() error {
	if n := len(s.segs); n > 0 && s.segs[n-1].first == s.nextSeq {
		return nil // the active segment is still empty
	}
	path := filepath.Join(s.opt.Dir, fmt.Sprintf("%s%020d%s", segPrefix, s.nextSeq, segSuffix))
	if n := len(s.segs); n > 0 && s.dirty {
		// the previous segment is no longer synced by the loop: sync it now
		if err := s.syncSegmentsLocked(); err != nil {
			return err
		}
	}
	f, err := wal.CreateSegment(path) // fsyncs the directory
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.segs = append(s.segs, &segment{first: s.nextSeq, path: path, f: f, lastTime: time.Now()})
	return nil
}

// Epoch returns the spool's epoch.
func (s *Spool) Epoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Epoch
}

// Registry returns the spool's series registry.
func (s *Spool) Registry() *Registry { return s.reg }

// Append writes payload as the next record and returns its seq. build is
// called with the seq (under the spool's lock) and returns the payload, so
// a batch can carry its own seq. The record is durable after the next sync.
func (s *Spool) Append(samples int, build func(seq uint64) ([]byte, error)) (uint64, error) {
	return s.AppendOpening(samples, func(seq uint64, _ bool) ([]byte, error) { return build(seq) })
}

// AppendOpening is Append whose build also learns whether the record is
// the first of its segment (opens is true). Since drop-oldest deletes
// whole segments, the first record of a segment is the oldest a reader
// can ever be left with: the batcher puts there what a reader needs before
// anything else (the hosts' inventory). build may be called twice: first
// with opens false, then, when that payload does not fit the active
// segment and a new one is started, again with opens true.
func (s *Spool) AppendOpening(samples int, build func(seq uint64, opens bool) ([]byte, error)) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	seq := s.nextSeq
	active := s.segs[len(s.segs)-1]
	opens := active.f.Size() == 0
	payload, err := build(seq, opens)
	if err != nil {
		return 0, err
	}
	if len(payload) > MaxRecord {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(payload))
	}
	need := int64(recordHeaderLen + len(payload))
	if active.f.Size() > 0 && active.f.Size()+need > s.opt.SegmentBytes {
		if err := s.rollLocked(); err != nil {
			return 0, err
		}
		active = s.segs[len(s.segs)-1]
		if payload, err = build(seq, true); err != nil {
			return 0, err
		}
		if len(payload) > MaxRecord {
			return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(payload))
		}
		need = int64(recordHeaderLen + len(payload))
	}
	rec := appendRecord(make([]byte, 0, need), seq, uint32(samples), payload)
	off := active.f.Size()
	if err := active.f.Append(rec); err != nil {
		// A partial write was cut back, so the next append starts on a
		// record boundary.
		return 0, fmt.Errorf("spool: %w", err)
	}
	active.index = append(active.index, indexEntry{seq: seq, off: uint32(off), size: uint32(need), samples: uint32(samples)})
	active.lastTime = time.Now()
	s.nextSeq++
	s.dirty = true
	s.enforceLocked()
	close(s.notify)
	s.notify = make(chan struct{})
	return seq, nil
}

// Notify returns a channel that is closed at the next append.
func (s *Spool) Notify() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

// Bounds returns the oldest and newest seq in the spool that are not yet
// acknowledged (0, 0 when there are none) and the ack watermark.
func (s *Spool) Bounds() (first, last, acked uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boundsLocked()
}

// Extent is what a Hello declares: the unacknowledged seqs and the drop
// counters, taken together so a drop cannot fall between them.
type Extent struct {
	First, Last, Acked uint64
	Drops              wire.Drops
}

// Extent returns the spool's bounds and drop counters in one snapshot.
func (s *Spool) Extent() Extent {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, last, acked := s.boundsLocked()
	return Extent{First: first, Last: last, Acked: acked, Drops: s.state.Drops}
}

func (s *Spool) boundsLocked() (first, last, acked uint64) {
	acked = s.state.Acked
	for _, seg := range s.segs {
		for _, e := range seg.index {
			if e.seq > acked {
				if first == 0 {
					first = e.seq
				}
				break
			}
		}
		if n := len(seg.index); n > 0 && seg.index[n-1].seq > acked {
			last = seg.index[n-1].seq
		}
	}
	return first, last, acked
}

// Drops returns the cumulative drop counters of the epoch.
func (s *Spool) Drops() wire.Drops {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Drops
}

// Bytes returns the total size of the segments on disk.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, seg := range s.segs {
		n += seg.f.Size()
	}
	return n
}

// Ack records that every batch up to seq is durably stored upstream and
// deletes the segments that hold nothing newer. The watermark is persisted
// with the next sync; losing it in a crash only causes a resend.
func (s *Spool) Ack(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if seq >= s.nextSeq {
		seq = s.nextSeq - 1 // never ack what was not written
	}
	if seq <= s.state.Acked {
		return nil
	}
	s.state.Acked = seq
	s.stDirty = true
	var err error
	for len(s.segs) > 1 {
		seg := s.segs[0]
		if n := len(seg.index); n > 0 && seg.index[n-1].seq > seq {
			break
		}
		if n := len(seg.index); n == 0 && s.segs[1].first > seq+1 {
			break
		}
		if e := s.removeFirstLocked(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// removeFirstLocked deletes the oldest segment.
func (s *Spool) removeFirstLocked() error {
	seg := s.segs[0]
	s.segs = s.segs[1:]
	delete(s.state.CorruptSeen, filepath.Base(seg.path))
	s.stDirty = true
	if err := seg.f.Remove(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// enforceLocked drops the oldest segments while the spool is over its byte
// bound or the oldest segment is older than the age bound. The active
// segment is never dropped.
func (s *Spool) enforceLocked() {
	var total int64
	for _, seg := range s.segs {
		total += seg.f.Size()
	}
	now := time.Now()
	for len(s.segs) > 1 {
		seg := s.segs[0]
		tooOld := now.Sub(seg.lastTime) > s.opt.MaxAge
		if total <= s.opt.MaxBytes && !tooOld {
			break
		}
		var batches, samples uint64
		for _, e := range seg.index {
			if e.seq > s.state.Acked {
				batches++
				samples += uint64(e.samples)
			}
		}
		if batches > 0 {
			s.state.Drops.Batches += batches
			s.state.Drops.Samples += samples
			reason := "bytes"
			if tooOld {
				reason = "age"
			}
			s.log.Warn("spool: dropped the oldest segment", "reason", reason, "batches", batches, "samples", samples, "segment", filepath.Base(seg.path))
		}
		total -= seg.f.Size()
		if err := s.removeFirstLocked(); err != nil {
			s.log.Error("spool: dropping a segment", "err", err)
		}
	}
}

// Sync fsyncs the series registry, the appended data and the state file.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.syncLocked()
}

func (s *Spool) syncLocked() error {
	s.enforceLocked() // the age bound also applies while nothing is appended
	if err := s.syncSegmentsLocked(); err != nil {
		return err
	}
	return s.writeStateLocked()
}

func (s *Spool) syncSegmentsLocked() error {
	if !s.dirty {
		return nil
	}
	if err := s.reg.sync(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := s.segs[len(s.segs)-1].f.Sync(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	// a segment closed by a roll was synced in rollLocked
	s.dirty = false
	return nil
}

func (s *Spool) writeStateLocked() error {
	if !s.stDirty {
		return nil
	}
	b, err := json.Marshal(s.state)
	if err != nil {
		return fmt.Errorf("spool: encode state: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(s.opt.Dir, stateFile), b, 0o600); err != nil {
		return fmt.Errorf("spool: write state: %w", err)
	}
	s.stDirty = false
	return nil
}

func (s *Spool) syncLoop() {
	defer close(s.syncDone)
	t := time.NewTicker(s.opt.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopSync:
			return
		case <-t.C:
			s.mu.Lock()
			if !s.closed {
				if err := s.syncLocked(); err != nil {
					if s.syncErr == nil {
						s.log.Error("spool: sync failed", "err", err)
					}
					s.syncErr = err
				} else {
					s.syncErr = nil
				}
			}
			s.mu.Unlock()
		}
	}
}

// Close stops the background sync, fsyncs everything and closes the files.
func (s *Spool) Close() error {
	if s.stopSync != nil {
		close(s.stopSync)
		<-s.syncDone
		s.stopSync = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.syncLocked()
	s.closed = true
	close(s.notify)
	s.notify = make(chan struct{})
	if cerr := s.closeFiles(); err == nil {
		err = cerr
	}
	s.lock.Release()
	return err
}

func (s *Spool) closeFiles() error {
	var err error
	for _, seg := range s.segs {
		if seg.f != nil {
			if e := seg.f.Close(); e != nil && err == nil {
				err = e
			}
		}
	}
	if s.reg != nil {
		if e := s.reg.close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

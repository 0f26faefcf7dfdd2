package rrd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// CacheOptions configures a Cache.
type CacheOptions struct {
	// FlushInterval is how often Run writes queued updates (default 5 min).
	FlushInterval time.Duration
	// Workers is how many files are processed at once (default 4).
	Workers int
	// GroupSize is how many files a flush handles per barrier (one syncfs
	// per file system); up to three groups are open at once, each file
	// with two descriptors. Default: a sixteenth of the open-file limit,
	// at most 4096 and at least 16.
	GroupSize int
	// Logger receives flush errors (default slog.Default()).
	Logger *slog.Logger
}

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("rrd cache closed")

// Cache is a write-back cache of updates, the idea of rrdcached inside the
// process: Update queues in memory (per file, in order) and checks what it
// can at once (time newer than the file's last update including queued
// ones, number and kind of values); FlushAll (called by the collector
// before each journal checkpoint, by Run, and by Close) writes them. Each
// file is written in one pass per flush: its header is read, all queued
// updates applied in memory, then the live header and the touched rows
// written through the per-file journal. Every flush is durable and
// crash-consistent for power loss; the journal order is kept with one
// barrier (a syncfs) per group of GroupSize files plus one per flush, not
// per file (see "Write-back cache" in the package doc). A Cache is safe
// for concurrent use.
type Cache struct {
	opts   CacheOptions
	files  sync.Map // path -> *cacheEntry
	closed atomic.Bool

	barrierNanos atomic.Int64 // time spent waiting for barriers (for the benchmark)
	noSync       bool         // barriers do nothing: the benchmark's write-back-only pass
	barrierHook  func()       // called at the start of every barrier (tests)
}

type cacheEntry struct {
	mu       sync.Mutex // guards queue, spare and the fields below
	queue    pendingQueue
	spare    pendingQueue // the last flushed queue's buffers, for reuse
	known    bool
	lastSec  int64
	lastUsec int64
	types    []string

	flushMu sync.Mutex // held while a flush of this file is under way
}

// pendingQueue holds a file's queued updates in one slab of words, without
// pointers (so the garbage collector never scans them) and in the order
// they are appended (so queueing an update touches one run of memory):
// per update its time in microseconds since the epoch, the bits of its nds
// values, and their kinds, eight to a word. texts holds the rare values
// that carry their input text, by value index (update x nds + data
// source).
type pendingQueue struct {
	nds   int
	words []uint64
	texts map[int]string
}

// stride is the number of words one update takes.
func (q *pendingQueue) stride() int { return 1 + q.nds + (q.nds+7)/8 }

func (q *pendingQueue) len() int {
	if q.nds == 0 {
		return 0
	}
	return len(q.words) / q.stride()
}

// queueStart is the room a file's first queue gets, in updates: most files
// queue several per flush; later queues reuse the buffers of the last one.
const queueStart = 16

func (q *pendingQueue) push(sec, usec int64, values []Value) {
	if len(q.words) == 0 && q.nds != len(values) {
		q.words = nil // buffers of another shape: start afresh
	}
	if q.words == nil {
		q.nds = len(values)
		q.words = make([]uint64, 0, queueStart*q.stride())
	}
	k := q.len()
	q.words = append(q.words, uint64(sec*1e6+usec))
	for _, v := range values {
		q.words = append(q.words, v.u)
	}
	for i := 0; i < len(values); i += 8 {
		var kinds uint64
		for j := i; j < min(i+8, len(values)); j++ {
			kinds |= uint64(values[j].kind) << (8 * (j - i))
		}
		q.words = append(q.words, kinds)
	}
	for i, v := range values {
		if v.text != "" {
			if q.texts == nil {
				q.texts = make(map[int]string)
			}
			q.texts[k*q.nds+i] = v.text
		}
	}
}

// update returns queued update k, its values written into buf (len nds).
func (q *pendingQueue) update(k int, buf []Value) Update {
	w := q.words[k*q.stride():]
	kinds := w[1+q.nds:]
	for i := range buf {
		buf[i] = Value{kind: valueKind(kinds[i/8] >> (8 * (i % 8))), u: w[1+i]}
	}
	if q.texts != nil {
		for i := range buf {
			buf[i].text = q.texts[k*q.nds+i]
		}
	}
	t := int64(w[0])
	return Update{Time: time.Unix(t/1e6, t%1e6*1000), Values: buf}
}

// prepend puts q (older updates) in front of r (of the same file).
func (q pendingQueue) prepend(r pendingQueue) pendingQueue {
	if q.nds == 0 {
		return r
	}
	out := pendingQueue{nds: q.nds, words: append(q.words, r.words...), texts: q.texts}
	if len(r.texts) > 0 {
		if out.texts == nil {
			out.texts = make(map[int]string)
		}
		for i, t := range r.texts {
			out.texts[q.len()*q.nds+i] = t
		}
	}
	return out
}

// emptied returns q's buffers with nothing in them (texts dropped).
func (q pendingQueue) emptied() pendingQueue {
	return pendingQueue{nds: q.nds, words: q.words[:0]}
}

// NewCache returns an empty cache. Call Run to flush in the background and
// Close to flush everything at the end.
func NewCache(opts CacheOptions) *Cache {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 5 * time.Minute
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.GroupSize <= 0 {
		opts.GroupSize = defaultGroupSize()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Cache{opts: opts}
}

func (c *Cache) entry(path string) (*cacheEntry, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if e, ok := c.files.Load(path); ok {
		return e.(*cacheEntry), nil
	}
	e, _ := c.files.LoadOrStore(path, &cacheEntry{})
	return e.(*cacheEntry), nil
}

// entries returns the cache's files, sorted by path, and their entries.
func (c *Cache) entries() ([]string, []*cacheEntry) {
	var paths []string
	byPath := map[string]*cacheEntry{}
	c.files.Range(func(k, v any) bool {
		paths = append(paths, k.(string))
		byPath[k.(string)] = v.(*cacheEntry)
		return true
	})
	sort.Strings(paths)
	entries := make([]*cacheEntry, len(paths))
	for i, p := range paths {
		entries[i] = byPath[p]
	}
	return paths, entries
}

// Update queues one update of the archive at path. It returns an error
// wrapping ErrNotNewer when t is not newer than the file's last update
// (including updates still queued), and an error when the number of values
// or a value's kind does not fit the file (a COUNTER needs a non-negative
// integer, a DERIVE an integer, every type a number or unknown). So a queued
// update does not fail at flush time (which would stop that file's flush at
// it, as rrdtool's update stops at a bad argument). Accepted updates are written by the next
// flush; values is not retained.
func (c *Cache) Update(path string, t time.Time, values []Value) error {
	e, err := c.entry(path)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.known {
		h, err := peekHeader(path)
		if err != nil {
			return fmt.Errorf("cache update %w", err)
		}
		if n := e.queue.len(); n > 0 && e.queue.nds != len(h.ds) {
			// The file was replaced by one of another shape while updates
			// for the old one were queued: they cannot be written.
			c.opts.Logger.Error("rrd cache: updates dropped", "path", path,
				"err", fmt.Sprintf("the file now has %d data sources, the queued updates %d", len(h.ds), e.queue.nds), "dropped", n)
			e.queue = pendingQueue{}
		}
		e.lastSec, e.lastUsec = h.lastUp, h.lastUsec
		e.types = e.types[:0]
		for _, d := range h.ds {
			e.types = append(e.types, d.typ)
		}
		e.known = true
	}
	sec, usec := splitTime(t)
	if err := checkNewer(sec, usec, e.lastSec, e.lastUsec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(values) != len(e.types) {
		return fmt.Errorf("%s: expected %d data source readings (got %d)", path, len(e.types), len(values))
	}
	for i, v := range values {
		if v.kind == kindBad {
			return fmt.Errorf("%s: reading '%s' for %s is not a number", path, v.text, e.types[i])
		}
		switch e.types[i] {
		case Counter:
			if v.kind != kindUnknown && v.kind != kindUint && !(v.kind == kindText && v.text[0] != '-') {
				return fmt.Errorf("%s: not a simple unsigned integer: '%s'", path, v)
			}
		case Derive:
			if v.kind == kindFloat {
				return fmt.Errorf("%s: not a simple signed integer: '%s'", path, v)
			}
		}
	}
	if e.queue.words == nil && e.spare.words != nil {
		e.queue, e.spare = e.spare, pendingQueue{}
	}
	e.queue.push(sec, usec, values)
	e.lastSec, e.lastUsec = sec, usec
	return nil
}

// Pending returns how many updates are queued in total.
func (c *Cache) Pending() int {
	n := 0
	c.files.Range(func(_, v any) bool {
		e := v.(*cacheEntry)
		e.mu.Lock()
		n += e.queue.len()
		e.mu.Unlock()
		return true
	})
	return n
}

// Run flushes every FlushInterval until ctx is done (each flush is a
// FlushAll, durable). It returns ctx's error; queued updates stay queued
// (call Close to write them).
func (c *Cache) Run(ctx context.Context) error {
	t := time.NewTicker(c.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := c.FlushAll(ctx); err != nil && ctx.Err() == nil {
				c.opts.Logger.Error("rrd cache flush", "err", err)
			}
		}
	}
}

// Flush writes the queued updates of one file; they are durable when it
// returns nil (the file's journal and archive are fdatasync'ed, no
// file-system-wide sync).
func (c *Cache) Flush(path string) error {
	e, ok := c.files.Load(path)
	if !ok {
		return nil
	}
	return c.flush(context.Background(), []string{path}, []*cacheEntry{e.(*cacheEntry)})
}

// FlushAll writes every queued update. When it returns nil, every update
// accepted before the call is on stable storage. When ctx ends, the files
// already under way are finished (and made durable) and ctx's error is
// returned; the rest stay queued.
func (c *Cache) FlushAll(ctx context.Context) error {
	paths, entries := c.entries()
	return c.flush(ctx, paths, entries)
}

// Close flushes everything and refuses further updates.
func (c *Cache) Close(ctx context.Context) error {
	c.closed.Store(true)
	return c.FlushAll(ctx)
}

// Fetch is rrd.Fetch after flushing path's queued updates, so it sees them.
func (c *Cache) Fetch(path, cf string, start, end time.Time, resolution time.Duration) (*FetchResult, error) {
	return c.FetchBounded(path, cf, start, end, resolution, FetchLimits{})
}

// FetchBounded is FetchBounded (the package function) through the cache:
// the file's queued updates are written first, as Fetch does.
func (c *Cache) FetchBounded(path, cf string, start, end time.Time, resolution time.Duration, lim FetchLimits) (*FetchResult, error) {
	if err := c.Flush(path); err != nil {
		return nil, err
	}
	return FetchBounded(path, cf, start, end, resolution, lim)
}

// flushJob is one file of a group being flushed.
type flushJob struct {
	path  string
	e     *cacheEntry
	queue pendingQueue   // the updates taken from the entry
	w     *archiveWriter // open until the job is finished
	exts  []extent       // nil: nothing to write
	err   error
}

// flush writes the queued updates of entries (sorted by path) in groups of
// GroupSize files, pipelined so that the whole flush costs one barrier (a
// syncfs, or fdatasyncs for a few files) per group plus one:
//
//	group 1: compute, write journals | barrier | write in place
//	group 2: compute, write journals | barrier | mark group 1 applied, write in place
//	...                                barrier | mark group n applied
//
// (group k+1 is computed and its journals written while the barrier of
// group k waits for the disk).
//
// The barrier after a group's journals also makes the previous group's
// in-place writes durable, so for every file, at every instant, the journal
// is durable before its archive is touched, and the archive is durable
// before its journal is marked applied: the order UpdateFile keeps with
// per-file fsyncs. Each entry's flushMu is held from the moment its queue
// is taken until its journal is marked applied, so a FlushAll that starts
// after an Update returns only once that update is durable.
func (c *Cache) flush(ctx context.Context, paths []string, entries []*cacheEntry) error {
	// take locks the next group's entries (none once ctx is done).
	take := func() []*flushJob {
		if len(paths) == 0 || ctx.Err() != nil {
			return nil
		}
		n := min(len(paths), c.opts.GroupSize)
		jobs := make([]*flushJob, n)
		for i := range jobs {
			jobs[i] = &flushJob{path: paths[i], e: entries[i]}
			entries[i].flushMu.Lock()
		}
		paths, entries = paths[n:], entries[n:]
		return jobs
	}
	var (
		prev []*flushJob
		errs []error
	)
	jobs := take()
	c.parallel(jobs, c.prepare)
	for len(jobs)+len(prev) > 0 {
		// The next group is computed and its journals written while
		// this barrier waits for the disk.
		next := take()
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.parallel(next, c.prepare)
		}()
		t0 := time.Now()
		err := c.barrier(jobs, prev)
		c.barrierNanos.Add(int64(time.Since(t0)))
		if err != nil {
			// Nothing of this group is known durable: requeue what has
			// no complete journal. The previous group's journals are
			// durable: recovery (at the next open) finishes those files.
			errs = append(errs, err)
			c.requeue(jobs, err)
			c.finish(jobs, false)
			c.finish(prev, false)
			prev = nil
		} else {
			errs = append(errs, c.finish(prev, true)...)
			c.parallel(jobs, func(j *flushJob) {
				if j.err == nil && j.exts != nil {
					j.err = applyExtents(j.w.f, j.exts)
					c.startWriteback(j.w.f)
				}
			})
			prev = jobs
		}
		<-done
		jobs = next
	}
	if err := ctx.Err(); err != nil && len(paths) > 0 {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// prepare takes a job's queued updates, applies them to the archive's
// header in memory and writes the journal (not synced).
func (c *Cache) prepare(j *flushJob) {
	j.e.mu.Lock()
	j.queue = j.e.queue
	j.e.queue = pendingQueue{}
	nds := len(j.e.types)
	j.e.mu.Unlock()
	n := j.queue.len()
	if n == 0 {
		return
	}
	w, err := openForWrite(j.path)
	if err != nil {
		j.err = err
		return
	}
	j.w = w
	if len(w.h.ds) != nds {
		// The file was replaced by one of another shape: requeueing would
		// fail the same way at every flush.
		c.opts.Logger.Error("rrd cache: updates dropped", "path", j.path,
			"err", fmt.Sprintf("the file now has %d data sources, the queued updates %d", len(w.h.ds), nds), "dropped", n)
		j.e.mu.Lock()
		j.e.known = false // re-read the file's shape at the next Update
		j.e.mu.Unlock()
		return
	}
	s := newSession(w.h)
	buf := make([]Value, nds)
	for k := 0; k < n; k++ {
		u := j.queue.update(k, buf)
		if err := s.apply(u); err != nil {
			if errors.Is(err, ErrNotNewer) {
				// The file moved on behind the cache (another writer,
				// or a replayed journal): skip this one, keep the rest.
				c.opts.Logger.Warn("rrd cache: update already superseded", "path", j.path, "time", u.Time, "err", err)
				continue
			}
			c.opts.Logger.Error("rrd cache: updates dropped", "path", j.path, "time", u.Time, "err", err,
				"dropped", n-k)
			break
		}
	}
	if !s.changed {
		return
	}
	j.exts = s.extents()
	if j.err = j.w.writeJournal(j.exts, false); j.err == nil {
		c.startWriteback(j.w.j)
	}
}

// finish ends jobs whose archives were written: when durable, their
// journals are marked applied (jobs that failed are requeued); then the
// files are closed and the entries released. It returns the jobs' errors.
func (c *Cache) finish(jobs []*flushJob, durable bool) []error {
	var errs []error
	if durable {
		for _, j := range jobs {
			if j.err != nil {
				errs = append(errs, fmt.Errorf("flush %s: %w", j.path, j.err))
				continue
			}
			if j.exts != nil {
				if err := markApplied(j.w.j); err != nil {
					errs = append(errs, fmt.Errorf("flush %s: %w", j.path, err))
				}
			}
		}
		c.requeue(jobs, nil)
	}
	for _, j := range jobs {
		if j.w != nil {
			j.w.close()
		}
		if j.queue.words != nil {
			// Written (or dropped): its buffers serve the next queue.
			j.e.mu.Lock()
			j.e.spare = j.queue.emptied()
			j.e.mu.Unlock()
			j.queue = pendingQueue{}
		}
		j.e.flushMu.Unlock()
	}
	return errs
}

// requeue puts the updates of failed jobs back in front of their queues;
// the journal (if complete) or a later flush applies them.
func (c *Cache) requeue(jobs []*flushJob, err error) {
	for _, j := range jobs {
		if j.queue.len() == 0 || (err == nil && j.err == nil) {
			continue
		}
		if j.exts != nil && j.err == nil {
			// Journal complete: recovery at the next open finishes it.
			continue
		}
		j.e.mu.Lock()
		j.e.queue = j.queue.prepend(j.e.queue)
		j.e.known = false // re-read the file's last update
		j.e.mu.Unlock()
		j.queue = pendingQueue{}
	}
}

func (c *Cache) parallel(jobs []*flushJob, fn func(*flushJob)) {
	if len(jobs) == 1 {
		fn(jobs[0])
		return
	}
	var wg sync.WaitGroup
	ch := make(chan *flushJob)
	for w := 0; w < min(c.opts.Workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				fn(j)
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
}

// startWriteback asks the kernel to start writing f's dirty pages to disk
// now, without waiting for them (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE): the disk then works while the flush goes on
// computing, and the next barrier finds little left to wait for (at 6,000
// files, barrier waits fell from ~560 ms to ~60 ms). It changes no
// ordering (only a barrier makes anything durable), so its error is
// ignored.
func (c *Cache) startWriteback(f *os.File) {
	if !c.noSync {
		unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	}
}

// smallBarrier is the most files a barrier makes durable with per-file
// fdatasync; above it one syncfs per file system is cheaper.
const smallBarrier = 4

// barrier makes durable the journals of journals' jobs and the archives of
// archives' jobs (only jobs that wrote). For a few files it fdatasyncs
// them (and the directory of a journal created by this open); otherwise it
// calls syncfs once per file system, which covers both and the directory
// entries.
func (c *Cache) barrier(journals, archives []*flushJob) error {
	if c.barrierHook != nil {
		c.barrierHook()
	}
	if c.noSync {
		return nil
	}
	var js, as []*archiveWriter
	for _, j := range journals {
		if j.w != nil && j.exts != nil {
			js = append(js, j.w)
		}
	}
	for _, j := range archives {
		if j.w != nil && j.exts != nil && j.err == nil {
			as = append(as, j.w)
		}
	}
	if len(js)+len(as) == 0 {
		return nil
	}
	if len(js)+len(as) <= smallBarrier {
		for _, w := range js {
			if err := w.syncJournal(); err != nil {
				return err
			}
		}
		for _, w := range as {
			if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
				return fmt.Errorf("sync %s: %w", w.path, err)
			}
		}
		return nil
	}
	seen := map[uint64]bool{}
	for _, w := range append(js, as...) {
		if seen[w.dev] {
			continue
		}
		seen[w.dev] = true
		if err := unix.Syncfs(int(w.f.Fd())); err != nil {
			return fmt.Errorf("syncfs: %w", err)
		}
		for _, w2 := range js {
			if w2.dev == w.dev {
				w2.created = false // its directory entry is durable too
			}
		}
	}
	return nil
}

// defaultGroupSize is a sixteenth of the soft open-file limit (three
// groups of files open at once, two descriptors each, the rest of the
// limit left to the rest of the process), between 16 and 4096.
func defaultGroupSize() int {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 256
	}
	return int(min(max(r.Cur/16, 16), 4096))
}

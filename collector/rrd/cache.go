package rrd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// CacheOptions configures a Cache.
type CacheOptions struct {
	// FlushInterval is how often Run writes queued updates (default 5 min).
	FlushInterval time.Duration
	// Workers is how many files are processed at once (default 4).
	Workers int
	// GroupSize is how many files share one pair of file-system syncs
	// during a flush (default 256).
	GroupSize int
	// Logger receives flush errors (default slog.Default()).
	Logger *slog.Logger
}

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("rrd cache closed")

// Cache is a write-back cache of updates, the idea of rrdcached inside the
// process: Update queues in memory (per file, in order) and checks what it
// can at once (time newer than the file's last update including queued
// ones, number and kind of values); Run writes them in the background.
// Each file is written in one pass per flush: its header is read, all
// queued updates applied in memory, then the header and the touched rows
// written through the per-file journal. Files are flushed in groups that
// share two syncfs calls (journals durable before any archive is changed,
// archives durable before the journals go), so a flush costs two syncs per
// group, not per file. A Cache is safe for concurrent use.
type Cache struct {
	opts   CacheOptions
	mu     sync.Mutex
	files  map[string]*cacheEntry
	closed bool
}

type cacheEntry struct {
	mu       sync.Mutex // guards pending and the fields below
	pending  []Update
	arena    []Value // backing store of the pending updates' values
	known    bool
	lastSec  int64
	lastUsec int64
	types    []string

	flushMu sync.Mutex // held while a flush of this file is under way
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
		opts.GroupSize = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Cache{opts: opts, files: make(map[string]*cacheEntry)}
}

func (c *Cache) entry(path string) (*cacheEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	e := c.files[path]
	if e == nil {
		e = &cacheEntry{}
		c.files[path] = e
	}
	return e, nil
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
		f, h, err := openHeader(path)
		if err != nil {
			return fmt.Errorf("cache update %w", err)
		}
		f.Close()
		e.lastSec, e.lastUsec = h.lastUp, h.lastUsec
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
	// Values are copied into a per-file arena: one allocation per many
	// updates. Earlier updates keep pointing into older arrays on growth.
	if cap(e.arena)-len(e.arena) < len(values) {
		e.arena = make([]Value, 0, max(64*len(values), 2*cap(e.arena)))
	}
	e.arena = append(e.arena, values...)
	n := len(e.arena)
	e.pending = append(e.pending, Update{Time: t, Values: e.arena[n-len(values) : n : n]})
	e.lastSec, e.lastUsec = sec, usec
	return nil
}

// Pending returns how many updates are queued in total.
func (c *Cache) Pending() int {
	c.mu.Lock()
	entries := make([]*cacheEntry, 0, len(c.files))
	for _, e := range c.files {
		entries = append(entries, e)
	}
	c.mu.Unlock()
	n := 0
	for _, e := range entries {
		e.mu.Lock()
		n += len(e.pending)
		e.mu.Unlock()
	}
	return n
}

// Run flushes every FlushInterval until ctx is done. It returns ctx's
// error; queued updates stay queued (call Close to write them).
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

// Flush writes the queued updates of one file and syncs it.
func (c *Cache) Flush(path string) error {
	c.mu.Lock()
	e := c.files[path]
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	return c.flushGroup([]string{path}, []*cacheEntry{e})
}

// FlushAll writes every queued update. When it returns nil, every update
// accepted before the call is on stable storage.
func (c *Cache) FlushAll(ctx context.Context) error {
	c.mu.Lock()
	paths := make([]string, 0, len(c.files))
	for p := range c.files {
		paths = append(paths, p)
	}
	c.mu.Unlock()
	sort.Strings(paths)
	// Two groups at a time: one computes and writes while the other waits
	// for its syncfs. Each group keeps its own order (journals synced
	// before its archives are written), so overlapping is safe.
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, 2)
	for len(paths) > 0 {
		if err := ctx.Err(); err != nil {
			wg.Wait()
			return err
		}
		n := min(len(paths), c.opts.GroupSize)
		group := paths[:n]
		paths = paths[n:]
		entries := make([]*cacheEntry, n)
		c.mu.Lock()
		for i, p := range group {
			entries[i] = c.files[p]
		}
		c.mu.Unlock()
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.flushGroup(group, entries); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close flushes everything and refuses further updates.
func (c *Cache) Close(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.FlushAll(ctx)
}

// Fetch is rrd.Fetch after flushing path's queued updates, so it sees them.
func (c *Cache) Fetch(path, cf string, start, end time.Time, resolution time.Duration) (*FetchResult, error) {
	if err := c.Flush(path); err != nil {
		return nil, err
	}
	return Fetch(path, cf, start, end, resolution)
}

// flushJob is one file of a group being flushed.
type flushJob struct {
	path    string
	e       *cacheEntry
	updates []Update
	w       *archiveWriter // open between phases
	exts    []extent
	err     error
}

// flushGroup flushes files in three phases: (1) per file, in parallel:
// apply the queued updates in memory and write the journal; sync the file
// systems; (2) write every archive in place; sync; (3) mark the journals
// applied.
// Every entry's flushMu is held throughout, so a FlushAll that starts after
// an Update returns only when that update is durable.
func (c *Cache) flushGroup(paths []string, entries []*cacheEntry) error {
	jobs := make([]*flushJob, len(paths))
	for i := range paths {
		jobs[i] = &flushJob{path: paths[i], e: entries[i]}
		entries[i].flushMu.Lock()
	}
	defer func() {
		for _, j := range jobs {
			if j.w != nil {
				j.w.close()
			}
			j.e.flushMu.Unlock()
		}
	}()
	c.parallel(jobs, func(j *flushJob) {
		j.e.mu.Lock()
		j.updates = j.e.pending
		j.e.pending = nil
		j.e.arena = nil
		j.e.mu.Unlock()
		if len(j.updates) == 0 {
			return
		}
		w, err := openForWrite(j.path)
		if err != nil {
			j.err = err
			return
		}
		j.w = w
		s := newSession(w.h)
		for k, u := range j.updates {
			if err := s.apply(u); err != nil {
				if errors.Is(err, ErrNotNewer) {
					// The file moved on behind the cache (another writer,
					// or a replayed journal): skip this one, keep the rest.
					c.opts.Logger.Warn("rrd cache: update already superseded", "path", j.path, "time", u.Time, "err", err)
					continue
				}
				c.opts.Logger.Error("rrd cache: updates dropped", "path", j.path, "time", u.Time, "err", err,
					"dropped", len(j.updates)-k)
				break
			}
		}
		if !s.changed {
			return
		}
		j.exts = s.extents()
		j.err = j.w.writeJournal(j.exts, false)
	})
	if err := syncFileSystems(jobs); err != nil {
		return c.requeue(jobs, err)
	}
	c.parallel(jobs, func(j *flushJob) {
		if j.err == nil && j.exts != nil {
			j.err = applyExtents(j.w.f, j.exts)
		}
	})
	if err := syncFileSystems(jobs); err != nil {
		return c.requeue(jobs, err)
	}
	var errs []error
	for _, j := range jobs {
		if j.err != nil {
			errs = append(errs, fmt.Errorf("flush %s: %w", j.path, j.err))
			continue
		}
		if j.exts != nil {
			if err := markApplied(j.w.j); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		c.requeue(jobs, nil)
	}
	return errors.Join(errs...)
}

// requeue puts the updates of failed jobs back in front of their queues;
// the journal (if complete) or a later flush applies them.
func (c *Cache) requeue(jobs []*flushJob, err error) error {
	for _, j := range jobs {
		if j.updates == nil || (err == nil && j.err == nil) {
			continue
		}
		if j.exts != nil && j.err == nil {
			// Journal complete: recovery at the next open finishes it.
			continue
		}
		j.e.mu.Lock()
		j.e.pending = append(j.updates, j.e.pending...)
		j.e.known = false // re-read the file's last update
		j.e.mu.Unlock()
	}
	return err
}

func (c *Cache) parallel(jobs []*flushJob, fn func(*flushJob)) {
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

// syncFileSystems calls syncfs once per file system holding an open job.
func syncFileSystems(jobs []*flushJob) error {
	seen := map[uint64]bool{}
	for _, j := range jobs {
		if j.w == nil || j.exts == nil {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(j.w.f.Fd()), &st); err != nil {
			return err
		}
		if seen[st.Dev] {
			continue
		}
		seen[st.Dev] = true
		if err := unix.Syncfs(int(j.w.f.Fd())); err != nil {
			return fmt.Errorf("syncfs: %w", err)
		}
	}
	return nil
}

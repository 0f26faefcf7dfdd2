// Package schedule runs the agent's poll targets: each on its own
// interval, the first poll of each spread with jitter across its interval,
// at most MaxConcurrent polls at once, every poll under a deadline.
//
// Invariants:
//   - A target's polls start on a fixed grid (first + n x interval); a
//     slow poll does not shift later ones.
//   - A target never polls twice at once: when its next poll is due while
//     the previous one still runs (or still waits for a slot), that
//     occurrence is skipped and counted as an overrun (and logged).
//   - A dead or slow target holds at most one concurrency slot, and only
//     until its per-poll deadline; other targets keep their schedule.
//   - Run returns only after every poll it started has returned.
//   - Time is the time package's: tests run the scheduler in a
//     testing/synctest bubble, where it is deterministic.
package schedule

import (
	"container/heap"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/agent/poll"
)

// DefaultMaxConcurrent is the concurrency bound when Config leaves it 0.
const DefaultMaxConcurrent = 64

// Config tunes a Scheduler. Zero values take the documented defaults.
type Config struct {
	// MaxConcurrent bounds the polls running at once (default 64).
	MaxConcurrent int
	// Deadline returns the deadline of one poll of a target (default: its
	// interval, so a poll never runs into its next occurrence by more than
	// the time it waits for a slot).
	Deadline func(poll.Target) time.Duration
	// Jitter returns the offset of a target's first poll from Run's start,
	// in [0, interval) (default: uniformly random).
	Jitter func(t poll.Target) time.Duration
	// Logger receives poll errors and overruns (default slog.Default()).
	Logger *slog.Logger
}

// Stats describes one target's schedule so far.
type Stats struct {
	Name     string
	Interval time.Duration
	// Started and Finished count polls; Errors counts those that returned an error.
	Started, Finished, Errors uint64
	// Overruns counts due polls skipped because the previous one still ran.
	Overruns uint64
	// Running reports whether a poll is running or waiting for a slot.
	Running bool
	// NextDue is when the next poll is due.
	NextDue time.Time
	// LastDuration is how long the last finished poll took (slot wait excluded).
	LastDuration time.Duration
	// LastError is the last poll error ("" after a successful poll).
	LastError string
}

// Scheduler runs targets until its context ends.
type Scheduler struct {
	targets []poll.Target
	sink    poll.Sink
	cfg     Config
	sem     chan struct{}

	mu    sync.Mutex
	stats []Stats
}

// New prepares a scheduler for targets reporting to sink.
func New(targets []poll.Target, sink poll.Sink, cfg Config) *Scheduler {
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Deadline == nil {
		cfg.Deadline = func(t poll.Target) time.Duration { return t.Interval() }
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(t poll.Target) time.Duration {
			if iv := t.Interval(); iv > 0 {
				return rand.N(iv)
			}
			return 0
		}
	}
	s := &Scheduler{targets: targets, sink: sink, cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent)}
	s.stats = make([]Stats, len(targets))
	for i, t := range targets {
		s.stats[i] = Stats{Name: t.Name(), Interval: t.Interval()}
	}
	return s
}

// Stats returns a snapshot of every target's schedule, in target order.
func (s *Scheduler) Stats() []Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Stats(nil), s.stats...)
}

// Run polls every target on its schedule until ctx ends, then waits for
// the polls in flight (they see ctx cancelled) and returns ctx's error.
//
// One goroutine keeps every target's next due time in a heap and sleeps
// until the earliest; a poll runs in a goroutine of its own only while it
// runs (or waits for a slot). So an agent with a thousand targets idles on
// one goroutine, not a thousand (their stacks were ~6 MB of its memory).
func (s *Scheduler) Run(ctx context.Context) error {
	start := time.Now()
	var polls sync.WaitGroup
	defer polls.Wait()
	q := make(dueQueue, 0, len(s.targets))
	for i, t := range s.targets {
		interval := t.Interval()
		if interval <= 0 {
			s.cfg.Logger.Error("schedule: target has no interval; not polled", "target", t.Name())
			continue
		}
		jitter := s.cfg.Jitter(t)
		if jitter < 0 || jitter >= interval {
			jitter = 0
		}
		next := start.Add(jitter)
		s.update(i, func(st *Stats) { st.NextDue = next })
		q = append(q, due{at: next, i: i, interval: interval})
	}
	heap.Init(&q)
	if len(q) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	for {
		timer := time.NewTimer(time.Until(q[0].at))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		now := time.Now()
		for !q[0].at.After(now) {
			q[0].at = s.fire(ctx, q[0], now, &polls)
			heap.Fix(&q, 0)
		}
	}
}

// fire handles the due occurrence d of a target at now: it starts a poll,
// or counts an overrun when the previous poll still runs, and returns the
// target's next due time (on its grid, after now: occurrences the clock
// jumped over are counted as overruns).
func (s *Scheduler) fire(ctx context.Context, d due, now time.Time, polls *sync.WaitGroup) time.Time {
	t := s.targets[d.i]
	next := d.at.Add(d.interval)
	skipped := uint64(0)
	for !next.After(now) { // the clock jumped (suspend): skip missed slots
		next = next.Add(d.interval)
		skipped++
	}
	var running bool
	s.update(d.i, func(st *Stats) {
		running = st.Running
		if running {
			st.Overruns++
		}
		st.Overruns += skipped
		if !running {
			st.Running = true
			st.Started++
		}
		st.NextDue = next
	})
	if running {
		s.cfg.Logger.Warn("schedule: poll overrun: previous poll still running when the next was due; skipped",
			"target", t.Name(), "due", d.at, "interval", d.interval)
		return next
	}
	polls.Add(1)
	go func() {
		defer polls.Done()
		s.pollOnce(ctx, d.i, t)
	}()
	return next
}

// due is a target's next occurrence in Run's heap.
type due struct {
	at       time.Time
	i        int // index into Scheduler.targets
	interval time.Duration
}

// dueQueue is a min-heap of occurrences by time (container/heap).
type dueQueue []due

func (q dueQueue) Len() int { return len(q) }
func (q dueQueue) Less(a, b int) bool {
	if q[a].at.Equal(q[b].at) {
		return q[a].i < q[b].i
	}
	return q[a].at.Before(q[b].at)
}
func (q dueQueue) Swap(a, b int) { q[a], q[b] = q[b], q[a] }
func (q *dueQueue) Push(x any)   { *q = append(*q, x.(due)) }
func (q *dueQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

func (s *Scheduler) pollOnce(ctx context.Context, i int, t poll.Target) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		s.update(i, func(st *Stats) { st.Running = false; st.Finished++ })
		return
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.Deadline(t))
	began := time.Now()
	err := t.Poll(pctx, s.sink)
	cancel()
	<-s.sem
	took := time.Since(began)
	if err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("schedule: poll failed", "target", t.Name(), "err", err, "took", took)
	}
	s.update(i, func(st *Stats) {
		st.Running = false
		st.Finished++
		st.LastDuration = took
		st.LastError = ""
		if err != nil {
			st.Errors++
			st.LastError = err.Error()
		}
	})
}

func (s *Scheduler) update(i int, f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats[i])
	s.mu.Unlock()
}

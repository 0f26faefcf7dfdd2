package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/poll"
)

// fakeClock moves only when the test calls Advance; timers and timeouts
// fire in time order as it passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	ch chan time.Time
	fn func()
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return true
		}
	}
	return false
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) add(d time.Duration, fn func()) *fakeTimer {
	c.mu.Lock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1), fn: fn}
	if d > 0 {
		c.timers = append(c.timers, t)
		c.mu.Unlock()
		return t
	}
	now := c.now
	c.mu.Unlock()
	if fn != nil { // already due, as time.NewTimer(0) is
		fn()
	} else {
		t.ch <- now
	}
	return t
}

func (c *fakeClock) NewTimer(d time.Duration) Timer { return c.add(d, nil) }

func (c *fakeClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	t := c.add(d, cancel)
	return ctx, func() { t.Stop(); cancel() }
}

// Advance moves the clock to now+d, firing due timers in time order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.Slice(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.at.After(c.now) {
			c.now = t.at
		}
		if t.fn != nil {
			c.mu.Unlock()
			t.fn()
			c.mu.Lock()
		} else {
			t.ch <- c.now
		}
	}
	c.now = end
	c.mu.Unlock()
}

// target is a poll.Target for tests: it records the clock time of each
// poll and, when block is set, waits for its context (a dead device).
type target struct {
	name     string
	interval time.Duration
	clock    Clock
	block    bool

	mu     sync.Mutex
	times  []time.Time
	inPoll atomic.Int32
	maxIn  atomic.Int32
}

func (t *target) Name() string            { return t.name }
func (t *target) Interval() time.Duration { return t.interval }
func (t *target) Poll(ctx context.Context, sink poll.Sink) error {
	n := t.inPoll.Add(1)
	defer t.inPoll.Add(-1)
	for {
		m := t.maxIn.Load()
		if n <= m || t.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	t.mu.Lock()
	t.times = append(t.times, t.clock.Now())
	t.mu.Unlock()
	if t.block {
		<-ctx.Done()
		sink.Report(poll.Report{Host: t.name})
		return fmt.Errorf("no response from %s: %w", t.name, ctx.Err())
	}
	sink.Report(poll.Report{Host: t.name})
	return nil
}

func (t *target) polls() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]time.Duration, len(t.times))
	for i, x := range t.times {
		out[i] = x.Sub(time.Unix(0, 0).UTC())
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestDeadTargetDoesNotDelayOthersAndOverrunsAreCounted(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0).UTC()}
	fastA := &target{name: "fast-a", interval: 10 * time.Second, clock: clk}
	fastB := &target{name: "fast-b", interval: 15 * time.Second, clock: clk}
	dead := &target{name: "dead", interval: 10 * time.Second, clock: clk, block: true}
	jitter := map[string]time.Duration{"fast-a": time.Second, "fast-b": 4 * time.Second, "dead": 0}
	var reports atomic.Int64
	s := New([]poll.Target{fastA, fastB, dead}, poll.SinkFunc(func(poll.Report) { reports.Add(1) }), Config{
		MaxConcurrent: 2,
		Clock:         clk,
		Logger:        quiet(),
		Jitter:        func(t poll.Target) time.Duration { return jitter[t.Name()] },
		Deadline: func(t poll.Target) time.Duration {
			if t.Name() == "dead" {
				return 25 * time.Second // longer than its interval: it overruns
			}
			return 5 * time.Second
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	// Expected schedule: fast-a at 1, 11, 21...; fast-b at 4, 19, 34...;
	// dead starts at 0, 30, 60, 90 (each poll ends at its 25 s deadline)
	// and overruns at 10, 20, 40, 50, 70, 80, 100.
	count := func(first, every, now time.Duration) int {
		if now < first {
			return 0
		}
		return int((now-first)/every) + 1
	}
	deadStarts := func(now time.Duration) int { return count(0, 30*time.Second, now) }
	deadFinished := func(now time.Duration) int { return count(25*time.Second, 30*time.Second, now) }
	const steps = 100
	for sec := 0; sec <= steps; sec++ {
		now := time.Duration(sec) * time.Second
		if sec > 0 {
			clk.Advance(time.Second)
		}
		waitFor(t, fmt.Sprintf("schedule at %v", now), func() bool {
			st := s.Stats()
			for _, x := range st {
				if !x.NextDue.After(clk.Now()) {
					return false
				}
			}
			return len(fastA.polls()) == count(time.Second, 10*time.Second, now) &&
				len(fastB.polls()) == count(4*time.Second, 15*time.Second, now) &&
				len(dead.polls()) == deadStarts(now) &&
				int(st[2].Finished) == deadFinished(now)
		})
	}
	for i, at := range fastA.polls() {
		if want := time.Second + time.Duration(i)*10*time.Second; at != want {
			t.Errorf("fast-a poll %d at %v, want %v", i, at, want)
		}
	}
	for i, at := range fastB.polls() {
		if want := 4*time.Second + time.Duration(i)*15*time.Second; at != want {
			t.Errorf("fast-b poll %d at %v, want %v", i, at, want)
		}
	}
	st := s.Stats()
	if st[2].Overruns != 7 || st[2].Errors != 3 || st[2].Started != 4 {
		t.Errorf("dead: %+v; want 4 started, 3 errors (deadline), 7 overruns", st[2])
	}
	if st[0].Overruns != 0 || st[1].Overruns != 0 || st[0].Errors != 0 {
		t.Errorf("fast targets overran or failed: %+v %+v", st[0], st[1])
	}
	if dead.maxIn.Load() != 1 {
		t.Errorf("dead target polled %d times at once", dead.maxIn.Load())
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if dead.inPoll.Load() != 0 {
		t.Error("Run returned with a poll still running")
	}
	if reports.Load() != int64(len(fastA.polls())+len(fastB.polls())+len(dead.polls())) {
		t.Errorf("%d reports for %d polls", reports.Load(), len(fastA.polls())+len(fastB.polls())+len(dead.polls()))
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0).UTC()}
	var targets []poll.Target
	var all []*target
	for i := 0; i < 5; i++ {
		tg := &target{name: fmt.Sprintf("dead-%d", i), interval: 100 * time.Second, clock: clk, block: true}
		targets = append(targets, tg)
		all = append(all, tg)
	}
	var running, peak atomic.Int32
	sink := poll.SinkFunc(func(poll.Report) {})
	wrapped := make([]poll.Target, len(targets))
	for i, tg := range targets {
		wrapped[i] = countingTarget{tg.(*target), &running, &peak}
	}
	s := New(wrapped, sink, Config{MaxConcurrent: 2, Clock: clk, Logger: quiet(),
		Jitter: func(poll.Target) time.Duration { return 0 }, Deadline: func(poll.Target) time.Duration { return 4 * time.Second }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// At 0 all five are due; two run, three wait for a slot. Each deadline
	// (4 s) frees a slot: polls of the 5 targets finish at 4, 4, 8, 8, 12.
	waitFor(t, "two polls running", func() bool { return running.Load() == 2 })
	for sec := 1; sec <= 12; sec++ {
		clk.Advance(time.Second)
		want := map[int][2]int{4: {2, 2}, 8: {4, 1}, 12: {5, 0}} // finished, then running
		if w, ok := want[sec]; ok {
			waitFor(t, fmt.Sprintf("%d polls finished and %d running at %ds", w[0], w[1], sec), func() bool {
				n := 0
				for _, x := range s.Stats() {
					n += int(x.Finished)
				}
				return n == w[0] && int(running.Load()) == w[1]
			})
		}
	}
	if peak.Load() != 2 {
		t.Errorf("peak concurrency %d, want 2", peak.Load())
	}
	cancel()
	<-done
	_ = all
}

type countingTarget struct {
	*target
	running, peak *atomic.Int32
}

func (c countingTarget) Poll(ctx context.Context, sink poll.Sink) error {
	n := c.running.Add(1)
	defer c.running.Add(-1)
	for {
		m := c.peak.Load()
		if n <= m || c.peak.CompareAndSwap(m, n) {
			break
		}
	}
	return c.target.Poll(ctx, sink)
}

func TestRealClockCancelStopsAndWaits(t *testing.T) {
	var polls atomic.Int32
	dead := &target{name: "dead", interval: 20 * time.Millisecond, clock: RealClock{}, block: true}
	fast := &target{name: "fast", interval: 10 * time.Millisecond, clock: RealClock{}}
	s := New([]poll.Target{dead, fast}, poll.SinkFunc(func(poll.Report) { polls.Add(1) }),
		Config{Logger: quiet(), Deadline: func(poll.Target) time.Duration { return time.Hour }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "fast target polled 3 times and dead overran while it blocks", func() bool {
		return len(fast.polls()) >= 3 && s.Stats()[0].Overruns >= 1
	})
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if dead.inPoll.Load() != 0 || fast.inPoll.Load() != 0 {
		t.Error("a poll still runs after Run returned")
	}
	if st := s.Stats(); st[0].Started != 1 {
		t.Errorf("dead target started %d polls while its first never returned", st[0].Started)
	}
}

// TestIdleSchedulerHoldsOneGoroutine checks that waiting targets cost no
// goroutine each: a thousand targets whose first polls are all in the
// future leave Run with a single goroutine.
func TestIdleSchedulerHoldsOneGoroutine(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0).UTC()}
	var targets []poll.Target
	for i := 0; i < 1000; i++ {
		targets = append(targets, &target{name: fmt.Sprintf("t%d", i), interval: time.Minute, clock: clk})
	}
	s := New(targets, poll.SinkFunc(func(poll.Report) {}), Config{
		Clock: clk, Logger: quiet(),
		Jitter: func(poll.Target) time.Duration { return 30 * time.Second },
	})
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "Run to arm its timer", func() bool {
		clk.mu.Lock()
		defer clk.mu.Unlock()
		return len(clk.timers) >= 1
	})
	if n := runtime.NumGoroutine() - before; n > 2 {
		t.Errorf("an idle scheduler of 1,000 targets runs %d goroutines, want 1", n)
	}
	clk.mu.Lock()
	if n := len(clk.timers); n != 1 {
		t.Errorf("an idle scheduler of 1,000 targets arms %d timers, want 1", n)
	}
	clk.mu.Unlock()
	// All due at once: each polls exactly once.
	clk.Advance(30 * time.Second)
	waitFor(t, "every target polled", func() bool {
		for _, st := range s.Stats() {
			if st.Finished != 1 {
				return false
			}
		}
		return true
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/outpost-nms/outpost/agent/poll"
)

// target is a poll.Target for tests: it records the time of each poll
// (since start) and, when block is set, waits for its context (a dead
// device).
type target struct {
	name     string
	interval time.Duration
	start    time.Time
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
	t.times = append(t.times, time.Now())
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
		out[i] = x.Sub(t.start)
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

// The scheduler tests run in testing/synctest bubbles: time advances only
// when every goroutine of the bubble is blocked, so after time.Sleep and
// synctest.Wait the scheduler has done everything due by then, exactly.

func TestDeadTargetDoesNotDelayOthersAndOverrunsAreCounted(t *testing.T) {
	synctest.Test(t, testDeadTarget)
}

func testDeadTarget(t *testing.T) {
	start := time.Now()
	fastA := &target{name: "fast-a", interval: 10 * time.Second, start: start}
	fastB := &target{name: "fast-b", interval: 15 * time.Second, start: start}
	dead := &target{name: "dead", interval: 10 * time.Second, start: start, block: true}
	jitter := map[string]time.Duration{"fast-a": time.Second, "fast-b": 4 * time.Second, "dead": 0}
	var reports atomic.Int64
	s := New([]poll.Target{fastA, fastB, dead}, poll.SinkFunc(func(poll.Report) { reports.Add(1) }), Config{
		MaxConcurrent: 2,
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
			time.Sleep(time.Second)
		}
		synctest.Wait()
		st := s.Stats()
		for _, x := range st {
			if !x.NextDue.After(time.Now()) {
				t.Fatalf("at %v: %s is due at %v and was not run", now, x.Name, x.NextDue.Sub(start))
			}
		}
		if a, b, d, f := len(fastA.polls()), len(fastB.polls()), len(dead.polls()), int(st[2].Finished); a != count(time.Second, 10*time.Second, now) ||
			b != count(4*time.Second, 15*time.Second, now) || d != deadStarts(now) || f != deadFinished(now) {
			t.Fatalf("at %v: fast-a %d, fast-b %d polls, dead %d started %d finished", now, a, b, d, f)
		}
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
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	if dead.inPoll.Load() != 0 {
		t.Error("Run returned with a poll still running")
	}
	if reports.Load() != int64(len(fastA.polls())+len(fastB.polls())+len(dead.polls())) {
		t.Errorf("%d reports for %d polls", reports.Load(), len(fastA.polls())+len(fastB.polls())+len(dead.polls()))
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var targets []poll.Target
		var running, peak atomic.Int32
		for i := 0; i < 5; i++ {
			tg := &target{name: fmt.Sprintf("dead-%d", i), interval: 100 * time.Second, start: time.Now(), block: true}
			targets = append(targets, countingTarget{tg, &running, &peak})
		}
		s := New(targets, poll.SinkFunc(func(poll.Report) {}), Config{MaxConcurrent: 2, Logger: quiet(),
			Jitter: func(poll.Target) time.Duration { return 0 }, Deadline: func(poll.Target) time.Duration { return 4 * time.Second }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		// At 0 all five are due; two run, three wait for a slot. Each
		// deadline (4 s) frees a slot: polls of the 5 targets finish at 4,
		// 4, 8, 8, 12.
		want := map[int][2]int{0: {0, 2}, 4: {2, 2}, 8: {4, 1}, 12: {5, 0}} // finished, then running
		for sec := 0; sec <= 12; sec++ {
			if sec > 0 {
				time.Sleep(time.Second)
			}
			synctest.Wait()
			if w, ok := want[sec]; ok {
				n := 0
				for _, x := range s.Stats() {
					n += int(x.Finished)
				}
				if n != w[0] || int(running.Load()) != w[1] {
					t.Fatalf("at %ds: %d polls finished, %d running; want %d, %d", sec, n, running.Load(), w[0], w[1])
				}
			}
		}
		if peak.Load() != 2 {
			t.Errorf("peak concurrency %d, want 2", peak.Load())
		}
		cancel()
		<-done
	})
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
	dead := &target{name: "dead", interval: 20 * time.Millisecond, start: time.Now(), block: true}
	fast := &target{name: "fast", interval: 10 * time.Millisecond, start: time.Now()}
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
	synctest.Test(t, func(t *testing.T) {
		var targets []poll.Target
		for i := 0; i < 1000; i++ {
			targets = append(targets, &target{name: fmt.Sprintf("t%d", i), interval: time.Minute, start: time.Now()})
		}
		s := New(targets, poll.SinkFunc(func(poll.Report) {}), Config{
			Logger: quiet(),
			Jitter: func(poll.Target) time.Duration { return 30 * time.Second },
		})
		before := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		synctest.Wait() // Run is waiting for the first due time
		if n := runtime.NumGoroutine() - before; n > 1 {
			t.Errorf("an idle scheduler of 1,000 targets runs %d goroutines, want 1", n)
		}
		// All due at once: each polls exactly once.
		time.Sleep(30 * time.Second)
		synctest.Wait()
		for _, st := range s.Stats() {
			if st.Finished != 1 {
				t.Fatalf("%s finished %d polls at its first due time, want 1", st.Name, st.Finished)
			}
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
	})
}

package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder collects events from several goroutines in the order they
// happened.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, a...))
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// part blocks until its context ends, then records that it stopped and
// whether the stages stopped before it had already finished.
func part(r *recorder, name string, started *sync.WaitGroup) func(context.Context) error {
	started.Add(1)
	return func(ctx context.Context) error {
		started.Done()
		<-ctx.Done()
		r.add("%s stopped", name)
		return nil
	}
}

func TestStopOrder(t *testing.T) {
	var r recorder
	var started sync.WaitGroup
	g := New()
	ingest, apply, side := g.Stage("ingest"), g.Stage("apply"), g.Stage("side")
	ingest.Go("quic", part(&r, "quic", &started))
	apply.Go("applier", part(&r, "applier", &started))
	side.Go("web", part(&r, "web", &started))
	apply.Then(func(context.Context) error { r.add("checkpoint"); return nil })
	apply.Then(func(context.Context) error { r.add("close archives"); return nil })
	started.Wait()
	if got := r.list(); len(got) != 0 {
		t.Fatalf("parts stopped before Stop: %v", got)
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	want := []string{"quic stopped", "applier stopped", "checkpoint", "close archives", "web stopped"}
	if got := r.list(); !slices.Equal(got, want) {
		t.Errorf("stop order\n got %v\nwant %v", got, want)
	}
	for _, s := range []*Stage{ingest, apply, side} {
		if s.Context().Err() == nil {
			t.Errorf("stage %s: context not ended after Stop", s.name)
		}
	}
}

// A stage's goroutines all return before the next stage's context ends,
// even when one of them takes a while to finish.
func TestStageWaitsForAll(t *testing.T) {
	g := New()
	first, second := g.Stage("first"), g.Stage("second")
	release := make(chan struct{})
	var secondEndedEarly bool
	first.Go("slow", func(ctx context.Context) error {
		<-ctx.Done()
		<-release
		secondEndedEarly = second.Context().Err() != nil
		return nil
	})
	first.Go("fast", func(ctx context.Context) error {
		<-ctx.Done()
		close(release)
		return nil
	})
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if secondEndedEarly {
		t.Error("the second stage was stopped before the first stage's goroutines returned")
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name     string
		parts    map[string]error // part name → its error once stopped or at once
		then     error
		wantErr  []string
		wantFail bool
	}{
		{name: "clean", parts: map[string]error{"a": nil, "b": nil}},
		{name: "one part fails", parts: map[string]error{"metrics": errors.New("address in use"), "b": nil},
			wantErr: []string{"metrics: address in use"}, wantFail: true},
		{name: "two parts fail", parts: map[string]error{"web": errors.New("x"), "quic": errors.New("y")},
			wantErr: []string{"web: x", "quic: y"}, wantFail: true},
		{name: "then step fails", parts: map[string]error{"a": nil}, then: errors.New("disk full"),
			wantErr: []string{"s: disk full"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := New()
			s := g.Stage("s")
			var failing sync.WaitGroup
			for name, err := range tc.parts {
				if err != nil {
					failing.Add(1)
					s.Go(name, func(context.Context) error { defer failing.Done(); return err })
				} else {
					s.Go(name, func(ctx context.Context) error { <-ctx.Done(); return nil })
				}
			}
			if tc.then != nil {
				s.Then(func(context.Context) error { return tc.then })
			}
			failing.Wait()
			select {
			case <-g.Failed():
				if !tc.wantFail {
					t.Errorf("Failed closed without a failing part: %v", g.Err())
				}
			default:
				if tc.wantFail {
					t.Error("Failed not closed after a part returned an error")
				}
			}
			err := g.Stop(context.Background())
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Stop: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Stop returned nil, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Stop error %q lacks %q", err, w)
				}
			}
			if again := g.Stop(context.Background()); again == nil || again.Error() != err.Error() {
				t.Errorf("second Stop = %v, want the first's %v", again, err)
			}
		})
	}
}

// The stop function of one part stops and waits for that part only (the
// agent's scheduler is replaced this way on a reload).
func TestStopOnePart(t *testing.T) {
	var r recorder
	var started sync.WaitGroup
	g := New()
	s := g.Stage("polls")
	stopOld := s.Go("scheduler 1", part(&r, "scheduler 1", &started))
	s.Go("other", part(&r, "other", &started))
	started.Wait()
	stopOld()
	stopOld() // again: nothing
	if got, want := r.list(), []string{"scheduler 1 stopped"}; !slices.Equal(got, want) {
		t.Fatalf("after stopping one part: %v, want %v", got, want)
	}
	if s.Context().Err() != nil {
		t.Fatal("stopping one part ended the stage")
	}
	s.Go("scheduler 2", part(&r, "scheduler 2", &started))
	started.Wait()
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := r.list()
	slices.Sort(got[1:])
	if want := []string{"scheduler 1 stopped", "other stopped", "scheduler 2 stopped"}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

// A stage added or a part started after Stop starts stopped: nothing
// outlives the group.
func TestAfterStop(t *testing.T) {
	g := New()
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := g.Stage("late")
	if s.Context().Err() == nil {
		t.Fatal("stage added after Stop is running")
	}
	stop := s.Go("late part", func(ctx context.Context) error { <-ctx.Done(); return nil })
	stop() // returns: the part saw an ended context
}

// Package lifecycle starts a process's long-lived parts in stages and stops
// them in order, the shape both outpost-agent (agent/run) and
// outpost-collector (collector/run) need: the parts that produce work stop
// first and are waited for, so that what they handed on is finished by the
// parts stopped after them.
//
// A Group holds stages in the order they were added. Each stage has its own
// context, which ends only when the stage is stopped (not when the
// process's context ends: the caller decides when to stop, usually after
// that context ends or a part failed). Stop cancels the first stage, waits
// for its goroutines, runs its Then steps, then does the same for the next
// stage, and so on.
//
//	g := lifecycle.New()
//	ingest, apply := g.Stage("ingest"), g.Stage("apply")
//	ingest.Go("quic listener", srv.ServeQUIC)
//	apply.Go("applier", app.Run)
//	apply.Then(app.Checkpoint)
//	select { case <-ctx.Done(): case <-g.Failed(): }
//	err := g.Stop(context.WithoutCancel(ctx))
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Group is an ordered set of stages. Its methods may be called from any
// goroutine; Stop is idempotent (a deferred Stop after an explicit one
// does nothing).
type Group struct {
	mu      sync.Mutex
	stages  []*Stage
	errs    []error // failures of parts, in the order they happened
	failed  chan struct{}
	stopped bool
	stopErr error
}

// New returns an empty group.
func New() *Group {
	return &Group{failed: make(chan struct{})}
}

// Stage is one lifetime within a Group: goroutines started with Go share
// a context that ends when the stage is stopped.
type Stage struct {
	g      *Group
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	then   []func(context.Context) error
}

// Stage adds a stage named name (for error messages). Stages stop in the
// order they were added.
func (g *Group) Stage(name string) *Stage {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stage{g: g, name: name, ctx: ctx, cancel: cancel}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		cancel() // a stage added after Stop starts stopped
	}
	g.stages = append(g.stages, s)
	return s
}

// Failed is closed when a part started with Go returned an error.
func (g *Group) Failed() <-chan struct{} { return g.failed }

// Err returns the failures of parts so far, joined (nil if none).
func (g *Group) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}

func (g *Group) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) == 0 {
		close(g.failed)
	}
	g.errs = append(g.errs, err)
}

// Stop stops the stages in the order they were added: it cancels a stage's
// context, waits for its goroutines, then runs its Then steps with ctx
// before going on to the next stage. It returns the parts' failures and the
// Then steps' errors, joined. Calls after the first return the first's
// result without doing anything.
func (g *Group) Stop(ctx context.Context) error {
	g.mu.Lock()
	if g.stopped {
		err := g.stopErr
		g.mu.Unlock()
		return err
	}
	g.stopped = true
	stages := g.stages
	g.mu.Unlock()
	var errs []error
	for _, s := range stages {
		s.cancel()
		s.wg.Wait()
		g.mu.Lock()
		then := s.then
		g.mu.Unlock()
		for _, f := range then {
			if err := f(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			}
		}
	}
	err := errors.Join(g.Err(), errors.Join(errs...))
	g.mu.Lock()
	g.stopErr = err
	g.mu.Unlock()
	return err
}

// Context is the stage's context: it ends when the stage is stopped.
func (s *Stage) Context() context.Context { return s.ctx }

// Go runs f in a goroutine with a context that ends when the stage is
// stopped or when the returned stop function is called. A non-nil error
// from f is recorded as a failure of the group, prefixed with name, and
// closes Failed; a part that only logs its errors returns nil. The stop
// function cancels f's context and waits for f to return (used to replace
// one part while the rest runs, such as the agent's scheduler on a
// reload); calling it again does nothing. Go on a stopped stage runs f
// with a context that has already ended.
func (s *Stage) Go(name string, f func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		if err := f(ctx); err != nil {
			s.g.fail(fmt.Errorf("%s: %w", name, err))
		}
	}()
	return func() { cancel(); <-done }
}

// Then adds a step run by Stop once the stage's goroutines have returned
// and before the next stage is stopped (such as the collector's checkpoint
// once the applier has stopped). Steps run in the order added.
func (s *Stage) Then(f func(context.Context) error) {
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	s.then = append(s.then, f)
}

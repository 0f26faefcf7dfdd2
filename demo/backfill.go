package demo

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/agent/batch"
	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/snmp"
	"github.com/outpost-nms/outpost/agent/spool"
)

// demoClock is the simulators' clock: virtual while history is backfilled,
// then the real time. Devices started before the backfill began.
type demoClock struct {
	mu      sync.Mutex
	virtual time.Time
	live    bool
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live {
		return time.Now()
	}
	return c.virtual
}

func (c *demoClock) set(t time.Time) {
	c.mu.Lock()
	c.virtual = t
	c.mu.Unlock()
}

func (c *demoClock) goLive() {
	c.mu.Lock()
	c.live = true
	c.mu.Unlock()
}

// backfill pre-loads history through the real path: the agent's own SNMP
// and NTP pollers poll the simulated site at past times (the simulators and
// the pollers share a virtual clock that steps one poll interval at a time),
// their reports go through the agent's batcher into the agent's spool, and
// the agent process started afterwards streams that spool to the collector
// like any backlog. Nothing is written into the archives directly.
func (e *Env) backfill(ctx context.Context, clock *demoClock, from time.Time, progress io.Writer) error {
	cfg, err := config.Load(e.AgentConfig)
	if err != nil {
		return fmt.Errorf("demo: backfill: %w", err)
	}
	sp, err := spool.Open(spool.Options{Dir: cfg.Spool.Dir, MaxBytes: int64(cfg.Spool.MaxBytes), Logger: e.opts.Logger})
	if err != nil {
		return fmt.Errorf("demo: backfill: %w", err)
	}
	defer func() { _ = sp.Close() }()
	b, err := batch.New(sp, batch.Options{Logger: e.opts.Logger})
	if err != nil {
		return fmt.Errorf("demo: backfill: %w", err)
	}
	var targets []poll.Target
	for _, tc := range cfg.SNMP {
		t, err := snmp.New(tc, snmp.Options{Defaults: cfg.Defaults, Logger: e.opts.Logger, Now: clock.Now})
		if err != nil {
			return fmt.Errorf("demo: backfill: %w", err)
		}
		targets = append(targets, t)
	}
	for _, tc := range cfg.NTP {
		t, err := ntp.NewTarget(tc, ntp.TargetOptions{Logger: e.opts.Logger, Now: clock.Now})
		if err != nil {
			return fmt.Errorf("demo: backfill: %w", err)
		}
		targets = append(targets, t)
	}
	defer closeTargets(targets)

	// Poll round after round until the virtual clock has caught up with
	// the real one, so the live polls continue without a gap.
	step := e.opts.PollInterval
	total := time.Since(from)
	lastReport := -1
	for t := from; time.Until(t) < -step; t = t.Add(step) {
		if err := ctx.Err(); err != nil {
			return err
		}
		clock.set(t)
		e.Site.Step(t)
		var wg sync.WaitGroup
		for _, tg := range targets {
			wg.Add(1)
			go func(tg poll.Target) {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_ = tg.Poll(pctx, b) // failures are reported through the sink, as when live
			}(tg)
		}
		wg.Wait()
		if pct := int(100 * t.Sub(from) / total); progress != nil && pct/10 > lastReport {
			lastReport = pct / 10
			fmt.Fprintf(progress, "  backfill: %3d%% (%s)\n", min(pct, 100), t.Format("15:04"))
		}
	}
	b.Flush()
	return nil
}

func closeTargets(ts []poll.Target) {
	for _, t := range ts {
		if c, ok := t.(io.Closer); ok {
			c.Close()
		}
	}
}

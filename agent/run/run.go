// Package run wires the agent together: configuration → targets (SNMP,
// NTP) → scheduler → batcher → spool → uplink, plus the optional metrics
// endpoint.
//
// Shutdown order on cancel: the scheduler stops starting polls and waits
// for those in flight; the batcher cuts the last batch; the uplink closes
// its connection; the spool fsyncs and closes. Nothing polled before the
// cancel is lost: it is in the spool, sent on the next start.
package run

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"

	"github.com/outpost-nms/outpost/agent/batch"
	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/schedule"
	"github.com/outpost-nms/outpost/agent/snmp"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/agent/trap"
	"github.com/outpost-nms/outpost/agent/uplink"
	"github.com/outpost-nms/outpost/shared/buildinfo"
	"github.com/outpost-nms/outpost/shared/lifecycle"
)

// Options are what Run takes besides the configuration (tests).
type Options struct {
	// Metrics to fill; default a new set.
	Metrics *metrics.Agent
	// OnSession observes the uplink's sessions.
	OnSession func(uplink.Event)
	// Reload delivers re-read configurations (SIGHUP). What can change
	// while running is applied (targets: added, removed, changed;
	// unchanged targets keep their state); a change of the agent's name,
	// collector, spool or metrics settings is logged as needing a restart.
	Reload <-chan *config.Config
	// Embedded leaves the process-wide runtime settings alone (tests that
	// run the agent inside a larger process): the soft memory limit
	// (memory_limit) and the heap profiling rate are not set. See memory.go.
	Embedded bool
}

// Run runs the agent until ctx ends. It returns an error when a part cannot
// start (certificates, spool directory, a target's settings, the metrics
// address); once running, failures are logged and retried, not returned.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	return RunWith(ctx, cfg, log, Options{})
}

// RunWith is Run with Options.
func RunWith(ctx context.Context, cfg *config.Config, log *slog.Logger, opt Options) (err error) {
	tc, err := ClientTLS(cfg.Collector)
	if err != nil {
		return err
	}
	m := opt.Metrics
	if m == nil {
		m = metrics.New()
	}
	sp, err := spool.Open(spool.Options{
		Dir:           cfg.Spool.Dir,
		SegmentBytes:  int64(cfg.Spool.SegmentBytes),
		MaxBytes:      int64(cfg.Spool.MaxBytes),
		MaxAge:        cfg.Spool.MaxAge.D(),
		FsyncInterval: cfg.Spool.FsyncInterval.D(),
		Logger:        log,
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sp.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := m.WatchSpool(sp); err != nil {
		return err
	}
	first, last, acked := sp.Bounds()
	log.Info("spool open", "dir", cfg.Spool.Dir, "epoch", fmt.Sprintf("%016x", sp.Epoch()), "first_seq", first, "last_seq", last, "acked_seq", acked, "series", sp.Registry().Len())

	targets, err := Targets(cfg, log)
	if err != nil {
		return err
	}
	defer func() { closeTargets(targets) }()
	b, err := batch.New(sp, batch.Options{Interval: cfg.Spool.BatchInterval.D(), Logger: log, Metrics: m})
	if err != nil {
		return err
	}
	up, err := uplink.New(uplink.Config{
		Agent: cfg.Name, Software: buildinfo.String("outpost-agent"),
		Addr: cfg.Collector.Address, TCPAddr: cfg.Collector.TCPFallback, TLS: tc,
		KeepAlive: cfg.Collector.KeepAlive.D(), IdleTimeout: cfg.Collector.IdleTimeout.D(),
		BackoffMin: cfg.Collector.ReconnectMin.D(), BackoffMax: cfg.Collector.ReconnectMax.D(),
		Logger: log, Metrics: m, OnSession: opt.OnSession,
	}, sp)
	if err != nil {
		return err
	}
	sched := schedule.New(targets, b, schedule.Config{MaxConcurrent: cfg.Scheduler.MaxConcurrent, Logger: log})
	traps, err := startTraps(ctx, cfg, b, sp, m, log)
	if err != nil {
		return err
	}

	// Stages, stopped in this order: the scheduler (polls in flight
	// report), the trap receiver (traps received are in the batcher), the
	// batcher (the last batch is in the spool), the uplink, then the
	// metrics endpoint and the memory governor.
	g := lifecycle.New()
	defer g.Stop(context.Background())
	polls, trapStage, batcher, uplinkStage, process := g.Stage("polls"), g.Stage("traps"), g.Stage("batcher"), g.Stage("uplink"), g.Stage("process")
	if cfg.Metrics.Listen != "" {
		process.Go("metrics", func(ctx context.Context) error { return m.Serve(ctx, cfg.Metrics.Listen, log) })
	}
	batcher.Go("batcher", func(ctx context.Context) error { b.Run(ctx); return nil })
	uplinkStage.Go("uplink", func(ctx context.Context) error { _ = up.Run(ctx); return nil })
	if traps != nil {
		trapStage.Go("trap receiver", func(ctx context.Context) error {
			if err := traps.Run(ctx); err != nil {
				log.Error("trap receiver", "err", err)
			}
			return nil
		})
	}
	var mem *memoryGovernor
	if !opt.Embedded {
		// The agent serves no profiles: the heap profile's records of
		// allocation sites (1.4 MB with 1,000 targets) are pure cost.
		runtime.MemProfileRate = 0
		mem = newMemoryGovernor(cfg, log, os.Getenv("GOMEMLIMIT") != "")
		mem.start()
		process.Go("memory governor", func(ctx context.Context) error { mem.run(ctx); return nil })
	}
	log.Info("agent running", "name", cfg.Name, "collector", cfg.Collector.Address, "tcp_fallback", cfg.Collector.TCPFallback, "targets", len(targets))

	runSched := func(s *schedule.Scheduler) func() {
		return polls.Go("scheduler", func(ctx context.Context) error { _ = s.Run(ctx); return nil })
	}
	stopSched := runSched(sched)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-g.Failed():
			break loop
		case next := <-opt.Reload:
			if next == nil {
				continue
			}
			kept, fresh, err := reloadTargets(cfg, next, targets, log)
			if err != nil {
				log.Error("reload: configuration not applied; the previous one stays in force", "err", err)
				continue
			}
			warnRestartNeeded(cfg, next, log)
			// Swap the scheduler: polls in flight finish and report first.
			stopSched()
			closeTargets(dropped(targets, kept))
			targets = append(kept, fresh...)
			cfg = withTargets(cfg, next)
			if mem != nil {
				mem.reload(cfg)
			}
			sched = schedule.New(targets, b, schedule.Config{MaxConcurrent: next.Scheduler.MaxConcurrent, Logger: log})
			stopSched = runSched(sched)
			if traps != nil {
				ts, unresolved := trap.NewTargets(ctx, next.SNMP)
				traps.SetTargets(ts)
				if len(unresolved) > 0 {
					log.Warn("traps: target names that did not resolve; their traps are attributed by trap_sources only", "targets", unresolved)
				}
			}
			log.Info("reload: configuration applied", "targets", len(targets), "kept", len(kept), "new", len(fresh))
		}
	}
	runErr := g.Stop(context.Background())
	log.Info("agent stopped", "lost_batches", b.Lost())
	return runErr
}

// closeTargets releases the targets' sockets.
func closeTargets(ts []poll.Target) {
	for _, t := range ts {
		if c, ok := t.(io.Closer); ok {
			c.Close()
		}
	}
}

// Targets builds the pollers of the configuration, SNMP devices first.
func Targets(cfg *config.Config, log *slog.Logger) ([]poll.Target, error) {
	var out []poll.Target
	for _, tc := range cfg.SNMP {
		t, err := snmp.New(tc, snmp.Options{Defaults: cfg.Defaults, Logger: log})
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	clock := &ntp.LocalClock{} // the agent's own sync state, shared by the sntp targets
	for _, tc := range cfg.NTP {
		t, err := ntp.New(tc, ntp.TargetOptions{Logger: log, LocalClock: clock})
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ClientTLS loads the agent's certificate and the collector CA named in the
// configuration.
func ClientTLS(c config.Collector) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("agent certificate %s / key %s: %w (enroll first: outpost-agent enroll)", c.Cert, c.Key, err)
		}
		return nil, fmt.Errorf("agent certificate %s / key %s: %w", c.Cert, c.Key, err)
	}
	caPEM, err := os.ReadFile(c.CA)
	if err != nil {
		return nil, fmt.Errorf("collector CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("collector CA %s: no PEM certificate", c.CA)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: c.ServerName, MinVersion: tls.VersionTLS13}, nil
}

package run

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/configfile"
)

// The soft memory limit (config memory_limit, runtime/debug.SetMemoryLimit).
//
// Without a limit the Go runtime lets the heap grow to twice what is live
// before it collects (GOGC=100), and that doubling is most of the agent's
// resident memory. A limit makes it collect before the heap passes the
// limit instead; with a limit that leaves little room above the live heap
// it collects very often, up to the runtime's cap of about half the CPU.
// So the default limit (config.DefaultMemoryLimit: for the number of
// targets) gives way when the live heap outgrows it: every
// memoryCheckInterval, while the live heap is above raiseAt of the default,
// the limit applied is twice the live heap plus config.MemoryLimitBase
// (what GOGC=100 would give, plus the runtime's own memory), and it is the
// default again once the live heap is back under. A limit set in the file
// is kept, with a warning. Precedence: memory_limit in the file, then a
// GOMEMLIMIT in the environment (left to the runtime, never raised), then
// the default.

const (
	memoryCheckInterval = 30 * time.Second
	raiseAt             = 0.7
)

// memoryLimit holds the limit the agent applies and whether it is the
// default (which may be raised).
type memoryLimit struct {
	bytes    int64
	explicit bool // memory_limit was set in the configuration
	env      bool // no memory_limit, GOMEMLIMIT set: the runtime's limit stays
}

// memoryLimitOf is the limit cfg asks for; env reports GOMEMLIMIT set.
func memoryLimitOf(cfg *config.Config, env bool) memoryLimit {
	if cfg.MemoryLimit == 0 && env {
		return memoryLimit{env: true}
	}
	return memoryLimit{bytes: cfg.EffectiveMemoryLimit(), explicit: cfg.MemoryLimit != 0}
}

// target is the limit to apply with this live heap: the limit itself, or
// a raised default (see above). warn reports an explicit limit the live
// heap has outgrown.
func (m memoryLimit) target(live int64) (limit int64, warn bool) {
	if float64(live) <= raiseAt*float64(m.bytes) {
		return m.bytes, false
	}
	if m.explicit {
		return m.bytes, true
	}
	const mib = 1 << 20
	return (2*live + config.MemoryLimitBase + mib - 1) &^ (mib - 1), false
}

// liveHeap reads the live heap of the last completed GC cycle.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// memoryGovernor applies the limit and keeps it above the live heap. Its
// methods are called from RunWith's goroutine and its own run loop, under
// no lock: the limit is swapped through set only.
type memoryGovernor struct {
	log     *slog.Logger
	limits  chan memoryLimit // a reload's new limit
	prev    int64            // the process's limit before RunWith
	live    func() int64
	set     func(int64) int64
	warned  bool
	env     bool        // GOMEMLIMIT is set in the environment
	current memoryLimit // configured
	applied int64       // in force
}

// newMemoryGovernor governs the limit cfg asks for; env reports GOMEMLIMIT
// set in the process's environment.
func newMemoryGovernor(cfg *config.Config, log *slog.Logger, env bool) *memoryGovernor {
	return &memoryGovernor{log: log, limits: make(chan memoryLimit, 1), live: liveHeap, set: debug.SetMemoryLimit,
		env: env, current: memoryLimitOf(cfg, env)}
}

// start applies the configured limit and remembers the previous one.
func (g *memoryGovernor) start() {
	if g.current.env {
		g.prev = g.set(-1) // reads the limit without changing it
		g.applied = g.prev
		g.log.Info("memory limit from GOMEMLIMIT", "limit", configfile.Size(g.prev).String())
		return
	}
	g.applied = g.current.bytes
	g.prev = g.set(g.applied)
	g.log.Info("memory limit", "limit", configfile.Size(g.current.bytes).String(), "default", !g.current.explicit)
}

// reload hands a reloaded configuration's limit to run.
func (g *memoryGovernor) reload(cfg *config.Config) {
	m := memoryLimitOf(cfg, g.env)
	select {
	case <-g.limits:
	default:
	}
	g.limits <- m
}

// run checks the live heap every memoryCheckInterval until ctx ends, then
// restores the limit the process had before start.
func (g *memoryGovernor) run(ctx context.Context) {
	defer g.set(g.prev)
	t := time.NewTicker(memoryCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-g.limits:
			if m != g.current {
				g.current, g.warned, g.applied = m, false, m.bytes
				if m.env {
					g.applied = g.prev
				}
				g.set(g.applied)
				g.log.Info("reload: memory limit", "limit", configfile.Size(g.applied).String(), "default", !m.explicit && !m.env, "gomemlimit", m.env)
			}
		case <-t.C:
			g.check()
		}
	}
}

// check raises a default limit the live heap has outgrown (or returns to
// it), or warns once about an explicit one.
func (g *memoryGovernor) check() {
	if g.current.env {
		return
	}
	live := g.live()
	limit, warn := g.current.target(live)
	if warn && !g.warned {
		g.warned = true
		g.log.Warn("memory_limit leaves little room above the live heap: the garbage collector runs often; raise it", "limit", configfile.Size(g.current.bytes).String(), "live_heap", live)
	}
	if limit != g.applied {
		msg := "memory limit raised: the live heap outgrew the default"
		if limit == g.current.bytes {
			msg = "memory limit back to the default"
		}
		g.log.Info(msg, "limit", configfile.Size(limit).String(), "default", configfile.Size(g.current.bytes).String(), "live_heap", live)
		g.applied = limit
		g.set(limit)
	}
}

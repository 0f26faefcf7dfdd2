package run

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
)

// TestMemoryLimitTarget: a default limit gives way while the live heap is
// above 70% of it, to twice the live heap plus the base (rounded up to a
// MiB); a limit from the file is kept and warned about.
func TestMemoryLimitTarget(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name     string
		limit    memoryLimit
		live     int64
		want     int64
		wantWarn bool
	}{
		{"default, room left", memoryLimit{bytes: 28 * mib}, 14 * mib, 28 * mib, false},
		{"default, at 70%", memoryLimit{bytes: 100 * mib}, 70 * mib, 100 * mib, false},
		{"default, above 70%", memoryLimit{bytes: 100 * mib}, 70*mib + 1, 141*mib + config.MemoryLimitBase, false},
		{"default, outgrown", memoryLimit{bytes: 28 * mib}, 20 * mib, 40*mib + config.MemoryLimitBase, false},
		{"default, rounded up", memoryLimit{bytes: 28 * mib}, 20*mib + 1, 41*mib + config.MemoryLimitBase, false},
		{"explicit, room left", memoryLimit{bytes: 64 * mib, explicit: true}, 30 * mib, 64 * mib, false},
		{"explicit, outgrown", memoryLimit{bytes: 64 * mib, explicit: true}, 50 * mib, 64 * mib, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warn := tc.limit.target(tc.live)
			if got != tc.want || warn != tc.wantWarn {
				t.Errorf("target(%d) = %d, warn %v; want %d, %v", tc.live, got, warn, tc.want, tc.wantWarn)
			}
		})
	}
}

// TestMemoryGovernor: the limit is applied at start (default for the
// targets, or memory_limit), raised or warned about by check, replaced by
// a reload, and the process's previous limit is restored when run ends.
func TestMemoryGovernor(t *testing.T) {
	const mib = 1 << 20
	var logs strings.Builder
	applied := []int64{}
	limit := int64(1 << 62)
	live := int64(0)
	cfg := &config.Config{SNMP: make([]config.SNMPTarget, 1000)}
	g := newMemoryGovernor(cfg, slog.New(slog.NewTextHandler(&logs, nil)), false)
	g.live = func() int64 { return live }
	g.set = func(n int64) int64 {
		prev := limit
		limit = n
		applied = append(applied, n)
		return prev
	}
	g.start()
	if limit != config.DefaultMemoryLimit(1000) || !strings.Contains(logs.String(), "default=true") {
		t.Fatalf("start applied %d, want the default for 1,000 targets; log %s", limit, logs.String())
	}
	live = 14 * mib
	g.check()
	if limit != config.DefaultMemoryLimit(1000) {
		t.Errorf("check raised the limit with room left: %d", limit)
	}
	live = 30 * mib
	g.check()
	if limit != 60*mib+config.MemoryLimitBase || !strings.Contains(logs.String(), "memory limit raised") {
		t.Errorf("check left %d with the live heap at 30 MiB; log %s", limit, logs.String())
	}
	live = 10 * mib
	g.check()
	if limit != config.DefaultMemoryLimit(1000) || !strings.Contains(logs.String(), "back to the default") {
		t.Errorf("check kept %d with the live heap back at 10 MiB, want the default", limit)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.run(ctx) }()
	g.reload(&config.Config{MemoryLimit: 40 * mib})
	cancel()
	<-done
	// the reload may or may not have been taken before the cancel; the
	// previous limit is restored either way
	if limit != 1<<62 {
		t.Errorf("limit %d after run, want the previous one back", limit)
	}
	if n := len(applied); n != 5 && n != 4 {
		t.Errorf("applied %v", applied)
	}

	// an explicit limit the live heap outgrows: kept, one warning
	g = newMemoryGovernor(&config.Config{MemoryLimit: 40 * mib}, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	var warned strings.Builder
	g.log = slog.New(slog.NewTextHandler(&warned, nil))
	g.live = func() int64 { return 30 * mib }
	g.set = func(n int64) int64 { limit = n; return 0 }
	g.start()
	g.check()
	g.check()
	if limit != 40*mib || strings.Count(warned.String(), "level=WARN") != 1 {
		t.Errorf("explicit limit: %d, log %s", limit, warned.String())
	}
}

// TestMemoryGovernorLeavesGOMEMLIMIT: with GOMEMLIMIT in the environment
// and no memory_limit, the runtime's limit stays (never raised); a
// memory_limit from a reload is applied, and dropping it again brings the
// environment's limit back.
func TestMemoryGovernorLeavesGOMEMLIMIT(t *testing.T) {
	const mib = 1 << 20
	logs := &logBuf{}
	var limit atomic.Int64
	limit.Store(50 * mib) // as GOMEMLIMIT=50MiB set it
	cfg := &config.Config{SNMP: make([]config.SNMPTarget, 1000)}
	g := newMemoryGovernor(cfg, slog.New(slog.NewTextHandler(logs, nil)), true)
	g.live = func() int64 { return 45 * mib }
	g.set = func(n int64) int64 {
		if n < 0 {
			return limit.Load()
		}
		return limit.Swap(n)
	}
	g.start()
	g.check()
	if limit.Load() != 50*mib || !strings.Contains(logs.String(), "from GOMEMLIMIT") {
		t.Fatalf("limit %d after start and check, want GOMEMLIMIT's 50 MiB; log %s", limit.Load(), logs.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.run(ctx) }()
	waitLimit := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for limit.Load() != want {
			if time.Now().After(deadline) {
				t.Fatalf("limit %d, want %d; log %s", limit.Load(), want, logs.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	g.reload(&config.Config{MemoryLimit: 40 * mib})
	waitLimit(40 * mib)
	g.reload(cfg)
	waitLimit(50 * mib)
	cancel()
	<-done
	if limit.Load() != 50*mib {
		t.Errorf("limit %d at the end, want GOMEMLIMIT's 50 MiB", limit.Load())
	}
}

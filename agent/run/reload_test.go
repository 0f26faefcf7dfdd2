package run

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	agentenroll "github.com/outpost-nms/outpost/agent/enroll"
	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/uplink"
)

// TestReloadAppliesTargetsAndKeepsRunning: a reload adds a device while the
// unchanged one keeps polling; a reload that changes the collector logs that
// a restart is needed; a reload that removes a device stops its polls. The
// memory limit is applied at the start and by every reload, and the
// process's own limit is back when Run returns.
func TestReloadAppliesTargetsAndKeepsRunning(t *testing.T) {
	col := startCollector(t)
	dir := t.TempDir()
	eo := enrollAgent(t, col, "site1", dir)
	if _, err := agentenroll.Run(context.Background(), eo); err != nil {
		t.Fatal(err)
	}
	port1, port2 := startDevice(t), startDevice(t)
	cfg := agentConfig(t, col, eo, dir, port1)
	cfg.MemoryLimit = 1 << 30 // large: the test process is more than the agent
	withSecond := withDevice(t, cfg, "edge2", port2)
	withSecond.MemoryLimit = 2 << 30
	processLimit := debug.SetMemoryLimit(-1)

	reload := make(chan *config.Config, 1)
	logs := &logBuf{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunWith(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), Options{Metrics: metrics.New(), Reload: reload,
			OnSession: func(uplink.Event) {}})
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v", err)
			}
		})
	}
	t.Cleanup(stop)

	hostSeen := func(host string, after int) func() bool {
		return func() bool {
			recs := col.sink.snapshot()
			for _, r := range recs[min(after, len(recs)):] {
				for _, u := range r.Updates {
					if u.Host == host {
						return true
					}
				}
			}
			return false
		}
	}
	waitUntil(t, "samples of edge1", 20*time.Second, hostSeen("edge1", 0), logs)
	if got := debug.SetMemoryLimit(-1); got != 1<<30 || !strings.Contains(logs.String(), "memory limit\" limit=1GiB default=false") {
		t.Errorf("memory limit %d while running, want 1GiB logged", got)
	}

	reload <- withSecond
	waitUntil(t, "the reload applied", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "reload: configuration applied") && strings.Contains(logs.String(), "kept=1 new=1")
	}, logs)
	waitUntil(t, "samples of edge2 after the reload", 20*time.Second, hostSeen("edge2", 0), logs)
	waitUntil(t, "the reloaded memory limit", 10*time.Second, func() bool {
		return debug.SetMemoryLimit(-1) == 2<<30 && strings.Contains(logs.String(), "reload: memory limit\" limit=2GiB")
	}, logs)
	mark := len(col.sink.snapshot())
	waitUntil(t, "edge1 still polled after the reload", 20*time.Second, hostSeen("edge1", mark), logs)

	moved := *cfg
	moved.Collector.Address = "127.0.0.1:1"
	moved.SNMP = cfg.SNMP // edge2 removed again
	reload <- &moved
	waitUntil(t, "the restart warning and the second reload", 10*time.Second, func() bool {
		l := logs.String()
		return strings.Contains(l, "this setting changes only after a restart") &&
			strings.Contains(l, "section=collector") && strings.Count(l, "reload: configuration applied") == 2
	}, logs)
	// The scheduler is swapped only after edge2's polls in flight have
	// reported, so no edge2 sample can be timed after this point.
	appliedAt := time.Now().UnixMilli()
	polledAfter := func(host string) bool {
		for _, r := range col.sink.snapshot() {
			for _, u := range r.Updates {
				if u.Host == host && u.Time > appliedAt+1000 {
					return true
				}
			}
		}
		return false
	}
	waitUntil(t, "edge1 polled after edge2 was removed", 20*time.Second, func() bool { return polledAfter("edge1") }, logs)
	for _, r := range col.sink.snapshot() {
		for _, u := range r.Updates {
			if u.Host == "edge2" && u.Time > appliedAt {
				t.Fatalf("edge2 polled at %d, after it was removed (%d)", u.Time, appliedAt)
			}
		}
	}
	stop()
	if got := debug.SetMemoryLimit(-1); got != processLimit {
		t.Errorf("memory limit %d after Run returned, want the process's %d back", got, processLimit)
	}
}

// withDevice returns cfg plus one more SNMP device.
func withDevice(t *testing.T, cfg *config.Config, name string, port int) *config.Config {
	t.Helper()
	next := *cfg
	next.SNMP = append(append([]config.SNMPTarget(nil), cfg.SNMP...), cfg.SNMP[0])
	next.SNMP[len(next.SNMP)-1].Name = name
	next.SNMP[len(next.SNMP)-1].Port = port
	return &next
}

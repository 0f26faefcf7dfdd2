package run

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	agentenroll "github.com/outpost-nms/outpost/agent/enroll"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
)

// BenchmarkRunHeap1000Targets runs the agent in-process against 1,000
// simulated devices (8 interfaces each) and a real collector ingest, waits
// for the first round of polls to be spooled and acknowledged, then
// reports the live heap after a GC (the figure behind the agent's RSS:
// the runtime lets the heap grow to about twice the live heap). Set
// OUTPOST_HEAP_PROFILE=file to write the heap profile at that moment
// (go tool pprof -top -inuse_space file).
//
// It runs only with OUTPOST_BENCH_HEAP=1: it takes over a minute and starts
// 1,000 simulated devices in the test process. (Its teardown used to hang:
// it took Run's result from a.done, and then startAgent's cleanup waited
// on a.done forever.)
func BenchmarkRunHeap1000Targets(b *testing.B) {
	if os.Getenv("OUTPOST_BENCH_HEAP") == "" {
		b.Skip("set OUTPOST_BENCH_HEAP=1 to run (profiling aid; see the doc comment)")
	}
	targets := 1000
	if n, err := strconv.Atoi(os.Getenv("OUTPOST_BENCH_TARGETS")); err == nil && n > 0 {
		targets = n // a smaller run while profiling
	}
	for i := 0; i < b.N; i++ {
		col := startCollector(b)
		dir := b.TempDir()
		eo := enrollAgent(b, col, "site1", dir)
		if _, err := agentenroll.Run(context.Background(), eo); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var sb strings.Builder
		fmt.Fprintf(&sb, `name: %s
collector:
  address: %s
  server_name: localhost
  ca: %s
  cert: %s
  key: %s
spool:
  dir: %s
snmp:
`, eo.Name, col.quicAddr, eo.CAPath, eo.CertPath, eo.KeyPath, filepath.Join(dir, "spool"))
		for d := 0; d < targets; d++ {
			dev, err := snmpsim.New(snmpsim.Config{SysName: fmt.Sprintf("edge-%04d", d), Community: "public", Interfaces: snmpsim.GenerateInterfaces(8, int64(d))})
			if err != nil {
				b.Fatal(err)
			}
			addr, err := dev.ListenAndServe(ctx, "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&sb, "  - name: edge-%04d\n    address: 127.0.0.1\n    port: %d\n    community: public\n    version: 2c\n    host_resources: true\n    interval: 60s\n", d, addr.(*net.UDPAddr).Port)
		}
		cfg, err := config.Parse("agent.yaml", []byte(sb.String()))
		if err != nil {
			b.Fatal(err)
		}
		a := startAgent(b, cfg)
		// every first poll starts within one interval (jitter), so after
		// 70 s every target has been discovered and polled at least once
		time.Sleep(70 * time.Second)
		last := counter(b, a, "outpost_agent_samples_spooled_total")
		if last == 0 {
			b.Fatalf("nothing spooled; log:\n%s", a.logs.String())
		}
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/1e6, "live-heap-MB")
		b.ReportMetric(last, "samples")
		if p := os.Getenv("OUTPOST_HEAP_PROFILE"); p != "" {
			f, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.WriteHeapProfile(f); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		a.cancel()
		if err := <-a.done; err != nil {
			b.Errorf("Run returned %v", err)
		}
		a.done <- nil // startAgent's cleanup receives it too (as stop does)
		cancel()
	}
}

package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/sim/site"
)

// BenchmarkAgentRSS1000Targets measures the design target "agent memory
// < 40 MB RSS with 1,000 targets" on the real process: 1,000 simulated
// SNMP devices (8 interfaces each, each on its own loopback port) polled
// every 60 s by one `outpost-agent run`, streaming to a real collector. Once
// the collector has every host (every target polled and discovered at
// least once), the agent's resident set size (VmRSS), its peak (VmHWM) and
// the anonymous part of VmRSS (RssAnon: the Go heap, stacks and runtime;
// the rest is mostly the mapped binary) are read from /proc. It runs only
// with OUTPOST_BENCH_RSS=1 (disk use). OUTPOST_BENCH_AGENT_BIN names another
// outpost-agent binary to measure (an older build, for before and after).
func BenchmarkAgentRSS1000Targets(b *testing.B) {
	if binDir == "" {
		b.Skip("binaries not built (-short)")
	}
	if os.Getenv("OUTPOST_BENCH_RSS") == "" {
		b.Skip("set OUTPOST_BENCH_RSS=1 to run: it starts 1,000 simulated devices and writes ~20 GB of archives (8,000 interfaces x the two-year layout) to a temporary directory")
	}
	const targets = 1000
	agentBin := filepath.Join(binDir, "outpost-agent")
	if bin := os.Getenv("OUTPOST_BENCH_AGENT_BIN"); bin != "" {
		agentBin = bin
	}
	spec := site.Spec{}
	for i := 0; i < targets; i++ {
		spec.Devices = append(spec.Devices, site.Device{Name: fmt.Sprintf("dev-%04d", i), Interfaces: 8})
	}
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		dir := b.TempDir()
		if keep := os.Getenv("OUTPOST_BENCH_KEEP"); keep != "" {
			dir = keep // inspect the logs afterwards
			os.RemoveAll(dir)
		}
		e, err := Setup(ctx, Options{Dir: dir, CollectorBin: filepath.Join(binDir, "outpost-collector"),
			AgentBin: agentBin, Spec: spec, PollInterval: 60 * time.Second, WebListen: "127.0.0.1:0",
			AgentEnv: strings.Fields(os.Getenv("OUTPOST_BENCH_AGENT_ENV")), AgentConfig: agentMemoryLimit})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.StartCollector(ctx); err != nil {
			b.Fatal(err)
		}
		if err := e.StartAgent(ctx); err != nil {
			b.Fatal(err)
		}
		api := apiClient{base: e.WebURL, token: e.APIToken}
		for {
			var hosts struct {
				Items []struct {
					Name string `json:"name"`
				} `json:"items"`
			}
			if err := api.get("/api/v1/hosts", &hosts); err == nil && len(hosts.Items) >= targets {
				break
			}
			select {
			case <-ctx.Done():
				b.Fatalf("not every target polled: %v", ctx.Err())
			case <-e.Agent.Exited():
				b.Fatalf("agent exited: %v", e.Agent.Err())
			case <-time.After(time.Second):
			}
		}
		mem := procMemory(b, e.Agent.Pid())
		if os.Getenv("OUTPOST_BENCH_KEEP") != "" {
			b.Logf("agent log: %s", e.Agent.LogPath)
		}
		b.ReportMetric(mem["VmRSS"]/1e6, "RSS-MB")
		b.ReportMetric(mem["VmHWM"]/1e6, "peak-RSS-MB")
		b.ReportMetric(mem["RssAnon"]/1e6, "anon-RSS-MB")
		b.ReportMetric(procCPU(b, e.Agent.Pid()), "agent-CPU-s")
		e.Close()
		cancel()
	}
}

// agentMemoryLimit sets the agent's memory_limit to
// OUTPOST_BENCH_AGENT_MEMORY_LIMIT when that is set (e.g. 1GiB: the Go
// runtime's own pacing, to compare), and leaves the configuration as the
// demo writes it (the default limit) otherwise.
func agentMemoryLimit(cfg map[string]any) {
	if v := os.Getenv("OUTPOST_BENCH_AGENT_MEMORY_LIMIT"); v != "" {
		cfg["memory_limit"] = v
	}
}

// procMemory reads the memory fields (Vm*, Rss*) of a process's
// /proc/PID/status, in bytes.
func procMemory(b *testing.B, pid int) map[string]float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[2] != "kB" || !(strings.HasPrefix(f[0], "Vm") || strings.HasPrefix(f[0], "Rss")) {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		out[strings.TrimSuffix(f[0], ":")] = kb * 1024
	}
	if out["VmRSS"] == 0 {
		b.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return out
}

// procCPU reads the CPU time (user + system, seconds) a process has used.
func procCPU(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// fields after the command name (which is in parentheses): state is
	// field 3, utime 14, stime 15, in clock ticks (100 a second on Linux)
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		b.Fatalf("/proc/%d/stat: %q", pid, data)
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

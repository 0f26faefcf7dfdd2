package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/outpost-nms/outpost/agent/sim/site"
	"github.com/outpost-nms/outpost/demo"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// These tests run the real binaries (outpost-collector run, outpost-agent
// run) against a simulated site and break things between them: a
// collector that is down or kill -9'd, an agent kill -9'd with a full
// spool, a lossy and a UDP-blocking path, a spool over its bound, wrong
// and revoked certificates. Each proves its claim by counts: the devices
// count the Gets of a constant OID they answered (polled), and the
// archive's integral divided by the constant is what landed (see landed
// and finish in harness_test.go). Every scenario has its own installation
// in a temporary directory; -short skips them all.

// TestEndToEnd: simulated devices, one agent, the collector, all up:
// every polled sample lands exactly once.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{Devices: 2})
	r.startCollector()
	r.startAgent()
	r.waitPolls(8)
	requireExact(t, r.finish())
}

// TestCollectorDownThenUp: the agent starts first and spools while the
// collector is down; when the collector comes up, the backlog is sent and
// every sample lands exactly once.
func TestCollectorDownThenUp(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{Devices: 2})
	r.startAgent()
	r.waitPolls(6)
	m, err := r.agentMetrics()
	if err != nil {
		t.Fatal(err)
	}
	if m["outpost_agent_link_up"] != 0 || m["outpost_agent_spool_backlog_batches"] < 6 {
		t.Fatalf("collector down: link_up %v, backlog %v batches; want 0 and >= 6", m["outpost_agent_link_up"], m["outpost_agent_spool_backlog_batches"])
	}
	t.Logf("backlog while the collector was down: %v batches", m["outpost_agent_spool_backlog_batches"])
	r.startCollector()
	r.waitUntil(60*time.Second, "the backlog to be acknowledged", func() (bool, string) {
		b := r.metric("outpost_agent_spool_backlog_batches")
		return b == 0, fmt.Sprintf("backlog %v", b)
	})
	r.waitPolls(3)
	requireExact(t, r.finish())
}

// TestCollectorKill9MidIngest: the collector is killed with SIGKILL three
// times while batches are arriving (right after it acknowledged one, so
// its archive cache holds unflushed updates and its journal a tail not yet
// checkpointed), and restarted each time on the same data directory. The
// journal replay and the agent's resend must together store every sample
// exactly once.
func TestCollectorKill9MidIngest(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{Devices: 2})
	r.startCollector()
	r.startAgent()
	for i := 0; i < 3; i++ {
		a0 := r.metric("outpost_agent_batches_acked_total")
		r.waitUntil(30*time.Second, "the collector to acknowledge a new batch", func() (bool, string) {
			a := r.metric("outpost_agent_batches_acked_total")
			return a > a0, fmt.Sprintf("acked %v", a)
		})
		r.killCollector()
		r.waitPolls(2) // spooled while the collector is dead
		r.startCollector()
	}
	r.waitPolls(2)
	requireExact(t, r.finish())
	// Each restart after kill -9 found journaled batches whose archive
	// updates were never flushed (flush_interval is 30 s) and replayed them.
	replays := regexp.MustCompile(`msg="journal replayed" .*records=(\d+)`).FindAllStringSubmatch(r.log("collector.log"), -1)
	if len(replays) != 4 {
		t.Fatalf("collector started %d times, want 4 (first start, 3 restarts after kill -9)", len(replays))
	}
	for i, m := range replays[1:] {
		if n, _ := strconv.Atoi(m[1]); n == 0 {
			t.Errorf("restart %d after kill -9 replayed no journal record: the kill was not mid-ingest", i+1)
		} else {
			t.Logf("restart %d after kill -9 replayed %d journal records", i+1, n)
		}
	}
}

// TestAgentKill9WithFullSpool: the collector is down, the agent spools;
// it is killed with SIGKILL (twice, each right after a poll reported, i.e.
// while the old batcher would still have held that report in memory for
// up to its 1 s batch interval), restarted on the same spool, and only
// then does the collector start. Everything the agent polled and reported
// must land exactly once.
//
// The gap the restart leaves between two samples (250 ms after the last
// poll, the kill, exec and spool open, then the first poll within one
// interval of jitter: typically about 1 s) must stay within the heartbeat
// (2 intervals), or the first sample after it is stored unknown and the
// count is no longer exact (checkCount then checks a bound and says so).
func TestAgentKill9WithFullSpool(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{Devices: 1})
	r.startAgent()
	r.waitPolls(3)
	for k := 0; k < 2; k++ {
		r.betweenPolls(250 * time.Millisecond)
		spooled := r.metric("outpost_agent_samples_spooled_total")
		r.killAgent()
		t.Logf("kill -9 #%d: %d polls answered so far, %v samples spooled by this agent process", k+1, r.totalPolled(), spooled)
		r.startAgent()
		r.waitPolls(2)
	}
	if !strings.Contains(r.log("agent.log"), "spool open") {
		t.Fatal("agent never opened its spool")
	}
	r.startCollector()
	requireExact(t, r.finish())
}

// TestLossyPath: 10% packet loss and 100 ms one-way delay on the QUIC
// path between agent and collector, with no TCP fallback, so every batch
// crosses the impaired path. The impairment is testbed.Relay, a UDP relay
// that drops and delays datagrams: this kernel has no sch_netem, so
// `tc qdisc ... netem` is unavailable; QUIC above the relay sees real loss
// (retransmissions, congestion control) and real delay.
func TestLossyPath(t *testing.T) {
	t.Parallel()
	var relay *testbed.Relay
	r := newRig(t, rigConfig{Devices: 2, CollectorAddr: func(quic, _ string) (string, string) {
		relay = testbed.StartRelay(t, quic, testbed.Impairment{Loss: 0.10, Delay: 100 * time.Millisecond, Seed: 7})
		return relay.Addr(), ""
	}})
	r.startCollector()
	r.startAgent()
	r.waitPolls(10)
	requireExact(t, r.finish())
	dropped, passed := relay.Counts()
	t.Logf("relay: %d datagrams dropped, %d passed", dropped, passed)
	if dropped == 0 || passed == 0 {
		t.Fatalf("the relay dropped %d and passed %d datagrams: the path was not impaired", dropped, passed)
	}
}

// TestUDPBlockedFallsBackToTCP: the QUIC address is a relay that drops
// every datagram (a real blocked UDP path on loopback: the handshake
// packets leave and nothing comes back), the TCP fallback is the
// collector's TLS-over-TCP listener. Data must arrive over TCP, exactly
// once. (This is the relay variant; the network-namespace variant with
// iptables is TestUDPBlockedByIptables.)
func TestUDPBlockedFallsBackToTCP(t *testing.T) {
	t.Parallel()
	var relay *testbed.Relay
	r := newRig(t, rigConfig{Devices: 2, CollectorAddr: func(quic, tcp string) (string, string) {
		relay = testbed.StartRelay(t, quic, testbed.Impairment{Loss: 1})
		return relay.Addr(), tcp
	}})
	r.startCollector()
	r.startAgent()
	r.waitUntil(60*time.Second, "the link to come up over TCP", func() (bool, string) {
		return r.metric("outpost_agent_link_up") == 1, "link down"
	})
	r.waitPolls(5)
	requireExact(t, r.finish())
	agentLog := r.log("agent.log")
	if !strings.Contains(agentLog, "falling back to TLS over TCP") || !regexp.MustCompile(`link up" transport=tcp`).MatchString(agentLog) {
		t.Errorf("the agent log shows no fallback to TCP")
	}
	if regexp.MustCompile(`link up" transport=quic`).MatchString(agentLog) {
		t.Errorf("a QUIC link came up through a relay that drops everything")
	}
	if dropped, passed := relay.Counts(); passed != 0 || dropped == 0 {
		t.Errorf("relay passed %d and dropped %d datagrams; want 0 passed", passed, dropped)
	}
}

// TestSpoolLimitDropsOldest: the collector is down and the spool is tiny
// (two 64 KiB segments, the smallest the configuration allows) while a
// device with 200 interfaces fills it, so the spool drops its oldest
// segments. The drops are counted, reported upstream (the collector
// records the event "agent X dropped N batches"), and everything after the
// drop lands exactly once.
//
// Counting: one device is polled sequentially, so each poll is one report
// and one batch (agent/batch writes each report before the next poll can
// start). The dropped batches D are therefore exactly the oldest D polls;
// the archive is created by the first batch that survived (the collector
// never saw the dropped ones), so it must hold, with no unknown row,
// exactly polled − D samples.
func TestSpoolLimitDropsOldest(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{Devices: 1, Interfaces: 200, Agent: func(cfg map[string]any) {
		sp := cfg["spool"].(map[string]any)
		sp["segment_bytes"] = "64KiB"
		sp["max_bytes"] = "128KiB"
	}})
	r.startAgent()
	r.waitUntil(90*time.Second, "the spool to drop batches", func() (bool, string) {
		d := r.metric("outpost_agent_batches_dropped_total")
		return d >= 3, fmt.Sprintf("dropped %v batches", d)
	})
	r.waitPolls(2)
	r.startCollector()
	r.waitPolls(2)
	res := r.finish()
	// The collector's record of the drops: one event per declared gap,
	// each carrying the spool's cumulative totals.
	dev := r.devices[0]
	re := regexp.MustCompile(`^agent e2e-site dropped (\d+) batches \(.*spool totals: (\d+) batches, (\d+) samples dropped`)
	var sumGap, totalB, totalS uint64
	var events []string
	for _, e := range r.systemEvents() {
		if e.Kind != "agent-dropped" {
			continue
		}
		events = append(events, e.Message)
		m := re.FindStringSubmatch(e.Message)
		if m == nil {
			t.Fatalf("agent-dropped event %q does not say how many batches and samples", e.Message)
		}
		g, _ := strconv.ParseUint(m[1], 10, 64)
		b, _ := strconv.ParseUint(m[2], 10, 64)
		n, _ := strconv.ParseUint(m[3], 10, 64)
		sumGap += g
		totalB, totalS = max(totalB, b), max(totalS, n)
	}
	t.Logf("collector events: %q", events)
	if len(events) == 0 {
		t.Fatalf("the collector recorded no agent-dropped event")
	}
	if sumGap != totalB || totalB < 3 || totalS == 0 {
		t.Errorf("events declare %d dropped batches in gaps, the spool totals say %d batches (%d samples)", sumGap, totalB, totalS)
	}
	polled := res.Polled[dev]
	t.Logf("%s: polled %d, dropped %d batches (%d samples)", dev, polled, totalB, totalS)
	checkCount(t, dev, float64(polled-totalB), res.Landed[dev], res.Unknown[dev], res.Failed[dev])
}

// TestRefusedAgents: an agent whose certificate another CA signed, and an
// agent revoked with `outpost-collector agent revoke`, are refused by the
// collector, which logs why; the agent keeps retrying (and polling and
// spooling) without crashing.
func TestRefusedAgents(t *testing.T) {
	t.Parallel()
	t.Run("other CA", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, rigConfig{Devices: 1})
		// A second installation, never started, only for its CA and its
		// agent certificate (same agent name).
		other, err := demo.Setup(t.Context(), demo.Options{Dir: t.TempDir() + "/other", CollectorBin: bins.collector,
			AgentBin: bins.agent, WebListen: freeTCPAddr(t), AgentName: "e2e-site",
			Spec: site.Spec{Devices: []site.Device{{Name: "unused", Interfaces: 1}}}})
		if err != nil {
			t.Fatal(err)
		}
		other.Close()
		r.rewriteAgentConfig(func(c map[string]any) {
			col := c["collector"].(map[string]any)
			col["cert"] = other.Dir + "/agent/agent.pem"
			col["key"] = other.Dir + "/agent/agent.key"
		})
		r.startCollector()
		r.startAgent()
		r.expectRefused("certificate not issued by this collector's CA")
	})
	t.Run("revoked", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, rigConfig{Devices: 1})
		r.startCollector()
		r.startAgent()
		r.waitUntil(30*time.Second, "the agent's first acknowledged batch", func() (bool, string) {
			return r.metric("outpost_agent_batches_acked_total") > 0, "nothing acked"
		})
		if out, err := runCollector(r, "agent", "revoke", "e2e-site"); err != nil {
			t.Fatalf("revoke: %v\n%s", err, out)
		}
		// A live session is not cut by revocation; the next one is refused.
		r.stopAgent()
		r.startAgent()
		r.expectRefused(`agent \"e2e-site\" is revoked`)
	})
}

// expectRefused waits until the collector has logged a refusal matching
// reason at least three times while the agent keeps running: it retries
// (reconnects counted), its link stays down, and it goes on polling and
// spooling. Then it stops both cleanly.
func (r *rig) expectRefused(reason string) {
	r.t.Helper()
	r.waitUntil(60*time.Second, "three refusals while the agent keeps polling", func() (bool, string) {
		n := strings.Count(r.log("collector.log"), reason)
		m, err := r.agentMetrics()
		if err != nil {
			return false, fmt.Sprintf("%d refusals logged; agent metrics: %v", n, err)
		}
		rec, spooled := m["outpost_agent_reconnects_total"], m["outpost_agent_samples_spooled_total"]
		return n >= 3 && rec >= 3 && spooled > 0, fmt.Sprintf("%d refusals logged, %v reconnects, %v samples spooled", n, rec, spooled)
	})
	m, err := r.agentMetrics()
	if err != nil {
		r.t.Fatalf("agent metrics after refusals (has it crashed?): %v", err)
	}
	if m["outpost_agent_link_up"] != 0 || m["outpost_agent_batches_acked_total"] != 0 {
		r.t.Errorf("refused agent: link_up %v, acked %v batches; want 0 and 0", m["outpost_agent_link_up"], m["outpost_agent_batches_acked_total"])
	}
	if exited(r.env.Agent) {
		r.t.Fatalf("the refused agent exited: %v", r.env.Agent.Err())
	}
	r.t.Logf("refused as expected: %d log lines %q; agent reconnects %v, backlog %v batches, link up %v",
		strings.Count(r.log("collector.log"), reason), reason, m["outpost_agent_reconnects_total"], m["outpost_agent_spool_backlog_batches"], m["outpost_agent_link_up"])
	r.stopAgent()
	r.stopCollector()
}

// rewriteAgentConfig edits the agent configuration file in place.
func (r *rig) rewriteAgentConfig(edit func(map[string]any)) {
	r.t.Helper()
	b, err := os.ReadFile(r.env.AgentConfig)
	if err != nil {
		r.t.Fatal(err)
	}
	cfg := map[string]any{}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		r.t.Fatal(err)
	}
	edit(cfg)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(r.env.AgentConfig, out, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

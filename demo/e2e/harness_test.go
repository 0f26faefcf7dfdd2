package e2e

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/sim/site"
	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/demo"
)

// Binaries built once by TestMain (empty under -short, where every test
// of this package that spawns processes skips).
var bins struct{ collector, agent string }

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "outpost-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		goBin, err := exec.LookPath("go")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: the go command is not in PATH:", err)
			return 2
		}
		for _, b := range []struct {
			out *string
			pkg string
		}{
			{&bins.collector, "github.com/outpost-nms/outpost/collector/cmd/outpost-collector"},
			{&bins.agent, "github.com/outpost-nms/outpost/agent/cmd/outpost-agent"},
		} {
			*b.out = filepath.Join(dir, filepath.Base(b.pkg))
			cmd := exec.Command(goBin, "build", "-o", *b.out, b.pkg)
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: go build %s: %v\n%s", b.pkg, err, out)
				return 2
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// The constant the tests poll: sysServices, which the simulator answers
// with 6 on every device (agent/sim/snmpsim values.go). Polled as an
// ABSOLUTE data source, every landed sample adds exactly this much to the
// integral of its archive; see landed.
const (
	pollsOID   = "1.3.6.1.2.1.1.7.0"
	pollsValue = 6.0
	pollsAttr  = "oid:polls"
)

// rigConfig chooses what differs between scenarios.
type rigConfig struct {
	Devices  int           // simulated SNMP devices, default 1
	Interval time.Duration // poll interval, default 1s
	// Interfaces per device, default 2 (more make bigger batches).
	Interfaces int
	// Agent edits the agent configuration after the rig's own edits.
	Agent func(cfg map[string]any)
	// CollectorAddr is demo.Options.CollectorAddr.
	CollectorAddr func(quic, tcp string) (string, string)
	// SiteHost is the address the simulated devices bind (default
	// 127.0.0.1), IngestHost the collector's listeners'.
	SiteHost, IngestHost string
	// AgentBin replaces the agent binary (a wrapper that runs it in a
	// network namespace); MetricsAddr is then where its /metrics listens.
	AgentBin, MetricsAddr string
}

// rig is one fresh installation: collector, agent and site, with the
// agent's /metrics on a free port.
type rig struct {
	t           *testing.T
	env         *demo.Env
	devices     []string
	metricsAddr string
	ended       map[*demo.Proc]bool // processes the test stopped or killed
}

// newRig prepares an environment in a temporary directory; nothing runs
// yet. Every process is stopped in t.Cleanup, and on failure the logs of
// both processes are printed.
func newRig(t *testing.T, rc rigConfig) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("spawns the collector and agent processes; not under -short")
	}
	if rc.Devices == 0 {
		rc.Devices = 1
	}
	if rc.Interval == 0 {
		rc.Interval = time.Second
	}
	if rc.Interfaces == 0 {
		rc.Interfaces = 2
	}
	r := &rig{t: t, metricsAddr: rc.MetricsAddr, ended: map[*demo.Proc]bool{}}
	if r.metricsAddr == "" {
		r.metricsAddr = freeTCPAddr(t)
	}
	agentBin := bins.agent
	if rc.AgentBin != "" {
		agentBin = rc.AgentBin
	}
	spec := site.Spec{Host: rc.SiteHost}
	for i := 1; i <= rc.Devices; i++ {
		name := fmt.Sprintf("dev-%d", i)
		r.devices = append(r.devices, name)
		spec.Devices = append(spec.Devices, site.Device{Name: name, Interfaces: rc.Interfaces})
	}
	// The site serves until this context ends: cancelled in Cleanup, after
	// the processes are stopped (Close), not when Setup returns.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	env, err := demo.Setup(ctx, demo.Options{
		Dir: filepath.Join(t.TempDir(), "outpost"), CollectorBin: bins.collector, AgentBin: agentBin, IngestHost: rc.IngestHost,
		WebListen: freeTCPAddr(t), AgentName: "e2e-site", Spec: spec, PollInterval: rc.Interval,
		CollectorAddr: rc.CollectorAddr,
		AgentConfig: func(cfg map[string]any) {
			for _, tg := range cfg["snmp"].([]any) {
				m := tg.(map[string]any)
				m["host_resources"] = false
				m["oids"] = []any{map[string]any{"name": "polls", "oid": pollsOID, "type": "absolute"}}
			}
			cfg["metrics"] = map[string]any{"listen": r.metricsAddr}
			// One Get of the constant per poll (no retries), so a device
			// never counts two answers for one sample; the timeout stays
			// under the interval, as the configuration requires.
			cfg["snmp_defaults"].(map[string]any)["timeout"] = (rc.Interval * 9 / 10).String()
			cfg["snmp_defaults"].(map[string]any)["retries"] = 0
			if rc.Agent != nil {
				rc.Agent(cfg)
			}
		},
	})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	r.env = env
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if t.Failed() {
			r.dumpLogs()
		}
	})
	return r
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// dumpLogs prints the agent configuration and the last lines of both
// processes' logs.
func (r *rig) dumpLogs() {
	if b, err := os.ReadFile(r.env.AgentConfig); err == nil {
		r.t.Logf("---- agent.yaml ----\n%s", b)
	}
	for _, name := range []string{"collector.log", "agent.log"} {
		b, err := os.ReadFile(filepath.Join(r.env.Dir, "logs", name))
		if err != nil {
			r.t.Logf("%s: %v", name, err)
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 120 {
			lines = lines[len(lines)-120:]
		}
		r.t.Logf("---- %s (last %d lines) ----\n%s", name, len(lines), strings.Join(lines, "\n"))
	}
}

func (r *rig) log(name string) string {
	b, _ := os.ReadFile(filepath.Join(r.env.Dir, "logs", name))
	return string(b)
}

func (r *rig) startCollector() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := r.env.StartCollector(ctx); err != nil {
		r.t.Fatalf("start collector: %v", err)
	}
}

func (r *rig) startAgent() {
	r.t.Helper()
	if err := r.env.StartAgent(context.Background()); err != nil {
		r.t.Fatalf("start agent: %v", err)
	}
	r.waitUntil(30*time.Second, "the agent's /metrics", func() (bool, string) {
		_, err := r.agentMetrics()
		return err == nil, fmt.Sprint(err)
	})
}

// stopAgent stops the agent with SIGTERM and requires a clean exit.
func (r *rig) stopAgent() {
	r.t.Helper()
	r.ended[r.env.Agent] = true
	if err := r.env.Agent.Stop(30 * time.Second); err != nil {
		r.t.Fatalf("agent did not stop cleanly: %v", err)
	}
}

// stopCollector stops the collector with SIGTERM (archives flushed) and
// requires a clean exit.
func (r *rig) stopCollector() {
	r.t.Helper()
	r.ended[r.env.Collector] = true
	if err := r.env.Collector.Stop(60 * time.Second); err != nil {
		r.t.Fatalf("collector did not stop cleanly: %v", err)
	}
}

// killAgent and killCollector send kill -9.
func (r *rig) killAgent() { r.ended[r.env.Agent] = true; r.env.Agent.Kill() }

func (r *rig) killCollector() { r.ended[r.env.Collector] = true; r.env.Collector.Kill() }

// polled is how many times each device answered a Get for the polled
// constant: every sample the agent ever took.
func (r *rig) polled() map[string]uint64 {
	out := map[string]uint64{}
	for _, d := range r.devices {
		out[d] = r.env.Site.Device(d).GetCount(pollsOID)
	}
	return out
}

func (r *rig) totalPolled() uint64 {
	var n uint64
	for _, v := range r.polled() {
		n += v
	}
	return n
}

// waitPolls waits until every device has answered n more polls.
func (r *rig) waitPolls(n uint64) {
	r.t.Helper()
	base := r.polled()
	r.waitUntil(time.Duration(n+10)*3*time.Second, fmt.Sprintf("%d more polls of every device", n), func() (bool, string) {
		now := r.polled()
		for d, v := range now {
			if v < base[d]+n {
				return false, fmt.Sprintf("polled %v, started at %v", now, base)
			}
		}
		return true, ""
	})
}

// betweenPolls waits until no device has answered a poll for quiet (and
// at least one poll was answered after the call), so a poll has just
// completed and reported and the next one is not due yet: the moment to
// stop or kill the agent without cutting a poll in flight. (A poll on
// loopback takes about a millisecond, the agent logs it as took=...; a
// poll cut by SIGTERM reports nothing, and one cut by kill -9 is lost
// before it reports, both legitimately, so the tests avoid those moments
// to keep their counts exact.) Keep quiet well under interval/devices.
func (r *rig) betweenPolls(quiet time.Duration) {
	r.t.Helper()
	prev := r.totalPolled()
	changed := time.Time{}
	r.waitUntil(30*time.Second, "a quiet moment between polls", func() (bool, string) {
		if n := r.totalPolled(); n != prev {
			prev, changed = n, time.Now()
			return false, "polling"
		}
		if changed.IsZero() {
			return false, "no poll answered yet"
		}
		return time.Since(changed) >= quiet, "polled recently"
	})
}

// waitUntil polls cond every 50 ms until it holds, failing the test with
// cond's last explanation after timeout. The processes are watched too:
// an unexpected exit fails at once.
func (r *rig) waitUntil(timeout time.Duration, what string, cond func() (bool, string)) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		for _, p := range []*demo.Proc{r.env.Agent, r.env.Collector} {
			if p == nil {
				continue
			}
			select {
			case <-p.Exited():
				if !r.stopped(p) {
					r.t.Fatalf("waiting for %s: %s exited: %v", what, p.Name, p.Err())
				}
			default:
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s: not after %v (last: %s)", what, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopped reports whether the test itself ended p (Stop or Kill through
// the rig), so an exit is expected.
func (r *rig) stopped(p *demo.Proc) bool { return r.ended[p] }

// agentMetrics scrapes the agent's /metrics (unlabelled series only).
func (r *rig) agentMetrics() (map[string]float64, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + r.metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

func parseMetrics(rd io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[name] = v
	}
	return out, sc.Err()
}

func (r *rig) metric(name string) float64 {
	m, err := r.agentMetrics()
	if err != nil {
		return math.NaN()
	}
	v, ok := m[name]
	if !ok {
		return math.NaN()
	}
	return v
}

// result is what finish measured.
type result struct {
	Polled  map[string]uint64  // Gets of the constant each device answered
	Landed  map[string]float64 // archive integral / pollsValue: samples stored
	Unknown map[string]int     // unknown 1-step rows after the first known one
	// Failed counts the polls of each device the agent logged as failed
	// while the site was up: a Get the device may have answered after the
	// agent gave up (an overloaded machine), so counted but not sampled.
	Failed map[string]int
}

// finish brings the installation to rest and measures it:
//
//  1. Between two polls (betweenPolls), SIGTERM the agent: every report
//     is in the spool (agent/batch's guarantee), so from here the devices'
//     Get counts are final: they are everything ever polled and reported.
//  2. Close the simulated site, so later polls get no answer and add no
//     samples.
//  3. With the collector running (started if it is not), start the agent
//     again and wait until its link is up and its spool backlog is 0:
//     every batch ever spooled is acknowledged, i.e. journaled by the
//     collector.
//  4. SIGTERM the agent, then the collector (which flushes its archives),
//     both must exit cleanly.
//  5. Read each device's archive and compute what landed (see landed).
func (r *rig) finish() result {
	r.t.Helper()
	if r.env.Agent != nil && !exited(r.env.Agent) {
		r.betweenPolls(250 * time.Millisecond)
		r.stopAgent()
	}
	res := result{Polled: r.polled(), Landed: map[string]float64{}, Unknown: map[string]int{}, Failed: map[string]int{}}
	for _, line := range strings.Split(r.log("agent.log"), "\n") {
		for _, d := range r.devices {
			if strings.Contains(line, "poll failed") && strings.Contains(line, "target="+d+" ") {
				res.Failed[d]++
			}
		}
	}
	r.env.Site.Close()
	if r.env.Collector == nil || exited(r.env.Collector) {
		r.startCollector()
	}
	r.startAgent()
	r.waitUntil(60*time.Second, "the agent's spool to drain", func() (bool, string) {
		m, err := r.agentMetrics()
		if err != nil {
			return false, err.Error()
		}
		up, backlog := m["outpost_agent_link_up"], m["outpost_agent_spool_backlog_batches"]
		return up == 1 && backlog == 0, fmt.Sprintf("link_up %v, backlog %v batches", up, backlog)
	})
	r.stopAgent()
	r.stopCollector()
	// The archive's step must come from the agent's description (1 s), not
	// from a default the collector falls back to for undescribed samples.
	for _, line := range strings.Split(r.log("collector.log"), "\n") {
		if !strings.Contains(line, "never described") {
			continue
		}
		if strings.Contains(line, "attr="+pollsAttr+" ") {
			r.t.Errorf("collector created an archive without the agent's description: %s", line)
		} else {
			r.t.Logf("note: %s", line)
		}
	}
	for _, d := range r.devices {
		path := filepath.Join(r.env.Dir, "collector", ingest.ArchivePath(d, pollsAttr))
		sum, unknown, err := landed(path)
		if err != nil {
			r.t.Fatalf("archive of %s: %v", d, err)
		}
		res.Landed[d] = sum / pollsValue
		res.Unknown[d] = unknown
	}
	return res
}

func exited(p *demo.Proc) bool {
	select {
	case <-p.Exited():
		return true
	default:
		return false
	}
}

// landed integrates an ABSOLUTE archive and returns Σ value over the
// samples it stored, and how many unknown 1-step rows lie after its first
// known row.
//
// Why this counts samples exactly: for an ABSOLUTE data source an update
// of value v at t, after the previous update at t' with t-t' ≤ heartbeat,
// is the rate v/(t-t') over (t', t]. rrd_update.c accumulates rate x
// seconds into the step being built (the DS's "value" in rrdtool info) and
// at each step boundary stores value / (step - unknown seconds) as the
// primary point. With step 1 s (the poll interval), unknown seconds are
// counted in whole seconds (floor), so a step's unknown seconds are 0
// unless an update was itself unknown; the 1-step AVERAGE row is then
// exactly the integral of the rate over its step. Hence
//
//	Σ rows x step + the accumulating value of the open step = Σ v
//
// over every update stored known, whatever the sub-second poll times. A
// lost sample leaves its neighbour spread over two intervals (t-t' = 2 s is
// still within the heartbeat): the sum is short by v. A duplicate cannot
// be applied (an update not after the last one is refused), and if it were
// it would add v. An update after a gap longer than the heartbeat (2 steps)
// is stored unknown, together with the part of the previous sample that
// fell into the open step: such gaps show as unknown rows. No scenario
// makes such a gap on purpose (each keeps the agent polling within the
// heartbeat, so its count is exact); checkCount says what it concludes when
// an overloaded machine makes one anyway.
//
// The step must be 1 s: an archive is created with its last update one
// second before its first sample, truncated to the second, which is on a
// step boundary only when the step is 1 s. With a longer step the first,
// partly open step starts with unknown seconds (rrdtool create sets them
// to last_up % step) and its point is the known seconds' average spread
// over the whole step, which overstates the integral.
func landed(path string) (sum float64, unknown int, err error) {
	info, err := rrd.ReadInfo(path)
	if err != nil {
		return 0, 0, err
	}
	if info.Step != 1 {
		return 0, 0, fmt.Errorf("step %d s: the integral is exact only for a 1 s step", info.Step)
	}
	if len(info.DS) != 1 || info.DS[0].Type != "ABSOLUTE" {
		return 0, 0, fmt.Errorf("want one ABSOLUTE data source, have %+v", info.DS)
	}
	step := time.Duration(info.Step) * time.Second
	last := info.LastUpdate.Truncate(step)
	fr, err := rrd.Fetch(path, rrd.Average, last.Add(-2*time.Hour), last, step)
	if err != nil {
		return 0, 0, err
	}
	if fr.Step != step {
		return 0, 0, fmt.Errorf("fetch chose a %v archive, want the %v one", fr.Step, step)
	}
	seen := false
	for i, row := range fr.Rows {
		end := fr.Start.Add(time.Duration(i+1) * fr.Step)
		if end.After(last) {
			break
		}
		v := row[0]
		if math.IsNaN(v) {
			if seen {
				unknown++
			}
			continue
		}
		seen = true
		sum += v * step.Seconds()
	}
	if acc := info.DS[0].Value; !math.IsNaN(acc) {
		sum += acc
	}
	return sum, unknown, nil
}

// requireExact checks the scenario's claim: every polled sample landed
// once, per device.
func requireExact(t *testing.T, res result) {
	t.Helper()
	for d, p := range res.Polled {
		if p == 0 {
			t.Errorf("%s: never polled", d)
		}
		checkCount(t, d, float64(p), res.Landed[d], res.Unknown[d], res.Failed[d])
	}
}

// checkCount compares the samples expected in an archive with those that
// landed. Normally the two are equal (to rounding: the integral is a sum
// of floats). Two things an overloaded machine (not the software under
// test) can do make that impossible to decide exactly, and both are
// visible: two polls more than the heartbeat apart (a late or skipped
// poll) store the sample after the gap unknown and lose the part of the
// sample before it that fell into the open step, i.e. 1 + f samples with
// f in [0, 1), shown as a run of unknown rows; and a poll the agent gave
// up on (logged "poll failed") may have been answered, and counted, by the
// device anyway. Then the deficit must lie in [gaps, 2·gaps + failed]; the
// test logs that it fell back to this bound. A duplicate would make the
// deficit negative, which fails in every case.
func checkCount(t *testing.T, dev string, want, landed float64, unknownRows, failed int) {
	t.Helper()
	t.Logf("%s: expected %v, landed %.6f, unknown rows %d, failed polls %d", dev, want, landed, unknownRows, failed)
	const eps = 1e-6
	deficit := want - landed
	if unknownRows == 0 && failed == 0 {
		if math.Abs(deficit) > eps*want {
			t.Errorf("%s: %v samples expected, %.6f landed (%+.6f)", dev, want, landed, -deficit)
		}
		return
	}
	// Each gap is a run of unknown rows; the count of runs is not kept, so
	// bound it by the rows (a gap leaves at least one unknown row).
	gapsMax := float64(unknownRows)
	if deficit < -eps*want || deficit > 2*gapsMax+float64(failed)+eps*want || (unknownRows > 0 && deficit < 1-eps) {
		t.Errorf("%s: %v samples expected, %.6f landed (%+.6f): outside what %d unknown rows and %d failed polls explain",
			dev, want, landed, -deficit, unknownRows, failed)
		return
	}
	t.Logf("%s: the machine was overloaded (%d unknown rows, %d failed polls); checked the bound, not exact equality", dev, unknownRows, failed)
}

// systemEvents reads the collector's event log from its inventory (the
// collector must be stopped).
func (r *rig) systemEvents() []inventory.SystemEvent {
	r.t.Helper()
	ctx := context.Background()
	db, err := inventory.Open(ctx, filepath.Join(r.env.Dir, "collector", inventory.DefaultFile))
	if err != nil {
		r.t.Fatalf("inventory: %v", err)
	}
	defer db.Close()
	ev, err := db.SystemEvents(ctx, 0)
	if err != nil {
		r.t.Fatalf("system events: %v", err)
	}
	return ev
}

// runCollector runs one outpost-collector subcommand against the rig's
// configuration.
func runCollector(r *rig, args ...string) (string, error) {
	args = append(args, "-c", r.env.CollectorConfig)
	out, err := exec.Command(bins.collector, args...).CombinedOutput()
	return string(out), err
}

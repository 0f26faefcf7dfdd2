// Package demo sets up and runs a whole Outpost installation on loopback: a
// collector with its own CA, an enrolled agent, an admin user, a simulated
// site (SNMP devices and NTP servers from agent/sim/site) and the agent
// polling it. It drives the two binaries through their own subcommands
// (ca init, agent add, user add, run), the way an operator would, so the
// demo exercises the same paths as a real installation.
//
// `outpost-collector demo` (and `make demo`) uses it to show the product; the
// end-to-end and fault-injection tests use it to start, stop and kill -9
// the real processes.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/outpost-nms/outpost/agent/sim/site"
)

// Options configure an environment. Zero values take the defaults named.
type Options struct {
	Dir          string        // state directory, created; default ".demo"
	CollectorBin string        // path of outpost-collector; required
	AgentBin     string        // path of outpost-agent; required
	WebListen    string        // UI address; default 127.0.0.1:8080, or a free port when that is taken
	AgentName    string        // default "demo-site"
	Spec         site.Spec     // the simulated site; default site.DefaultSpec()
	PollInterval time.Duration // SNMP and NTP poll interval; default 30s
	// AgentConfig, when set, may edit the agent configuration (decoded
	// YAML) before it is written: tests add OIDs or change spool limits.
	AgentConfig func(cfg map[string]any)
	// CollectorAddr, when set, replaces the collector address the agent
	// dials (tests put a lossy relay in between).
	CollectorAddr func(quic, tcp string) (string, string)
	Clock         func() time.Time // for the simulators; default time.Now
	Logger        *slog.Logger     // default discards
	// IngestHost is the address the collector's QUIC and TCP listeners
	// bind (free ports are picked on it); default 127.0.0.1. Tests that run
	// the agent in a network namespace use the root side of a veth pair.
	IngestHost string
	// Backfill > 0 pre-loads that much history before the agent starts:
	// the agent's own pollers poll the simulators at past times and spool
	// the results, which the agent then streams through the real ingest
	// path (see backfill). Ignored when Clock is set.
	Backfill time.Duration
	// Alertmanager, when set, is the base URL of an Alertmanager the demo
	// collector sends its alerts to (alerting.alertmanagers).
	Alertmanager string
	// RemoteWrite, when set, is a Prometheus remote-write URL the demo
	// collector forwards every sample to (forward.remote_write).
	RemoteWrite string
	// Progress receives backfill progress lines; nil discards them.
	Progress io.Writer
	// AgentEnv is added to the agent process's environment (GODEBUG,
	// GOMEMLIMIT... in benchmarks).
	AgentEnv []string
}

// Env is a prepared environment: configurations written, PKI and users
// made, the site running. Start the processes with StartCollector and
// StartAgent; Close stops everything.
type Env struct {
	opts Options
	Site *site.Site

	Dir             string
	CollectorConfig string
	AgentConfig     string
	WebURL          string
	QUICAddr        string
	TCPAddr         string
	AdminUser       string
	AdminPassword   string
	APIToken        string

	Collector *Proc
	Agent     *Proc
}

// Setup prepares an environment in opts.Dir: the collector configuration on
// loopback ports, `ca init`, the agent enrolled with `agent add`, an admin
// user and an API token, the simulated site started, and the agent
// configuration pointing at the site and the collector.
func Setup(ctx context.Context, opts Options) (*Env, error) {
	if opts.Dir == "" {
		opts.Dir = ".demo"
	}
	if opts.AgentName == "" {
		opts.AgentName = "demo-site"
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.Spec.Devices) == 0 && len(opts.Spec.NTP) == 0 {
		opts.Spec = site.DefaultSpec()
	}
	if opts.CollectorBin == "" || opts.AgentBin == "" {
		return nil, fmt.Errorf("demo: the collector and agent binaries are required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	e := &Env{opts: opts, Dir: dir, AdminUser: "admin"}

	web := opts.WebListen
	switch {
	case web == "":
		web = "127.0.0.1:8080"
		if !tcpFree(web) {
			web = fmt.Sprintf("127.0.0.1:%d", freeTCP())
		}
	case strings.HasSuffix(web, ":0"):
		web = fmt.Sprintf("%s:%d", strings.TrimSuffix(web, ":0"), freeTCP())
	}
	e.WebURL = "http://" + web
	host := opts.IngestHost
	if host == "" {
		host = "127.0.0.1"
	}
	e.QUICAddr = net.JoinHostPort(host, strconv.Itoa(freeUDPOn(host)))
	e.TCPAddr = net.JoinHostPort(host, strconv.Itoa(freeTCPOn(host)))
	e.CollectorConfig = filepath.Join(dir, "collector.yaml")
	collectorYAML := fmt.Sprintf(`# Written by the Outpost demo.
name: demo-collector
data_dir: %s
listen:
  quic: %s
  tcp: %s
web:
  listen: %s
metrics:
  listen: "off"
rrd:
  flush_interval: 30s
log:
  level: info
`, filepath.Join(dir, "collector"), e.QUICAddr, e.TCPAddr, web)
	// Short enough that the demo's unsynchronised NTP server and flapping
	// port alert within two minutes of the start; the rule shows a
	// utilisation threshold: the site's uplink bundles (LAG, ifType 161)
	// carry 5 to 30 % of their 20 Gb/s, so it holds them in Alert.
	collectorYAML += `alerting:
  interval: 15s
  for: 30s
  agent_silence: 2m
  rules:
    - name: UplinkBusy
      severity: warning
      for: 30s
      match: {kind: interface, props: {ifType: "161"}}
      threshold: {of: utilisation, above: 5, clear: 3}
      annotations: {summary: "{{host}} {{name}}: {{reason}}"}
`
	if opts.Alertmanager != "" {
		collectorYAML += fmt.Sprintf("  alertmanagers: [{url: %q}]\n  external_url: %q\n", opts.Alertmanager, e.WebURL)
	}
	if opts.RemoteWrite != "" {
		collectorYAML += fmt.Sprintf("forward:\n  remote_write:\n    - name: demo\n      url: %q\n", opts.RemoteWrite)
	}
	if err := os.WriteFile(e.CollectorConfig, []byte(collectorYAML), 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}

	// The operator's steps: CA, enrollment, a user and an API token.
	agentDir := filepath.Join(dir, "agent")
	if err := os.MkdirAll(agentDir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	// A second run in the same directory keeps the CA, the enrolled agent,
	// the user and the history.
	if !exists(filepath.Join(dir, "collector", "pki", "ca.pem")) {
		if _, err := e.collector(ctx, "ca", "init"); err != nil {
			return nil, err
		}
	}
	if !exists(filepath.Join(agentDir, "agent.pem")) {
		if _, err := e.collector(ctx, "agent", "add", opts.AgentName, "--hosts", "*", "--out", agentDir); err != nil {
			return nil, err
		}
	}
	pwFile := filepath.Join(dir, "admin.password")
	if b, err := os.ReadFile(pwFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		e.AdminPassword = strings.TrimSpace(string(b))
	} else {
		e.AdminPassword = randomWord()
		if err := os.WriteFile(pwFile, []byte(e.AdminPassword+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		if _, err := e.collector(ctx, "user", "add", e.AdminUser, "--role", "admin", "--password-file", pwFile); err != nil {
			return nil, err
		}
	}
	tok, err := e.collector(ctx, "user", "token", e.AdminUser)
	if err != nil {
		return nil, err
	}
	e.APIToken = lastWord(tok)

	siteOpts := site.Options{Clock: opts.Clock, Logger: opts.Logger}
	var clock *demoClock
	from := time.Now().Add(-opts.Backfill).Truncate(opts.PollInterval)
	if opts.Backfill > 0 && opts.Clock == nil {
		clock = &demoClock{virtual: from.Add(-time.Minute)}
		siteOpts.Clock = clock.Now
	}
	e.Site, err = site.Start(ctx, opts.Spec, siteOpts)
	if err != nil {
		return nil, fmt.Errorf("demo: simulated site: %w", err)
	}
	if err := e.writeAgentConfig(agentDir); err != nil {
		e.Site.Close()
		return nil, err
	}
	if clock != nil {
		err := e.backfill(ctx, clock, from, opts.Progress)
		clock.goLive()
		if err != nil {
			e.Site.Close()
			return nil, err
		}
	}
	return e, nil
}

// writeAgentConfig composes the agent's configuration: identity, collector,
// spool, poll interval, and the site's targets.
func (e *Env) writeAgentConfig(agentDir string) error {
	var targets bytes.Buffer
	if err := e.Site.WriteAgentConfig(&targets); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cfg := map[string]any{}
	if err := yaml.Unmarshal(targets.Bytes(), &cfg); err != nil {
		return fmt.Errorf("demo: site targets: %w", err)
	}
	quic, tcp := e.QUICAddr, e.TCPAddr
	if e.opts.CollectorAddr != nil {
		quic, tcp = e.opts.CollectorAddr(quic, tcp)
	}
	interval := e.opts.PollInterval.String()
	// Each request must time out well within the interval.
	timeout := min(2*time.Second, e.opts.PollInterval/2).String()
	cfg["name"] = e.opts.AgentName
	cfg["collector"] = map[string]any{
		"address":       quic,
		"tcp_fallback":  tcp,
		"server_name":   "localhost",
		"ca":            filepath.Join(agentDir, "ca.pem"),
		"cert":          filepath.Join(agentDir, "agent.pem"),
		"key":           filepath.Join(agentDir, "agent.key"),
		"reconnect_min": "200ms",
		"reconnect_max": "5s",
	}
	cfg["spool"] = map[string]any{"dir": filepath.Join(agentDir, "spool")}
	cfg["snmp_defaults"] = map[string]any{"interval": interval, "timeout": timeout}
	if ntp, ok := cfg["ntp"].([]any); ok {
		for _, n := range ntp {
			if m, ok := n.(map[string]any); ok {
				m["interval"] = interval
				m["timeout"] = timeout
			}
		}
	}
	if e.opts.AgentConfig != nil {
		e.opts.AgentConfig(cfg)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("demo: agent config: %w", err)
	}
	e.AgentConfig = filepath.Join(e.Dir, "agent.yaml")
	header := "# Written by the Outpost demo: the agent of the simulated site.\n"
	return os.WriteFile(e.AgentConfig, append([]byte(header), out...), 0o600)
}

// collector runs one outpost-collector subcommand against the environment's
// configuration and returns its output.
func (e *Env) collector(ctx context.Context, args ...string) (string, error) {
	args = append(args, "-c", e.CollectorConfig)
	out, err := exec.CommandContext(ctx, e.opts.CollectorBin, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("demo: outpost-collector %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// StartCollector starts `outpost-collector run` and waits until the web UI
// answers.
func (e *Env) StartCollector(ctx context.Context) error {
	p, err := startProc("outpost-collector", filepath.Join(e.Dir, "logs", "collector.log"), nil,
		e.opts.CollectorBin, "run", "-c", e.CollectorConfig)
	if err != nil {
		return err
	}
	e.Collector = p
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return waitFor(wctx, p, "the web UI at "+e.WebURL, func() error {
		resp, err := http.Get(e.WebURL + "/login")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /login: %s", resp.Status)
		}
		return nil
	})
}

// StartAgent starts `outpost-agent run`.
func (e *Env) StartAgent(context.Context) error {
	p, err := startProc("outpost-agent", filepath.Join(e.Dir, "logs", "agent.log"), e.opts.AgentEnv,
		e.opts.AgentBin, "run", "-c", e.AgentConfig)
	if err != nil {
		return err
	}
	e.Agent = p
	return nil
}

// Close stops the agent, then the collector (both with SIGTERM), then the
// site. It returns the first unclean exit.
func (e *Env) Close() error {
	var first error
	if e.Agent != nil {
		if err := e.Agent.Stop(30 * time.Second); err != nil && first == nil {
			first = fmt.Errorf("agent: %w", err)
		}
	}
	if e.Collector != nil {
		if err := e.Collector.Stop(60 * time.Second); err != nil && first == nil {
			first = fmt.Errorf("collector: %w", err)
		}
	}
	if e.Site != nil {
		e.Site.Close()
	}
	return first
}

// Run sets up the demo, starts everything, prints where to look, and runs
// until ctx ends (Ctrl-C), then stops everything cleanly.
func Run(ctx context.Context, opts Options, out io.Writer) error {
	fmt.Fprintf(out, "Outpost demo: preparing %s ...\n", opts.Dir)
	if opts.Backfill > 0 {
		fmt.Fprintf(out, "  polling the simulated site over the past %v (backfill through the agent's spool)\n", opts.Backfill)
		if opts.Progress == nil {
			opts.Progress = out
		}
	}
	e, err := Setup(ctx, opts)
	if err != nil {
		return err
	}
	defer e.Close()
	// Scheduled events of the site (device restarts) while live.
	go func() { _ = e.Site.Run(ctx, time.Second) }()
	if err := e.StartCollector(ctx); err != nil {
		return err
	}
	if err := e.StartAgent(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, `
Outpost is running on loopback:

  web UI      %s
  login       %s / %s   (also in %s)
  API token   %s
  collector   QUIC %s, TLS/TCP %s
  site        %d simulated devices, %d NTP servers (polled every %v)
  logs        %s

%s Press Ctrl-C to stop everything.
`, e.WebURL, e.AdminUser, e.AdminPassword, filepath.Join(e.Dir, "admin.password"), e.APIToken,
		e.QUICAddr, e.TCPAddr, len(e.opts.Spec.Devices), len(e.opts.Spec.NTP), e.opts.PollInterval,
		filepath.Join(e.Dir, "logs"), graphsNote(e.opts))
	select {
	case <-ctx.Done():
	case <-e.Collector.Exited():
		return fmt.Errorf("the collector exited: %v (see %s)", e.Collector.Err(), e.Collector.LogPath)
	case <-e.Agent.Exited():
		return fmt.Errorf("the agent exited: %v (see %s)", e.Agent.Err(), e.Agent.LogPath)
	}
	fmt.Fprintln(out, "\nstopping ...")
	if err := e.Close(); err != nil {
		return err
	}
	fmt.Fprintln(out, "stopped cleanly")
	return nil
}

// graphsNote tells what the graphs show at start.
func graphsNote(o Options) string {
	if o.Backfill > 0 && o.Clock == nil {
		return fmt.Sprintf("The last %v is already in the graphs (streamed from the agent's spool); new polls follow.", o.Backfill)
	}
	return "Graphs fill as polls arrive."
}

func randomWord() string {
	b := make([]byte, 9)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func tcpFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freeTCP() int { return freeTCPOn("127.0.0.1") }

func freeTCPOn(host string) int {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func freeUDPOn(host string) int {
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

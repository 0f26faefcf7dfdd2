package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	agentenroll "github.com/outpost-nms/outpost/agent/enroll"
	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/agent/uplink"
	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/journal"
	cmetrics "github.com/outpost-nms/outpost/collector/metrics"
	"github.com/outpost-nms/outpost/collector/pki"
	"github.com/outpost-nms/outpost/shared/enroll"
	"github.com/outpost-nms/outpost/shared/secret"
)

// captureSink stands in for the collector's applier: it keeps every
// journaled record.
type captureSink struct {
	mu   sync.Mutex
	recs []*ingest.Record
}

func (c *captureSink) Enqueue(_ context.Context, _, _ journal.Pos, r *ingest.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r)
	return nil
}

func (c *captureSink) snapshot() []*ingest.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*ingest.Record(nil), c.recs...)
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// collectorStack runs the real collector ingest (PKI, inventory, journal,
// QUIC and TCP listeners with enrollment) on loopback. stop ends the
// listeners (an outage); start brings them back on the same ports with the
// delivery state rebuilt from what was journaled, as the collector's
// applier does after a restart.
type collectorStack struct {
	t                 testing.TB
	dir               string
	ca                *pki.Authority
	db                *inventory.DB
	sink              *captureSink
	quicAddr, tcpAddr string
	stop              func()
}

func startCollector(t testing.TB) *collectorStack {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	paths := pki.DefaultPaths(filepath.Join(dir, "pki"))
	if err := pki.Init(paths, pki.InitOptions{Name: "test", DNS: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.Load(paths)
	if err != nil {
		t.Fatal(err)
	}
	db, err := inventory.Open(ctx, filepath.Join(dir, "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &collectorStack{t: t, dir: dir, ca: ca, db: db, sink: &captureSink{}, quicAddr: "127.0.0.1:0", tcpAddr: "127.0.0.1:0"}
	s.start()
	return s
}

func (s *collectorStack) start() {
	t := s.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(&logBuf{}, nil))
	j, err := journal.Open(filepath.Join(s.dir, "journal"), journal.Options{SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	streams := map[string]inventory.Stream{}
	for _, r := range s.sink.snapshot() {
		st := streams[r.Agent]
		if r.Epoch != st.Epoch || r.Seq > st.AckedSeq {
			streams[r.Agent] = inventory.Stream{Agent: r.Agent, Epoch: r.Epoch, AckedSeq: r.Seq}
		}
	}
	srv, err := ingest.New(ingest.Config{Name: "test-collector"}, s.ca, s.db, j, s.sink, streams, cmetrics.New(), &pki.Enroller{CA: s.ca, Store: s.db, Log: log}, log)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", s.quicAddr)
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", s.tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	s.quicAddr, s.tcpAddr = udp.LocalAddr().String(), tcp.Addr().String()
	rctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srv.ServeQUIC(rctx, udp) }()
	go func() { defer wg.Done(); srv.ServeTCP(rctx, tcp) }()
	var once sync.Once
	s.stop = func() { once.Do(func() { cancel(); wg.Wait(); udp.Close(); tcp.Close(); j.Close() }) }
	t.Cleanup(s.stop)
}

// enrollAgent registers name on the collector and enrolls it into dir/pki.
func enrollAgent(t testing.TB, col *collectorStack, name, dir string) agentenroll.Options {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := col.db.AddAgent(ctx, name, []string{"edge*"}, now); err != nil {
		t.Fatal(err)
	}
	tok, err := enroll.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := col.db.SetAgentToken(ctx, name, enroll.HashToken(tok), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	pkiDir := filepath.Join(dir, "pki")
	return agentenroll.Options{Collector: col.tcpAddr, Name: name, Token: secret.New(tok), Fingerprint: "sha256:" + col.ca.Fingerprint(),
		CertPath: filepath.Join(pkiDir, "agent.pem"), KeyPath: filepath.Join(pkiDir, "agent.key"), CAPath: filepath.Join(pkiDir, "ca.pem")}
}

// agentConfig writes the configuration of an agent polling one simulated
// SNMP device every second.
func agentConfig(t *testing.T, col *collectorStack, eo agentenroll.Options, dir string, devPort int) *config.Config {
	t.Helper()
	yaml := fmt.Sprintf(`name: %s
collector:
  address: %s
  server_name: localhost
  ca: %s
  cert: %s
  key: %s
  reconnect_min: 100ms
  reconnect_max: 500ms
spool:
  dir: %s
  batch_interval: 200ms
  fsync_interval: 100ms
snmp:
  - name: edge1
    address: 127.0.0.1
    port: %d
    community: public
    interval: 1s
    timeout: 500ms
`, eo.Name, col.quicAddr, eo.CAPath, eo.CertPath, eo.KeyPath, filepath.Join(dir, "spool"), devPort)
	cfg, err := config.Parse("agent.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startDevice(t *testing.T) int {
	t.Helper()
	dev, err := snmpsim.New(snmpsim.Config{SysName: "edge-1", Community: "public", Interfaces: snmpsim.GenerateInterfaces(4, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, err := dev.ListenAndServe(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return addr.(*net.UDPAddr).Port
}

// agentRun is one run of the agent.
type agentRun struct {
	cancel context.CancelFunc
	done   chan error
	m      *metrics.Agent
	logs   *logBuf
	events chan uplink.Event
}

func startAgent(t testing.TB, cfg *config.Config) *agentRun {
	t.Helper()
	a := &agentRun{done: make(chan error, 1), m: metrics.New(), logs: &logBuf{}, events: make(chan uplink.Event, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	log := slog.New(slog.NewTextHandler(a.logs, nil))
	go func() {
		a.done <- RunWith(ctx, cfg, log, Options{Metrics: a.m, Embedded: true, OnSession: func(ev uplink.Event) {
			select {
			case a.events <- ev:
			default:
			}
		}})
	}()
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { cancel(); <-a.done }) })
	return a
}

// stopAgent cancels the run and checks that it returns cleanly.
func (a *agentRun) stop(t *testing.T) {
	t.Helper()
	a.cancel()
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not stop")
	}
	a.done <- nil
}

func counter(t testing.TB, a *agentRun, name string) float64 {
	t.Helper()
	mfs, err := a.m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool, logs *logBuf) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; agent log:\n%s", what, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEnrollThenRunDeliversPolls is the agent end to end: enroll with a
// one-time token against the real collector, then run with a simulated
// SNMP device; the collector journals batches with the device's samples.
func TestEnrollThenRunDeliversPolls(t *testing.T) {
	col := startCollector(t)
	ctx := context.Background()
	dir := t.TempDir()
	eo := enrollAgent(t, col, "site1", dir)
	// a wrong fingerprint is refused before the token is sent
	bad := eo
	bad.Fingerprint = "sha256:" + string(bytes.Repeat([]byte("ab"), 32))
	if _, err := agentenroll.Run(ctx, bad); err == nil {
		t.Fatal("enrollment with a wrong CA fingerprint succeeded")
	}
	res, err := agentenroll.Run(ctx, eo)
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if len(res.Hosts) != 1 || res.Hosts[0] != "edge*" {
		t.Errorf("hosts %v", res.Hosts)
	}
	if st, err := os.Stat(eo.KeyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	// the token works once
	again := eo
	again.Force = true
	if _, err := agentenroll.Run(ctx, again); err == nil {
		t.Fatal("a used token enrolled again")
	}
	if _, err := agentenroll.Run(ctx, eo); !errors.Is(err, agentenroll.ErrExists) {
		t.Fatalf("enroll over an existing bundle: %v", err)
	}

	cfg := agentConfig(t, col, eo, dir, startDevice(t))
	a := startAgent(t, cfg)
	var recs []*ingest.Record
	waitUntil(t, "3 records with samples and inventory", 20*time.Second, func() bool {
		recs = col.sink.snapshot()
		samples, hosts := 0, 0
		for _, r := range recs {
			samples += r.Samples()
			hosts += len(r.Hosts)
		}
		return samples > 0 && hosts > 0 && len(recs) >= 3
	}, a.logs)
	if ev := <-a.events; !ev.Up || ev.Transport != "quic" {
		t.Fatalf("first session event %+v", ev)
	}
	a.stop(t)

	var last uint64
	for _, r := range recs {
		if r.Agent != "site1" || r.Epoch == 0 || r.Kind != ingest.RecordBatch {
			t.Fatalf("record %+v", r)
		}
		if r.Seq <= last {
			t.Fatalf("seq %d after %d: duplicate or out of order", r.Seq, last)
		}
		last = r.Seq
	}
	// the spool survived the shutdown and is consistent
	sp, err := spool.Open(spool.Options{Dir: cfg.Spool.Dir, FsyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	_, lastSeq, acked := sp.Bounds()
	if acked < last || (lastSeq != 0 && lastSeq < acked) {
		t.Fatalf("spool after stop: last %d acked %d, collector has %d", lastSeq, acked, last)
	}
	if d := sp.Drops(); d.Batches != 0 || d.Corrupt != 0 {
		t.Fatalf("drops %+v", d)
	}
}

// TestNothingLostAcrossOutageAndRestart: the collector goes away while the
// agent polls, comes back on the same ports, then the agent itself is
// restarted. Every sample the agent spooled is journaled by the collector
// exactly once (or, for the very last batch, still in the spool).
func TestNothingLostAcrossOutageAndRestart(t *testing.T) {
	col := startCollector(t)
	dir := t.TempDir()
	eo := enrollAgent(t, col, "site2", dir)
	if _, err := agentenroll.Run(context.Background(), eo); err != nil {
		t.Fatal(err)
	}
	cfg := agentConfig(t, col, eo, dir, startDevice(t))

	a := startAgent(t, cfg)
	waitUntil(t, "first batches journaled", 20*time.Second, func() bool { return len(col.sink.snapshot()) >= 2 }, a.logs)

	col.stop() // outage
	waitUntil(t, "link down", 10*time.Second, func() bool { return counter(t, a, "outpost_agent_link_up") == 0 }, a.logs)
	spooledAtOutage := counter(t, a, "outpost_agent_batches_spooled_total")
	waitUntil(t, "batches spooled during the outage", 20*time.Second, func() bool {
		return counter(t, a, "outpost_agent_batches_spooled_total") >= spooledAtOutage+3
	}, a.logs)
	journaledBefore := len(col.sink.snapshot())

	col.start() // back, same ports, delivery state from the journal
	waitUntil(t, "backlog delivered", 20*time.Second, func() bool {
		return counter(t, a, "outpost_agent_batches_acked_total") >= spooledAtOutage+3 && len(col.sink.snapshot()) > journaledBefore+2
	}, a.logs)
	a.stop(t)
	spooled := counter(t, a, "outpost_agent_samples_spooled_total")

	b := startAgent(t, cfg) // restart on the same spool
	n := len(col.sink.snapshot())
	waitUntil(t, "delivery after the agent restart", 20*time.Second, func() bool { return len(col.sink.snapshot()) >= n+3 }, b.logs)
	b.stop(t)
	spooled += counter(t, b, "outpost_agent_samples_spooled_total")

	recs := col.sink.snapshot()
	seen := map[uint64]bool{}
	journaled := 0
	var epoch uint64
	for _, r := range recs {
		if r.Kind != ingest.RecordBatch {
			t.Fatalf("record kind %d (gap?) %+v", r.Kind, r)
		}
		if epoch == 0 {
			epoch = r.Epoch
		}
		if r.Epoch != epoch || seen[r.Seq] {
			t.Fatalf("seq %d journaled twice or epoch changed (%x vs %x)", r.Seq, r.Epoch, epoch)
		}
		seen[r.Seq] = true
		journaled += r.Samples()
	}
	sp, err := spool.Open(spool.Options{Dir: cfg.Spool.Dir, FsyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	_, _, acked := sp.Bounds()
	pending := 0
	c := sp.ReadFrom(acked + 1)
	for {
		r, err := c.Next()
		if err != nil {
			break
		}
		if seen[r.Seq] {
			continue // journaled, ack not received before the stop
		}
		pending += int(r.Samples)
	}
	for s := uint64(1); s <= acked; s++ {
		if !seen[s] {
			t.Fatalf("seq %d acked but never journaled", s)
		}
	}
	if journaled+pending != int(spooled) {
		t.Fatalf("spooled %v samples; journaled %d + still spooled %d = %d", spooled, journaled, pending, journaled+pending)
	}
	t.Logf("%d batches, %d samples journaled, %d pending in the spool, 0 lost, 0 duplicated", len(recs), journaled, pending)
}

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
// QUIC and TCP listeners with enrollment) on loopback.
type collectorStack struct {
	ca                *pki.Authority
	db                *inventory.DB
	sink              *captureSink
	quicAddr, tcpAddr string
}

func startCollector(t *testing.T) *collectorStack {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(&logBuf{}, nil))
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
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s := &collectorStack{ca: ca, db: db, sink: &captureSink{}}
	srv, err := ingest.New(ingest.Config{Name: "test-collector"}, ca, db, j, s.sink, nil, cmetrics.New(), &pki.Enroller{CA: ca, Store: db, Log: log}, log)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.quicAddr, s.tcpAddr = udp.LocalAddr().String(), tcp.Addr().String()
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srv.ServeQUIC(rctx, udp) }()
	go func() { defer wg.Done(); srv.ServeTCP(rctx, tcp) }()
	t.Cleanup(func() { cancel(); wg.Wait(); udp.Close(); j.Close(); db.Close() })
	return s
}

// TestEnrollThenRunDeliversPolls is the agent end to end: enroll with a
// one-time token against the real collector, then run with a simulated
// SNMP device; the collector journals batches with the device's samples.
func TestEnrollThenRunDeliversPolls(t *testing.T) {
	col := startCollector(t)
	ctx := context.Background()
	now := time.Now()
	if err := col.db.AddAgent(ctx, "site1", []string{"edge*"}, now); err != nil {
		t.Fatal(err)
	}
	tok, err := enroll.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := col.db.SetAgentToken(ctx, "site1", enroll.HashToken(tok), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	pkiDir := filepath.Join(dir, "pki")
	eo := agentenroll.Options{Collector: col.tcpAddr, Name: "site1", Token: secret.New(tok), Fingerprint: "sha256:" + col.ca.Fingerprint(),
		CertPath: filepath.Join(pkiDir, "agent.pem"), KeyPath: filepath.Join(pkiDir, "agent.key"), CAPath: filepath.Join(pkiDir, "ca.pem")}
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

	dev, err := snmpsim.New(snmpsim.Config{SysName: "edge-1", Community: "public", Interfaces: snmpsim.GenerateInterfaces(4, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithCancel(ctx)
	defer dcancel()
	daddr, err := dev.ListenAndServe(dctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`name: site1
collector:
  address: %s
  server_name: localhost
  ca: %s
  cert: %s
  key: %s
  reconnect_min: 100ms
  reconnect_max: 1s
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
`, col.quicAddr, eo.CAPath, eo.CertPath, eo.KeyPath, filepath.Join(dir, "spool"), daddr.(*net.UDPAddr).Port)
	cfg, err := config.Parse("agent.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	m := metrics.New()
	events := make(chan uplink.Event, 16)
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- RunWith(rctx, cfg, log, Options{Metrics: m, OnSession: func(ev uplink.Event) {
			select {
			case events <- ev:
			default:
			}
		}})
	}()
	t.Cleanup(func() { rcancel(); <-done })

	deadline := time.Now().Add(20 * time.Second)
	var recs []*ingest.Record
	for {
		recs = col.sink.snapshot()
		samples, hosts := 0, 0
		for _, r := range recs {
			for _, u := range r.Updates {
				samples += len(u.Values)
			}
			hosts += len(r.Hosts)
		}
		if samples > 0 && hosts > 0 && len(recs) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector journaled %d records (%d samples, %d hosts); agent log:\n%s", len(recs), samples, hosts, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ev := <-events
	if !ev.Up || ev.Transport != "quic" {
		t.Fatalf("first session event %+v", ev)
	}
	rcancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not stop")
	}
	done <- nil

	var last uint64
	for _, r := range recs {
		if r.Agent != "site1" || r.Epoch == 0 {
			t.Fatalf("record %+v", r)
		}
		if r.Seq <= last && r.Kind == recs[0].Kind {
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

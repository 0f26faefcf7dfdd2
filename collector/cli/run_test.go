package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/collector/run"
	"github.com/outpost-nms/outpost/shared/enroll"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

func TestCAAndAgentCommands(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runCollector(t, "", "ca", "init", "--data-dir", dir, "--dns", "collector.test", "--ip", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "CA fingerprint:     sha256:") {
		t.Fatalf("ca init output:\n%s", out)
	}
	if _, _, err := runCollector(t, "", "ca", "init", "--data-dir", dir); err == nil {
		t.Fatal("second ca init overwrote the CA")
	}
	bundle := filepath.Join(dir, "bundle")
	if _, _, err := runCollector(t, "", "agent", "add", "edge1", "--hosts", "r*,sw-*", "--out", bundle, "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"agent.key": 0o600, "agent.pem": 0o644, "ca.pem": 0o644, ".": 0o700 | os.ModeDir} {
		st, err := os.Stat(filepath.Join(bundle, name))
		if err != nil || st.Mode() != mode {
			t.Errorf("%s: %v %v, want %v", name, st.Mode(), err, mode)
		}
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(bundle, "agent.pem"), filepath.Join(bundle, "agent.key")); err != nil {
		t.Fatal(err)
	}
	// "*" overlaps edge1's patterns: refused, naming the other agent and pattern, unless allowed.
	_, _, err = runCollector(t, "", "agent", "add", "edge2", "--hosts", "*", "--token", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), `pattern "*" overlaps agent edge1's pattern "r*" (both match "r")`) ||
		!strings.Contains(err.Error(), `agent edge1's pattern "sw-*"`) || !strings.Contains(err.Error(), "--allow-overlap") {
		t.Fatalf("overlapping agent add: %v", err)
	}
	out, _, err = runCollector(t, "", "agent", "add", "edge2", "--hosts", "*", "--token", "--allow-overlap", "--collector", "c.test:4701", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`outpost-agent enroll --collector c.test:4701 --name edge2 --token ope_\S+ --ca-fingerprint sha256:[0-9a-f]{64}`).MatchString(out) {
		t.Fatalf("agent add --token output:\n%s", out)
	}
	if _, _, err := runCollector(t, "", "agent", "add", "edge3", "--data-dir", dir, "--token"); err == nil {
		t.Fatal("agent add without --hosts accepted")
	}
	if _, _, err := runCollector(t, "", "agent", "revoke", "edge1", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCollector(t, "", "agent", "list", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "edge1") || strings.Contains(lines[1], " - ") && !strings.Contains(lines[1], "T") ||
		!strings.Contains(lines[2], "(token pending)") {
		t.Fatalf("agent list:\n%s", out)
	}
}

// logSink collects the collector's log for addresses and messages.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logSink) find(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		m := re.FindStringSubmatch(l.b.String())
		l.mu.Unlock()
		if m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("log never matched %s:\n%s", re, l.b.String())
	return nil
}

// TestRunEnrollIngestShutdown runs the whole collector in process: an
// agent enrolls with a token over the TCP listener, sends a batch over
// QUIC with the certificate it got, the metrics endpoint counts it, and a
// clean stop flushes it into the archive.
func TestRunEnrollIngestShutdown(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "collector.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`name: test
data_dir: %s
listen: {quic: "127.0.0.1:0", tcp: "127.0.0.1:0"}
web: {listen: "127.0.0.1:0"}
metrics: {listen: "127.0.0.1:0"}
`, dir)), 0o600)
	if _, _, err := runCollector(t, "", "ca", "init", "-c", cfgPath); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCollector(t, "", "agent", "add", "edge", "--hosts", "r*", "--token", "-c", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--token (ope_\S+) --ca-fingerprint (sha256:[0-9a-f]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token in:\n%s", out)
	}
	token, fingerprint := m[1], m[2]

	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logSink{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run.Serve(ctx, c, log) }()
	t.Cleanup(func() { cancel(); <-done })
	quicAddr := logs.find(t, regexp.MustCompile(`transport=quic addr=(\S+)`))[1]
	tcpAddr := logs.find(t, regexp.MustCompile(`transport=tcp addr=(\S+)`))[1]
	metricsAddr := logs.find(t, regexp.MustCompile(`msg="metrics listening" addr=(\S+)`))[1]

	// Enroll: own key, CSR, token, pinned CA.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "edge"}}, key)
	ectx, ecancel := context.WithTimeout(ctx, 10*time.Second)
	defer ecancel()
	resp, err := enroll.Enroll(ectx, tcpAddr, fingerprint, enroll.Request{Agent: "edge", Token: token, CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	cert, err := tls.X509KeyPair(resp.Cert, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(resp.CA)

	conn, err := quic.DialAddr(ectx, quicAddr, &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "localhost",
		Certificates: []tls.Certificate{cert}, NextProtos: []string{wire.ALPN}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	st, err := conn.OpenStreamSync(ectx)
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := wire.NewCodec()
	send := func(msg wire.Message) {
		b, err := codec.AppendFrame(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() wire.Message {
		typ, body, err := wire.ReadFrame(st, wire.HardMaxFrame, nil)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := codec.Decode(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	send(&wire.Hello{Agent: "edge", Proto: wire.ProtocolVersion, Epoch: 42, FirstSeq: 1, LastSeq: 1})
	if ack, ok := recv().(*wire.HelloAck); !ok || ack.AckedSeq != 0 || ack.Collector != "test" {
		t.Fatalf("hello-ack %+v", ack)
	}
	send(&wire.Series{First: 1, Defs: []wire.SeriesDef{{Host: "r1", Attr: "oid:temp", DS: "value", Kind: sample.Gauge}}})
	ts := time.Now().Add(-time.Minute).Unix()
	send(&wire.Batch{Seq: 1, Groups: []wire.Group{{Time: ts * 1000, FloatIDs: []uint32{1}, Floats: []float64{21.5}}},
		Hosts: []wire.Host{{Name: "r1", Attrs: []wire.Attr{{Key: "oid:temp", Kind: wire.KindOID, Interval: 60,
			DS: []wire.DSDef{{Name: "value", Kind: sample.Gauge, Min: -100, Max: 200}}}}}}})
	if ack, ok := recv().(*wire.Ack); !ok || ack.Seq != 1 {
		t.Fatalf("ack %+v", ack)
	}
	mresp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{"outpost_collector_batches_total 1", "outpost_collector_samples_total 1", `outpost_collector_connections_total{transport="quic"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	conn.CloseWithError(0, "")

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	done <- nil // for the cleanup
	logs.find(t, regexp.MustCompile(`msg="collector stopped cleanly"`))
	last, err := rrd.LastUpdate(filepath.Join(dir, "rrd", "r1", "oid%3Atemp.rrd"))
	if err != nil || last.Unix() != ts {
		t.Fatalf("archive last update %v (%v), want %d", last, err, ts)
	}
}

package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestRunSurvivesKill9 runs `outpost-collector run` (this test binary
// re-executed as the collector, through cli.Main exactly as main.go does)
// as a child process, kills it with SIGKILL twice while an agent streams
// batches, restarts it each time, stops it with SIGTERM at the end, and
// checks the archive: every acknowledged poll is there with its value.
func TestRunSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns collector processes")
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "collector.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`name: kill9
data_dir: %s
listen: {quic: "127.0.0.1:0", tcp: "off"}
web: {listen: "127.0.0.1:0"}
metrics: {listen: "off"}
rrd: {flush_interval: 1s}
log: {format: text}
`, dir)), 0o600)
	if _, _, err := runCollector(t, "", "ca", "init", "-c", cfgPath); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "agent")
	if _, _, err := runCollector(t, "", "agent", "add", "edge", "--hosts", "r*", "--out", bundle, "-c", cfgPath); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(bundle, "agent.pem"), filepath.Join(bundle, "agent.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(bundle, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{cert}, NextProtos: []string{wire.ALPN}}
	codec, _ := wire.NewCodec()

	const total = 60
	base := time.Now().Add(-2*time.Hour).Unix() / 60 * 60 // polls on step boundaries
	batch := func(seq uint64) *wire.Batch {
		ts := base + int64(seq)*60
		return &wire.Batch{Seq: seq, Groups: []wire.Group{{Time: ts * 1000, FloatIDs: []uint32{0}, Floats: []float64{float64(seq) + 0.5}}},
			Hosts: []wire.Host{{Name: "r1", Attrs: []wire.Attr{{Key: "oid:temp", Kind: wire.KindOID, Interval: 60,
				DS: []wire.DSDef{{Name: "value", Kind: sample.Gauge, Min: math.NaN(), Max: math.NaN()}}}}}}}
	}
	var acked uint64
	for round := 0; ; round++ {
		child := testbed.CrashChild(t, "TestRunSurvivesKill9", cfgPath)
		stderr, _ := child.StderrPipe()
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { child.Process.Kill(); child.Wait() })
		addrc := make(chan string, 1)
		go func() {
			re := regexp.MustCompile(`transport=quic addr=(\S+)`)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					addrc <- m[1]
				}
			}
		}()
		var addr string
		select {
		case addr = <-addrc:
		case <-time.After(30 * time.Second):
			t.Fatal("collector did not start")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		conn, err := quic.DialAddr(ctx, addr, tlsConf, nil)
		if err != nil {
			t.Fatal(err)
		}
		st, err := conn.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		send := func(m wire.Message) {
			b, _ := codec.AppendFrame(nil, m)
			if _, err := st.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		recv := func() wire.Message {
			typ, body, err := wire.ReadFrame(st, wire.HardMaxFrame, nil)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			m, err := codec.Decode(typ, body)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		send(&wire.Hello{Agent: "edge", Proto: wire.ProtocolVersion, Epoch: 99, FirstSeq: acked + 1, LastSeq: total})
		ha, ok := recv().(*wire.HelloAck)
		if !ok || ha.AckedSeq < acked {
			t.Fatalf("round %d: hello-ack %+v after %d were acked", round, ha, acked)
		}
		acked = ha.AckedSeq
		send(&wire.Series{First: 0, Defs: []wire.SeriesDef{{Host: "r1", Attr: "oid:temp", DS: "value", Kind: sample.Gauge}}})
		killAt := uint64(0)
		if round < 2 {
			killAt = acked + 12
		}
		for seq := acked + 1; seq <= total; seq++ {
			send(batch(seq))
			if seq == killAt {
				child.Process.Signal(syscall.SIGKILL)
				child.Wait()
				break
			}
			if a, ok := recv().(*wire.Ack); !ok || a.Seq != seq {
				t.Fatalf("round %d: ack %+v for %d", round, a, seq)
			}
			acked = seq
		}
		conn.CloseWithError(0, "")
		cancel()
		if killAt != 0 {
			t.Logf("round %d: killed with batch %d in flight, %d acked", round, killAt, acked)
			continue
		}
		child.Process.Signal(syscall.SIGTERM)
		if err := child.Wait(); err != nil {
			t.Fatalf("collector exit after SIGTERM: %v", err)
		}
		break
	}
	res, err := rrd.Fetch(filepath.Join(dir, "rrd", "r1", "oid%3Atemp.rrd"), rrd.Average, time.Unix(base+60, 0), time.Unix(base+total*60, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, row := range res.Rows {
		seq := (res.Start.Unix() + int64(i+1)*60 - base) / 60
		if seq < 2 || seq > total {
			continue
		}
		if math.Abs(row[0]-(float64(seq)+0.5)) > 1e-9 {
			t.Errorf("poll %d: %v, want %v", seq, row[0], float64(seq)+0.5)
		}
		n++
	}
	if n != total-1 {
		t.Fatalf("%d polls in the archive, want %d", n, total-1)
	}
}

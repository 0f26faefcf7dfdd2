package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestRunForwardsToPrometheus runs `outpost-collector run` as a child
// process with forward.remote_write pointing at a real Prometheus, streams
// one interface's 64-bit octet counter from an agent, and:
//
//   - kills the collector with SIGKILL twice, once with Prometheus up and
//     once while Prometheus is stopped (a backlog in the journal), then
//     lets it drain;
//   - checks Prometheus holds every poll of ifHCInOctets (nothing missing)
//     and the forwarder logged no refused samples (no out-of-order
//     rejections left over from the restarts);
//   - compares PromQL rate(ifHCInOctets[90s]) with the RRD archive's
//     AVERAGE for every minute.
//
// Tolerance: the polls fall on the archive's step boundaries, so the RRD
// AVERAGE of a row is exactly (v(t)-v(t-60))/60; rate() over 90 s sees
// the two samples t-60 and t and extrapolates the 60 s between them to
// the 90 s window (30 s to its start, which is under 1.1 × the sample
// interval) and divides by 90 s: the same quotient. Both agree to 1e-9
// relative. Polls off the step boundaries would spread a poll's increase
// over two rows in the RRD and not in rate(), which is the difference the
// mapping table in docs/forwarding.md warns about.
func TestRunForwardsToPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns collector processes")
	}
	prom := testbed.StartPrometheus(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "collector.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`name: fwd
data_dir: %s
listen: {quic: "127.0.0.1:0", tcp: "off"}
web: {listen: "127.0.0.1:0"}
metrics: {listen: "off"}
rrd: {flush_interval: 1s}
log: {format: text}
forward:
  remote_write:
    - name: prom
      url: %s
      queue: {batch_send_deadline: 20ms, min_backoff: 20ms, max_backoff: 200ms}
`, dir, prom.WriteURL())), 0o600)
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
	counter := func(seq uint64) uint64 {
		// 1e12 start (far from zero, so rate() does not cut its
		// extrapolation at the counter's zero) and a varying rate.
		var v uint64 = 1e12
		for s := uint64(1); s <= seq; s++ {
			v += 60 * (1000 + 997*(s%7))
		}
		return v
	}
	// The inventory comes with the first batch only: after a restart the
	// forwarder finds the interface's labels in the inventory database.
	batch := func(seq uint64) *wire.Batch {
		ts := base + int64(seq)*60
		b := &wire.Batch{Seq: seq, Groups: []wire.Group{{Time: ts * 1000, Ints: []uint64{0, counter(seq)}}}}
		if seq == 1 {
			b.Hosts = []wire.Host{{Name: "r1", Attrs: []wire.Attr{{Key: "if:ge-0/0/1", Kind: wire.KindInterface, Name: "ge-0/0/1", Interval: 60,
				Props: map[string]string{"ifIndex": "1", "ifName": "ge-0/0/1", "ifDescr": "GigabitEthernet0/0/1", "ifAlias": "uplink"},
				DS:    []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: math.NaN()}}}}}}
		}
		return b
	}
	var logs syncBuffer
	var acked uint64
	for round := 0; ; round++ {
		switch round {
		case 1:
			prom.Stop() // round 1 builds a backlog
		case 2:
			prom.Start()
		}
		child := testbed.CrashChild(t, "TestRunForwardsToPrometheus", cfgPath)
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
				logs.WriteLine(sc.Text())
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					addrc <- m[1]
				}
			}
		}()
		var addr string
		select {
		case addr = <-addrc:
		case <-time.After(30 * time.Second):
			t.Fatalf("collector did not start:\n%s", logs.String())
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
		send(&wire.Hello{Agent: "edge", Proto: wire.ProtocolVersion, Epoch: 7, FirstSeq: acked + 1, LastSeq: total})
		ha, ok := recv().(*wire.HelloAck)
		if !ok || ha.AckedSeq < acked {
			t.Fatalf("round %d: hello-ack %+v after %d were acked", round, ha, acked)
		}
		acked = ha.AckedSeq
		send(&wire.Series{First: 0, Defs: []wire.SeriesDef{{Host: "r1", Attr: "if:ge-0/0/1", DS: "in_octets", Kind: sample.Counter64}}})
		killAt := uint64(0)
		if round < 2 {
			killAt = acked + 20
		}
		for seq := acked + 1; seq <= total; seq++ {
			send(batch(seq))
			if seq == killAt {
				if round == 0 {
					time.Sleep(30 * time.Millisecond) // let the forwarder be mid-send
				}
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
		// Drain: wait until Prometheus has every poll, then stop cleanly.
		deadline := time.Now().Add(60 * time.Second)
		for {
			got := prom.Query(`count_over_time(ifHCInOctets{host="r1",ifName="ge-0/0/1"}[3h])`, time.Unix(base+total*60, 0))
			if len(got) == 1 && got[0].Value == total {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus holds %v of %d polls\n%s", got, total, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		child.Process.Signal(syscall.SIGTERM)
		if err := child.Wait(); err != nil {
			t.Fatalf("collector exit after SIGTERM: %v", err)
		}
		break
	}
	if bytes.Contains([]byte(logs.String()), []byte("refused samples")) {
		t.Errorf("the forwarder logged refused samples:\n%s", logs.String())
	}
	for seq := uint64(1); seq <= total; seq++ {
		got := prom.Query(`ifHCInOctets{host="r1",agent="edge",ifIndex="1",ifDescr="GigabitEthernet0/0/1",ifAlias="uplink"}`, time.Unix(base+int64(seq)*60, 0))
		if len(got) != 1 || got[0].Value != float64(counter(seq)) {
			t.Errorf("poll %d: Prometheus has %v, want the raw counter %d", seq, got, counter(seq))
		}
	}
	res, err := rrd.Fetch(filepath.Join(dir, "rrd", "r1", "if%3Age-0%2F0%2F1.rrd"), rrd.Average, time.Unix(base+60, 0), time.Unix(base+total*60, 0), time.Minute)
	if err != nil {
		entries, _ := filepath.Glob(filepath.Join(dir, "rrd", "r1", "*"))
		t.Fatalf("%v (archives: %v)", err, entries)
	}
	compared := 0
	for i, row := range res.Rows {
		end := res.Start.Unix() + int64(i+1)*60
		seq := (end - base) / 60
		if seq < 2 || seq > total || math.IsNaN(row[0]) {
			continue
		}
		got := prom.Query(`rate(ifHCInOctets{host="r1"}[90s])`, time.Unix(end, 0))
		if len(got) != 1 {
			t.Fatalf("rate at poll %d: %v", seq, got)
		}
		if math.Abs(got[0].Value-row[0]) > 1e-9*row[0] {
			t.Errorf("poll %d: rate() %v, RRD AVERAGE %v", seq, got[0].Value, row[0])
		}
		compared++
	}
	if compared < total-2 {
		t.Errorf("compared %d minutes, want at least %d", compared, total-2)
	}
}

// syncBuffer collects log lines from a goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteLine(l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(l + "\n")
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

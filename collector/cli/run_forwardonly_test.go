package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestRunForwardOnlyToPrometheus runs `outpost-collector run` forward-only
// (rrd.enabled: false) as a child process into a real Prometheus, streams
// an interface's counter and status from an agent, and checks that
// Prometheus holds every poll and the interface's status, that the web API
// shows the interface with its status and answers its series request 404
// (graphs come from the store), and that no archive exists on disk.
func TestRunForwardOnlyToPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a collector process")
	}
	prom := testbed.StartPrometheus(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "collector.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`name: fwd-only
data_dir: %s
listen: {quic: "127.0.0.1:0", tcp: "off"}
web: {listen: "127.0.0.1:0"}
metrics: {listen: "off"}
rrd: {enabled: false, flush_interval: 1s}
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
	if _, _, err := runCollector(t, "viewer-password\n", "user", "add", "ops", "-c", cfgPath); err != nil {
		t.Fatal(err)
	}
	token, _, err := runCollector(t, "", "user", "token", "ops", "-c", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	token = strings.TrimSpace(token)
	cert, err := tls.LoadX509KeyPair(filepath.Join(bundle, "agent.pem"), filepath.Join(bundle, "agent.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(bundle, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{cert}, NextProtos: []string{wire.ALPN}}
	codec, _ := wire.NewCodec()

	child := testbed.CrashChild(t, "TestRunForwardOnlyToPrometheus", cfgPath)
	stderr, _ := child.StderrPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	var logs syncBuffer
	addrc, webc := make(chan string, 1), make(chan string, 1)
	go func() {
		quicRE, webRE := regexp.MustCompile(`transport=quic addr=(\S+)`), regexp.MustCompile(`web UI listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteLine(sc.Text())
			if m := quicRE.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
			if m := webRE.FindStringSubmatch(sc.Text()); m != nil {
				webc <- m[1]
			}
		}
	}()
	var addr, web string
	for addr == "" || web == "" {
		select {
		case addr = <-addrc:
		case web = <-webc:
		case <-time.After(30 * time.Second):
			t.Fatalf("collector did not start:\n%s", logs.String())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, tlsConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
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
			t.Fatal(err)
		}
		m, err := codec.Decode(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	const total = 30
	base := time.Now().Add(-time.Hour).Unix() / 60 * 60
	counter := func(seq uint64) uint64 { return 1e12 + seq*60*(1000+seq%5) }
	send(&wire.Hello{Agent: "edge", Proto: wire.ProtocolVersion, Epoch: 9, FirstSeq: 1, LastSeq: total})
	if _, ok := recv().(*wire.HelloAck); !ok {
		t.Fatal("no hello-ack")
	}
	send(&wire.Series{First: 0, Defs: []wire.SeriesDef{{Host: "r1", Attr: "if:ge-0/0/1", DS: "in_octets", Kind: sample.Counter64}}})
	for seq := uint64(1); seq <= total; seq++ {
		ts := base + int64(seq)*60
		b := &wire.Batch{Seq: seq, Groups: []wire.Group{{Time: ts * 1000, Ints: []uint64{0, counter(seq)}}}}
		if seq == 1 {
			b.Hosts = []wire.Host{{Name: "r1", Complete: true, Attrs: []wire.Attr{{Key: "if:ge-0/0/1", Kind: wire.KindInterface, Name: "ge-0/0/1", Interval: 60,
				Props: map[string]string{"ifIndex": "1", "ifName": "ge-0/0/1", "ifDescr": "GigabitEthernet0/0/1", "ifAlias": "uplink"},
				DS:    []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: math.NaN()}}}}}}
			b.Statuses = []wire.AttrStatus{{Host: "r1", Attr: "if:ge-0/0/1", Status: status.Up, Reason: "ifOperStatus up", Time: ts * 1000}}
		}
		send(b)
		if a, ok := recv().(*wire.Ack); !ok || a.Seq != seq {
			t.Fatalf("ack %+v for %d", a, seq)
		}
	}

	// Every poll and the status reach Prometheus.
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := prom.Query(`count_over_time(ifHCInOctets{host="r1",ifName="ge-0/0/1"}[2h])`, time.Unix(base+total*60, 0))
		if len(got) == 1 && got[0].Value == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus holds %v of %d polls\n%s", got, total, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, seq := range []uint64{1, total / 2, total} {
		got := prom.Query(`ifHCInOctets{host="r1",agent="edge",ifIndex="1",ifAlias="uplink"}`, time.Unix(base+int64(seq)*60, 0))
		if len(got) != 1 || got[0].Value != float64(counter(seq)) {
			t.Errorf("poll %d: Prometheus has %v, want %d", seq, got, counter(seq))
		}
	}
	if got := prom.Query(`outpost_attribute_status{host="r1",attribute="if:ge-0/0/1",status="up"}`, time.Unix(base+60, 0)); len(got) != 1 || got[0].Value != 1 {
		t.Errorf("status in Prometheus: %v", got)
	}

	// The web API: the inventory and status are there, graphs are not.
	apiGet := func(path string) (int, []byte) {
		req, _ := http.NewRequest("GET", "http://"+web+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, body
	}
	code, body := apiGet("/api/v1/hosts/r1/attributes")
	var page struct {
		Items []struct {
			ID         int64         `json:"id"`
			Key        string        `json:"key"`
			Status     status.Status `json:"status"`
			HasArchive bool          `json:"has_archive"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &page); code != http.StatusOK || err != nil || len(page.Items) != 1 {
		t.Fatalf("attributes: %d %s", code, body)
	}
	if it := page.Items[0]; it.Key != "if:ge-0/0/1" || it.Status != status.Up || it.HasArchive {
		t.Errorf("attribute %+v", it)
	}
	if code, body := apiGet(fmt.Sprintf("/api/v1/attributes/%d/series?start=-2h", page.Items[0].ID)); code != http.StatusNotFound ||
		!strings.Contains(string(body), "graphs come from the remote-write store (prom)") {
		t.Errorf("series: %d %s", code, body)
	}

	child.Process.Signal(syscall.SIGTERM)
	if err := child.Wait(); err != nil {
		t.Fatalf("collector exit after SIGTERM: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "collector stopped cleanly") {
		t.Errorf("no clean stop:\n%s", logs.String())
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".rrd") || (d.IsDir() && d.Name() == "rrd")) {
			t.Errorf("archive on disk: %s", p)
		}
		return nil
	})
}

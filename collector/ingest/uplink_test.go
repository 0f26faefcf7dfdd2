package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/batch"
	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/agent/uplink"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestRealAgentEndToEnd runs the agent's own send path (batch → spool →
// uplink) against this collector, restarts the collector in the middle,
// and checks that every poll reaches the archive and the inventory.
func TestRealAgentEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{})
	cert := s.addAgent(t, "edge", "r*")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	sp, err := spool.Open(spool.Options{Dir: filepath.Join(t.TempDir(), "spool"), FsyncInterval: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	bt, err := batch.New(sp, batch.Options{Interval: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	up, err := uplink.New(uplink.Config{Agent: "edge", Software: "e2e", Addr: s.quicAddr, TLS: s.clientTLS(&cert),
		BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond, Logger: quiet}, sp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	upDone := make(chan struct{})
	go func() { defer close(upDone); up.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-upDone })

	const polls = 40
	base := time.Unix(1_800_000_000, 0)
	poll1 := func(i int) {
		at := base.Add(time.Duration(i) * time.Minute)
		r := poll.Report{Host: "r1", Points: []sample.Point{
			{Key: sample.Key{Host: "r1", Attr: "if:eth0", DS: "in_octets"}, Kind: sample.Counter64, Time: at, Uint: uint64(i) * 60_000},
			{Key: sample.Key{Host: "r1", Attr: "host", DS: "rtt"}, Kind: sample.Gauge, Time: at, Float: float64(i) / 1000},
		}, Statuses: []wire.AttrStatus{{Host: "r1", Attr: "if:eth0", Status: status.Up, Time: at.UnixMilli()}}}
		if i == 1 {
			h := testHost("r1", 60)
			h.Attrs[0].DS = h.Attrs[0].DS[:1]
			r.Inventory = &h
		}
		bt.Report(r)
		bt.Flush()
	}
	waitAcked := func(seq uint64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, _, acked := sp.Bounds(); acked >= seq {
				return
			}
			if time.Now().After(deadline) {
				_, _, acked := sp.Bounds()
				t.Fatalf("agent acked %d, want %d", acked, seq)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := 1; i <= polls/2; i++ {
		poll1(i)
	}
	waitAcked(polls / 2)
	// Restart the collector on the same address; the agent keeps polling meanwhile.
	addr := s.quicAddr
	s.shutdown(t)
	for i := polls/2 + 1; i <= polls; i++ {
		poll1(i)
	}
	s2 := openStack(t, dir, stackOptions{quicAddr: addr})
	waitAcked(polls)
	cancel()
	<-upDone
	s2.shutdown(t)

	res, err := rrd.Fetch(filepath.Join(dir, "rrd/r1/host.rrd"), rrd.Average, base.Add(time.Minute), base.Add(polls*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, row := range res.Rows {
		p := (res.Start.Add(time.Duration(i+1)*res.Step).Unix() - base.Unix()) / 60
		if p < 2 || p > polls {
			continue
		}
		if math.Abs(row[0]-float64(p)/1000) > 1e-9 {
			t.Errorf("poll %d: rtt %v", p, row[0])
		}
		n++
	}
	if n != polls-1 {
		t.Fatalf("%d polls in the archive, want %d", n, polls-1)
	}
	res, err = rrd.Fetch(filepath.Join(dir, "rrd/r1/if%3Aeth0.rrd"), rrd.Average, base.Add(2*time.Minute), base.Add(polls*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range res.Rows {
		if math.Abs(row[0]-1000) > 1e-9 {
			t.Errorf("row %d: in_octets rate %v, want 1000", i, row[0])
		}
	}
	if attr, err := s2.db.AttributeByKey(context.Background(), "r1", "if:eth0"); err != nil || attr.Status != status.Up {
		t.Fatalf("inventory: %+v %v", attr, err)
	}
}

// TestSpoolWithInvalidUTF8Drains: a spool written before the agent cleaned
// device strings holds series definitions and inventory with bytes that
// are not UTF-8 (a Latin-1 ifAlias, firmware garbage). Before issue 15 the
// collector refused the series frame and the agent resent it forever, so
// no device of the site got through. Now the spool drains: the strings
// arrive escaped, and the site's other device flows as before.
func TestSpoolWithInvalidUTF8Drains(t *testing.T) {
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{})
	cert := s.addAgent(t, "edge", "r*")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(t.TempDir(), "spool"), FsyncInterval: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	codec, err := wire.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	// What an older agent spooled: the registry and batches as they are,
	// without the batcher's string guard.
	reg := sp.Registry()
	id := func(host, attr, ds string, kind sample.Kind) uint64 {
		n, err := reg.ID(sample.Key{Host: host, Attr: attr, DS: ds}, kind)
		if err != nil {
			t.Fatal(err)
		}
		return uint64(n)
	}
	badIn := id("r1", "if:B\xfcro\xff", "in_octets", sample.Counter64)
	goodIn := id("r2", "if:eth0", "in_octets", sample.Counter64)
	base := int64(1_800_000_000)
	const polls = 5
	for i := int64(1); i <= polls; i++ {
		at := (base + i*60) * 1000
		b := &wire.Batch{Groups: []wire.Group{{Time: at, Ints: []uint64{badIn, uint64(i) * 60_000, goodIn, uint64(i) * 120_000}}},
			Statuses: []wire.AttrStatus{{Host: "r1", Attr: "if:B\xfcro\xff", Status: status.Up, Reason: "up \x1b]0;pwned\x07", Time: at}}}
		if i == 1 {
			h1 := testHost("r1", 60)
			h1.SysDescr, h1.Location = "Cisco IOS\x00\xc3\x28", "B\xfcro"
			h1.Attrs[0].Key, h1.Attrs[0].Descr = "if:B\xfcro\xff", "Uplink B\xfcro \xe2\x82"
			h1.Attrs[0].DS = h1.Attrs[0].DS[:1]
			h2 := testHost("r2", 60)
			h2.Attrs[0].DS = h2.Attrs[0].DS[:1]
			b.Hosts = []wire.Host{h1, h2}
		}
		if _, err := sp.Append(2, func(seq uint64) ([]byte, error) { b.Seq = seq; return codec.Marshal(b) }); err != nil {
			t.Fatal(err)
		}
	}
	// The upgraded agent starts and sends its spool.
	m := metrics.New()
	up, err := uplink.New(uplink.Config{Agent: "edge", Software: "e2e", Addr: s.quicAddr, TLS: s.clientTLS(&cert),
		BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond, Logger: quiet, Metrics: m}, sp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	upDone := make(chan struct{})
	go func() { defer close(upDone); up.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, acked := sp.Bounds(); acked >= polls {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool did not drain: %d sessions refused", int(counterValue(s.m.Refused.WithLabelValues("protocol"))))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-upDone
	if n := counterValue(s.m.Refused.WithLabelValues("protocol")); n != 0 {
		t.Fatalf("%v sessions refused", n)
	}
	s.shutdown(t)
	ctx = context.Background()
	attr, err := s.db.AttributeByKey(ctx, "r1", `if:B\xfcro\xff`)
	if err != nil || attr.Status != status.Up || attr.Descr != `Uplink B\xfcro \xe2\x82` || attr.StatusReason != `up \x1b]0;pwned\x07` {
		t.Fatalf("r1 attribute %+v, %v", attr, err)
	}
	for _, f := range []string{"rrd/r1/if%3AB%5Cxfcro%5Cxff.rrd", "rrd/r2/if%3Aeth0.rrd"} {
		res, err := rrd.Fetch(filepath.Join(dir, f), rrd.Average, time.Unix(base+120, 0), time.Unix(base+polls*60, 0), time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		known := 0
		for _, row := range res.Rows {
			if !math.IsNaN(row[0]) {
				known++
			}
		}
		if known < polls-2 {
			t.Fatalf("%s: %d known rows of %d: %v", f, known, len(res.Rows), res.Rows)
		}
	}
}

// TestHugeInventoryThroughTheUplink: an agent whose device has 4,000
// interfaces with long descriptions (an inventory of about 4 MB; the
// batcher's own test splits one of 10,000; here every attribute also gets
// an archive, which is what takes the time)
// sends it to a collector that accepts only the minimum frame; the
// inventory arrives in parts, whole; a later inventory without one
// interface marks exactly that one gone.
func TestHugeInventoryThroughTheUplink(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{maxFrame: wire.MinMaxFrame})
	cert := s.addAgent(t, "edge", "stack*")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(t.TempDir(), "spool"), FsyncInterval: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	bt, err := batch.New(sp, batch.Options{Interval: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	up, err := uplink.New(uplink.Config{Agent: "edge", Software: "e2e", Addr: s.quicAddr, TLS: s.clientTLS(&cert),
		BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond, Logger: quiet, Metrics: m}, sp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	upDone := make(chan struct{})
	go func() { defer close(upDone); up.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-upDone })

	const n = 4_000
	inventory := func(skip int) *wire.Host {
		h := &wire.Host{Name: "stack1", Address: "192.0.2.9", SysName: "stack1", Complete: true}
		for i := 1; i <= n; i++ {
			if i == skip {
				continue
			}
			h.Attrs = append(h.Attrs, wire.Attr{Key: fmt.Sprintf("if:%d", i), Kind: wire.KindInterface, Name: fmt.Sprintf("Gi%d/0/%d", i/48+1, i%48),
				Descr: strings.Repeat(fmt.Sprintf("customer %d uplink ", i), 40), Props: map[string]string{"ifIndex": fmt.Sprint(i)}, Interval: 60,
				DS: []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: math.NaN()}}})
		}
		return h
	}
	base := time.Unix(1_800_000_000, 0)
	report := func(at time.Time, skip int) {
		r := poll.Report{Host: "stack1", Inventory: inventory(skip)}
		for i := 1; i <= n; i++ {
			if i != skip {
				r.Points = append(r.Points, sample.Point{Key: sample.Key{Host: "stack1", Attr: fmt.Sprintf("if:%d", i), DS: "in_octets"},
					Kind: sample.Counter64, Time: at, Uint: uint64(at.Unix())})
			}
		}
		bt.Report(r)
	}
	waitDrained := func() uint64 {
		t.Helper()
		_, target, acked := sp.Bounds() // the spool is empty (last 0) once everything is acked
		target = max(target, acked)
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, _, acked := sp.Bounds(); acked >= target {
				return target
			}
			if time.Now().After(deadline) {
				t.Fatalf("acked %d of %d", acked, target)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t0 := time.Now()
	report(base, 0)
	waitDrained()
	t.Logf("first inventory: %v", time.Since(t0))
	report(base.Add(time.Minute), 3210)
	last := waitDrained()
	t.Logf("second inventory: %v", time.Since(t0))
	cancel()
	<-upDone
	if got := counterValue(s.m.Refused.WithLabelValues("protocol")); got != 0 {
		t.Fatalf("%v sessions refused", got)
	}
	if last < 20 {
		t.Fatalf("%d batches for two inventories of ~4 MB", last)
	}
	s.shutdown(t)
	t.Logf("shutdown: %v", time.Since(t0))
	db := s.db.Reader()
	var live, gone int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE gone = 0), count(*) FILTER (WHERE gone = 1) FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = 'stack1'`).Scan(&live, &gone); err != nil {
		t.Fatal(err)
	}
	if live != n-1 || gone != 1 {
		t.Fatalf("%d attributes live, %d gone; want %d and 1", live, gone, n-1)
	}
	if a, err := s.db.AttributeByKey(context.Background(), "stack1", "if:3210"); err != nil || !a.Gone {
		t.Fatalf("if:3210: %+v, %v", a, err)
	}
}

package ingest

import (
	"context"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/batch"
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

package ingest

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/collector/metrics"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestApplierTunesLimits: when the agent describes an interface with new
// data source maxima (its speed changed), the existing archive gets them
// (rrdtool tune), and the updates after that store a rate over the new
// maximum as unknown; an unchanged description changes nothing.
func TestApplierTunesLimits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := inventory.Open(ctx, filepath.Join(dir, "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cache := rrd.NewCache(rrd.CacheOptions{FlushInterval: time.Hour})
	defer cache.Close(ctx)
	logs := &syncBuffer{}
	m := metrics.New()
	app, err := NewApplier(ApplierConfig{DataDir: dir}, j, db, cache, m, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	host := func(maxOctets, maxPkts float64) wire.Host {
		return wire.Host{Name: "sw1", Complete: true, Attrs: []wire.Attr{{Key: "if:ge-0/0/1", Kind: wire.KindInterface, Name: "ge-0/0/1", Interval: 60,
			DS: []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: maxOctets}, {Name: "in_ucast", Kind: sample.Counter64, Min: 0, Max: maxPkts}}}}}
	}
	base := int64(1_800_000_000)
	seq := uint64(0)
	apply := func(h *wire.Host, at int64, octets uint64) {
		seq++
		rec := &Record{Kind: RecordBatch, Agent: "edge", Epoch: 1, Seq: seq, Received: at * 1000,
			Updates: []AttrUpdate{{Host: "sw1", Attr: "if:ge-0/0/1", Time: at * 1000, Values: []DSValue{
				{DS: "in_octets", Kind: sample.Counter64, Uint: octets}, {DS: "in_ucast", Kind: sample.Counter64, Uint: octets / 1000}}}}}
		if h != nil {
			rec.Hosts = []wire.Host{*h}
		}
		app.apply(ctx, rec)
	}
	path := filepath.Join(dir, filepath.FromSlash(ArchivePath("sw1", "if:ge-0/0/1")))
	limits := func() (float64, float64) {
		t.Helper()
		in, err := rrd.ReadInfo(path)
		if err != nil {
			t.Fatal(err)
		}
		return in.DS[0].Max, in.DS[1].Max
	}

	// 100 Mb/s: 12.5e6 B/s (x1.25 = 15.625e6), a packet maximum to match.
	h100 := host(15.625e6, 186011.9)
	apply(&h100, base, 0)
	if o, p := limits(); o != 15.625e6 || p != 186011.9 {
		t.Fatalf("created with max %v %v", o, p)
	}
	apply(nil, base+60, 60*20e6) // 20 MB/s: above the 100 Mb/s maximum
	// The port becomes 1 Gb/s: the archive follows.
	h1g := host(156.25e6, 1860119)
	apply(&h1g, base+120, 2*60*20e6)
	if o, p := limits(); o != 156.25e6 || p != 1860119 {
		t.Fatalf("after the speed change: max %v %v", o, p)
	}
	apply(nil, base+180, 3*60*20e6) // 20 MB/s is fine now
	if !strings.Contains(logs.String(), "archive limit changed") || !strings.Contains(logs.String(), "new=1.5625e+08") {
		t.Errorf("no log of the change:\n%s", logs.String())
	}
	mark := logs.mark()
	apply(&h1g, base+240, 4*60*20e6) // unchanged description
	if strings.Contains(logs.String()[mark:], "archive limit changed") {
		t.Error("an unchanged description tuned the archive again")
	}
	// Speed unknown: no maximum.
	hNone := host(nan, nan)
	apply(&hNone, base+300, 5*60*20e6)
	if o, p := limits(); !math.IsNaN(o) || !math.IsNaN(p) {
		t.Fatalf("speed unknown: max %v %v", o, p)
	}
	if err := cache.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := rrd.Fetch(path, rrd.Average, time.Unix(base, 0), time.Unix(base+180, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for i, row := range res.Rows {
		// Rows are labelled by the end of their step, the first by Start+Step.
		if end := res.Start.Add(time.Duration(i+1) * res.Step).Unix(); end > base && end <= base+180 {
			got = append(got, row[0])
		}
	}
	// Rows ending at +60 (over the 100 Mb/s maximum: unknown, although
	// it was still queued when the maximum was raised), +120 and +180
	// (20 MB/s under the 1 Gb/s one: +120 came with the new description).
	if len(got) < 3 || !math.IsNaN(got[0]) || got[1] != 20e6 || got[2] != 20e6 {
		t.Errorf("in_octets rows %v, want [NaN 2e7 2e7]", got)
	}
	if n := counterValue(m.ApplyErrors); n != 0 {
		t.Errorf("apply errors %v", n)
	}
}

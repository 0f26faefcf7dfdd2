package batch

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openSpool(t *testing.T) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), FsyncInterval: -1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

func readBatches(t *testing.T, sp *spool.Spool) []*wire.Batch {
	t.Helper()
	codec, _ := wire.NewCodec()
	c := sp.ReadFrom(1)
	var out []*wire.Batch
	for {
		r, err := c.Next()
		if err == spool.ErrNoRecord {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		m, err := codec.Decode(wire.TypeBatch, r.Payload)
		if err != nil {
			t.Fatalf("seq %d: %v", r.Seq, err)
		}
		b := m.(*wire.Batch)
		if b.Seq != r.Seq || uint32(b.Samples()) != r.Samples {
			t.Fatalf("record seq %d samples %d, batch seq %d samples %d", r.Seq, r.Samples, b.Seq, b.Samples())
		}
		out = append(out, b)
	}
}

func TestGroupingKindsResets(t *testing.T) {
	sp := openSpool(t)
	m := metrics.New()
	b, err := New(sp, Options{Logger: quiet(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.UnixMilli(1_800_000_000_123)
	t2 := t1.Add(time.Minute)
	k := func(attr, ds string) sample.Key { return sample.Key{Host: "r1", Attr: attr, DS: ds} }
	b.Report(poll.Report{Host: "r1", Points: []sample.Point{
		{Key: k("if:ge0", "in_octets"), Kind: sample.Counter64, Time: t1, Uint: 1 << 40},
		{Key: k("if:ge0", "out_octets"), Kind: sample.Counter64, Time: t1, Uint: 7, Reset: true},
		{Key: k("host", "rtt"), Kind: sample.Gauge, Time: t1, Float: 0.0123},
		{Key: k("oid:temp", "value"), Kind: sample.Derive, Time: t2, Float: -4},
		{Key: k("if:ge1", "in_errors"), Kind: sample.Counter32, Time: t2, Uint: math.MaxUint32},
		{Key: k("oid:pkts", "value"), Kind: sample.Absolute, Time: t2, Uint: 12},
	}, Statuses: []wire.AttrStatus{{Host: "r1", Attr: "if:ge0", Status: status.Up, Time: t1.UnixMilli()}},
		Inventory: &wire.Host{Name: "r1", SysName: "router-1", Attrs: []wire.Attr{{Key: "if:ge0", Kind: wire.KindInterface, DS: []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64}}}}}})
	b.Report(poll.Report{Host: "r1", Points: []sample.Point{
		{Key: k("if:ge0", "in_octets"), Kind: sample.Counter64, Time: t2, Uint: 1<<40 + 100},
	}})
	b.Flush()
	b.Flush() // nothing pending: no empty batch
	bs := readBatches(t, sp)
	if len(bs) != 2 { // each report is written before Report returns
		t.Fatalf("%d batches, want 2", len(bs))
	}
	if g := bs[1].Groups; len(g) != 1 || g[0].Time != t2.UnixMilli() || len(g[0].Ints) != 2 || g[0].Ints[1] != 1<<40+100 {
		t.Fatalf("second batch %+v", bs[1].Groups)
	}
	got := bs[0]
	if len(got.Groups) != 2 || got.Groups[0].Time != t1.UnixMilli() || got.Groups[1].Time != t2.UnixMilli() {
		t.Fatalf("groups %+v", got.Groups)
	}
	reg := sp.Registry()
	id := func(attr, ds string, kind sample.Kind) uint64 {
		v, _ := reg.ID(k(attr, ds), kind)
		return uint64(v)
	}
	g1, g2 := got.Groups[0], got.Groups[1]
	wantInts1 := []uint64{id("if:ge0", "in_octets", sample.Counter64), 1 << 40, id("if:ge0", "out_octets", sample.Counter64), 7}
	if !equal(g1.Ints, wantInts1) {
		t.Errorf("group 1 ints %v, want %v", g1.Ints, wantInts1)
	}
	if len(g1.FloatIDs) != 1 || uint64(g1.FloatIDs[0]) != id("host", "rtt", sample.Gauge) || g1.Floats[0] != 0.0123 {
		t.Errorf("group 1 floats %v %v", g1.FloatIDs, g1.Floats)
	}
	if len(g1.Resets) != 1 || uint64(g1.Resets[0]) != id("if:ge0", "out_octets", sample.Counter64) {
		t.Errorf("group 1 resets %v", g1.Resets)
	}
	wantInts2 := []uint64{id("if:ge1", "in_errors", sample.Counter32), math.MaxUint32, id("oid:pkts", "value", sample.Absolute), 12}
	if !equal(g2.Ints, wantInts2) || len(g2.Floats) != 1 || g2.Floats[0] != -4 || len(g2.Resets) != 0 {
		t.Errorf("group 2 %+v", g2)
	}
	if len(got.Statuses) != 1 || got.Statuses[0].Status != status.Up || len(got.Hosts) != 1 || got.Hosts[0].SysName != "router-1" {
		t.Errorf("statuses %+v hosts %+v", got.Statuses, got.Hosts)
	}
	if reg.Len() != 6 {
		t.Errorf("registry has %d series, want 6", reg.Len())
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEachReportIsInTheSpoolWhenReportReturns(t *testing.T) {
	// The durability guarantee: nothing reported waits in memory, so a
	// kill -9 right after Report returns loses nothing.
	sp := openSpool(t)
	b, _ := New(sp, Options{Logger: quiet(), MaxSamples: 25, Interval: time.Hour})
	now := time.UnixMilli(1_800_000_000_000)
	for r := 0; r < 10; r++ {
		var pts []sample.Point
		for i := 0; i < 10; i++ {
			pts = append(pts, sample.Point{Key: sample.Key{Host: "h", Attr: "if:x", DS: "d" + string(rune('a'+i))}, Kind: sample.Counter64, Time: now.Add(time.Duration(r) * time.Minute), Uint: uint64(r)})
		}
		b.Report(poll.Report{Host: "h", Points: pts})
		bs := readBatches(t, sp)
		if len(bs) != r+1 || bs[r].Samples() != 10 || bs[r].Groups[0].Time != now.Add(time.Duration(r)*time.Minute).UnixMilli() {
			t.Fatalf("after report %d: %d batches in the spool", r, len(bs))
		}
	}
	b.Flush()
	if bs := readBatches(t, sp); len(bs) != 10 {
		t.Fatalf("after flush: %d batches, want 10 (nothing was pending)", len(bs))
	}
}

// recordingSpool is a real spool that also remembers, per append, which
// group times were written, so a test can check what was on disk when
// Report returned.
type recordingSpool struct {
	*spool.Spool
	codec *wire.Codec
	mu    sync.Mutex
	times map[int64]int // group time -> batches holding it
	sizes []int         // samples per batch
}

func (r *recordingSpool) Append(samples int, build func(seq uint64) ([]byte, error)) (uint64, error) {
	return r.AppendOpening(samples, func(seq uint64, _ bool) ([]byte, error) { return build(seq) })
}

func (r *recordingSpool) AppendOpening(samples int, build func(seq uint64, opens bool) ([]byte, error)) (uint64, error) {
	var last []byte
	seq, err := r.Spool.AppendOpening(samples, func(seq uint64, opens bool) ([]byte, error) {
		p, err := build(seq, opens)
		last = p
		return p, err
	})
	if err != nil {
		return seq, err
	}
	m, derr := r.codec.Decode(wire.TypeBatch, last)
	if derr != nil {
		return seq, derr
	}
	r.mu.Lock()
	for _, g := range m.(*wire.Batch).Groups {
		r.times[g.Time]++
	}
	r.sizes = append(r.sizes, samples)
	r.mu.Unlock()
	return seq, nil
}

func TestInventoryOpensEverySegment(t *testing.T) {
	// Segments of 4 KiB, at most 16 KiB kept: the spool drops its oldest
	// segments as reports come in. Whatever it keeps, its oldest batch (and
	// the first batch of every segment) must describe every host seen, so
	// the collector never meets samples of an attribute it cannot size.
	dir := t.TempDir()
	sp, err := spool.Open(spool.Options{Dir: dir, FsyncInterval: -1, SegmentBytes: 4096, MaxBytes: 16384, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	b, _ := New(sp, Options{Logger: quiet()})
	now := time.UnixMilli(1_800_000_000_000)
	inv := func(h string) *wire.Host {
		return &wire.Host{Name: h, SysName: h, Attrs: []wire.Attr{{Key: "oid:x", Kind: wire.KindOID, DS: []wire.DSDef{{Name: "value", Kind: sample.Gauge}}}}}
	}
	b.Report(poll.Report{Host: "h1", Inventory: inv("h1")})
	b.Report(poll.Report{Host: "h2", Inventory: inv("h2")})
	h1v2 := inv("h1")
	h1v2.SysName = "h1-renamed"
	for r := 0; r < 1000; r++ {
		rep := poll.Report{Host: "h1", Points: []sample.Point{{Key: sample.Key{Host: "h1", Attr: "oid:x", DS: "value"}, Kind: sample.Gauge, Time: now.Add(time.Duration(r) * time.Second), Float: float64(r)}}}
		if r == 150 {
			rep.Inventory = h1v2 // a rediscovery: later segments carry the new one
		}
		b.Report(rep)
	}
	if d := sp.Drops(); d.Batches == 0 {
		t.Fatalf("the spool dropped nothing; the test needs drops")
	}
	ents, _ := os.ReadDir(dir)
	codec, _ := wire.NewCodec()
	segs := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "seg-") {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "seg-"), ".log"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := sp.ReadFrom(first).Next()
		if err != nil {
			t.Fatalf("segment %s: %v", name, err)
		}
		m, err := codec.Decode(wire.TypeBatch, rec.Payload)
		if err != nil {
			t.Fatal(err)
		}
		hosts := m.(*wire.Batch).Hosts
		if len(hosts) != 2 || hosts[0].Name != "h1" || hosts[1].Name != "h2" {
			t.Fatalf("segment %s opens with hosts %+v, want h1 and h2", name, hosts)
		}
		if want := map[bool]string{false: "h1", true: "h1-renamed"}[rec.Seq > 155]; rec.Seq > 155 && hosts[0].SysName != want {
			t.Errorf("segment %s (seq %d) carries h1 as %q, want the latest %q", name, rec.Seq, hosts[0].SysName, want)
		}
		segs++
	}
	if segs < 2 {
		t.Fatalf("%d segments kept", segs)
	}
}

func TestGroupCommitUnderConcurrentReports(t *testing.T) {
	codec, _ := wire.NewCodec()
	rs := &recordingSpool{Spool: openSpool(t), codec: codec, times: map[int64]int{}}
	b, _ := New(rs, Options{Logger: quiet(), MaxSamples: 25, Interval: time.Hour})
	const workers, each = 8, 150
	now := time.UnixMilli(1_800_000_000_000)
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				at := now.Add(time.Duration(w*each+i) * time.Millisecond)
				var pts []sample.Point
				for j := 0; j < 5; j++ {
					pts = append(pts, sample.Point{Key: sample.Key{Host: "h", Attr: "a", DS: "d" + string(rune('a'+w))}, Kind: sample.Gauge, Time: at, Float: float64(j)})
				}
				b.Report(poll.Report{Host: "h", Points: pts})
				rs.mu.Lock()
				n := rs.times[at.UnixMilli()]
				rs.mu.Unlock()
				if n != 1 {
					errs <- fmt.Sprintf("report at %v: in %d batches when Report returned, want 1", at, n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	total := 0
	for _, n := range rs.sizes {
		if n > 25 {
			t.Errorf("a batch of %d samples exceeds MaxSamples 25", n)
		}
		total += n
	}
	if total != workers*each*5 || len(rs.times) != workers*each {
		t.Fatalf("%d samples at %d times written, want %d at %d", total, len(rs.times), workers*each*5, workers*each)
	}
	t.Logf("%d reports written as %d batches", workers*each, len(rs.sizes))
}

func TestReportNeverBlocksOnFailingSpool(t *testing.T) {
	sp := openSpool(t)
	m := metrics.New()
	b, _ := New(sp, Options{Logger: quiet(), MaxSamples: 1, Metrics: m})
	sp.Close() // every append now fails, as on a dead disk
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			b.Report(poll.Report{Host: "h", Statuses: []wire.AttrStatus{{Host: "h", Attr: "host", Status: status.Down}}})
			b.Flush()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Report blocked on a failing spool")
	}
	if b.Lost() != 100 {
		t.Fatalf("lost %d, want 100", b.Lost())
	}
}

func TestReportDoesNotWaitForAReader(t *testing.T) {
	// Nobody reads or acks the spool (no uplink): reports keep flowing,
	// the spool drops its oldest segments and counts them.
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), FsyncInterval: -1, SegmentBytes: 4096, MaxBytes: 16384, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	b, _ := New(sp, Options{Logger: quiet(), MaxSamples: 50})
	now := time.UnixMilli(1_800_000_000_000)
	done := make(chan struct{})
	go func() {
		for r := 0; r < 2000; r++ {
			var pts []sample.Point
			for i := 0; i < 50; i++ {
				pts = append(pts, sample.Point{Key: sample.Key{Host: "h", Attr: "if:x", DS: "d"}, Kind: sample.Gauge, Time: now.Add(time.Duration(r*50+i) * time.Millisecond), Float: float64(i)})
			}
			b.Report(poll.Report{Host: "h", Points: pts})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("reports stalled")
	}
	if d := sp.Drops(); d.Batches == 0 || d.Samples != 50*d.Batches {
		t.Fatalf("drops %+v", d)
	}
	if b.Lost() != 0 {
		t.Fatalf("lost %d", b.Lost())
	}
}

// openingSpool records every payload written and whether it opened a
// segment.
type openingSpool struct {
	*spool.Spool
	payloads [][]byte
	opens    []bool
}

func (o *openingSpool) AppendOpening(samples int, build func(seq uint64, opens bool) ([]byte, error)) (uint64, error) {
	var last []byte
	var lastOpens bool
	seq, err := o.Spool.AppendOpening(samples, func(seq uint64, opens bool) ([]byte, error) {
		p, err := build(seq, opens) // called again when the record rolls the segment
		last, lastOpens = p, opens
		return p, err
	})
	if err == nil {
		o.payloads = append(o.payloads, last)
		o.opens = append(o.opens, lastOpens)
	}
	return seq, err
}

// TestKeptInventoriesEncodeAsWireHosts: the batcher keeps inventories
// encoded and splices them into batches; every batch must be byte for
// byte what the wire codec gives for the wire.Batch with those hosts as
// values (own hosts, or every host's latest in first-seen order when the
// batch opens a segment), properties, NaN limits and all.
func TestKeptInventoriesEncodeAsWireHosts(t *testing.T) {
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), FsyncInterval: -1, SegmentBytes: 3000, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	rec := &openingSpool{Spool: sp}
	b, _ := New(rec, Options{Logger: quiet()})
	codec, _ := wire.NewCodec()
	inv := func(h string, v int) *wire.Host {
		return &wire.Host{Name: h, Address: "192.0.2.1", SysName: fmt.Sprintf("%s-v%d", h, v), Complete: v%2 == 0, Attrs: []wire.Attr{
			{Key: "host", Kind: wire.KindHost, Props: map[string]string{"version": "2c", "address": "192.0.2.1"}, Interval: 60,
				DS: []wire.DSDef{{Name: "rtt", Kind: sample.Gauge, Min: 0, Max: math.NaN()}, {Name: "reachable", Kind: sample.Gauge, Min: 0, Max: 1}}},
			{Key: "if:eth0", Kind: wire.KindInterface, Name: "eth0", Descr: "uplink é", Props: map[string]string{"ifIndex": "1", "speed": "1000000000", "counter": "64", "mac": "00:11:22:33:44:55"}, Interval: 60,
				DS: []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: math.NaN()}}},
		}}
	}
	now := time.UnixMilli(1_800_000_000_000)
	latest := map[string]wire.Host{}
	var order []string
	var want [][]wire.Host // hosts of each report's own batch
	for r := 0; r < 60; r++ {
		h := fmt.Sprintf("h%d", r%4)
		rep := poll.Report{Host: h, Points: []sample.Point{{Key: sample.Key{Host: h, Attr: "if:eth0", DS: "in_octets"}, Kind: sample.Counter64, Time: now.Add(time.Duration(r) * time.Second), Uint: uint64(r)}}}
		var own []wire.Host
		if r%3 == 0 {
			rep.Inventory = inv(h, r)
			own = []wire.Host{*rep.Inventory}
			if _, ok := latest[h]; !ok {
				order = append(order, h)
			}
			latest[h] = *rep.Inventory
		}
		b.Report(rep)
		if len(rec.payloads) != r+1 {
			t.Fatalf("report %d: %d batches written", r, len(rec.payloads))
		}
		if rec.opens[r] {
			own = nil
			for _, name := range order {
				own = append(own, latest[name])
			}
		}
		want = append(want, own)
	}
	opened := 0
	for i, p := range rec.payloads {
		m, err := codec.Decode(wire.TypeBatch, p)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		exp := *m.(*wire.Batch)
		exp.Hosts = want[i]
		enc, err := codec.Marshal(&exp)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc) != string(p) {
			t.Fatalf("batch %d (opens %v): spliced encoding differs from the wire codec's:\n got %x\nwant %x", i, rec.opens[i], p, enc)
		}
		if rec.opens[i] && i > 0 {
			opened++
		}
	}
	if opened < 2 {
		t.Fatalf("%d segments opened after the first; the test needs several", opened)
	}
}

// TestEncodedBatchMatchesWire: the batcher's encodedBatch (hosts encoded
// once, ahead of the batch) encodes to the very bytes of the wire.Batch it
// stands for, and those decode back to it.
func TestEncodedBatchMatchesWire(t *testing.T) {
	codec, err := wire.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	host := wire.Host{Name: "sw1", Address: "192.0.2.1", Attrs: []wire.Attr{{Key: "if:1", Kind: wire.KindInterface, Interval: 60}}}
	full := &wire.Batch{
		Seq:      9,
		Groups:   []wire.Group{{Time: 1_800_000_000_000, Ints: []uint64{1, 2}, FloatIDs: []uint32{3}, Floats: []float64{0.5}}},
		Statuses: []wire.AttrStatus{{Host: "sw1", Attr: "if:1", Status: 1, Reason: "up", Time: 1}},
		Hosts:    []wire.Host{host},
		Dropped:  wire.Drops{Batches: 1, Samples: 2, Corrupt: 3},
		Traps: []wire.Trap{{Time: 5, Host: "sw1", Source: "192.0.2.1", Version: 2, OID: "1.3.6.1.6.3.1.1.5.3",
			VarBinds: []wire.VarBind{{OID: "1.3.6.1.2.1.2.2.1.1.1", Type: 2, Value: "1"}}}},
		Parts: []wire.HostPart{{Name: "sw1", Index: 1, Count: 3}},
	}
	hostBytes, err := codec.Marshal((*hostMessage)(&host))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		enc  *encodedBatch
		want *wire.Batch
	}{
		{"full", &encodedBatch{Seq: full.Seq, Groups: full.Groups, Statuses: full.Statuses, Hosts: []cbor.RawMessage{hostBytes}, Dropped: full.Dropped, Traps: full.Traps, Parts: full.Parts}, full},
		{"empty", &encodedBatch{Seq: 1}, &wire.Batch{Seq: 1}},
	} {
		got, err := codec.Marshal(tc.enc)
		if err != nil {
			t.Fatal(err)
		}
		want, err := codec.Marshal(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encodedBatch %x, wire.Batch %x", tc.name, got, want)
		}
		var back wire.Batch
		if err := codec.Unmarshal(got, &back); err != nil || back.Seq != tc.want.Seq || len(back.Hosts) != len(tc.want.Hosts) {
			t.Errorf("%s: decodes to %+v, %v", tc.name, back, err)
		}
	}
}

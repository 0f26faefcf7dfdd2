package batch

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// lockedBuffer is a log sink safe for the batcher's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// dirtyReport has an unclean string in every field the guard checks.
func dirtyReport(at time.Time) poll.Report {
	long := strings.Repeat("y", 300)
	return poll.Report{
		Host: "r1",
		Points: []sample.Point{
			{Key: sample.Key{Host: "r1", Attr: "if:B\xfcro", DS: "in_octets"}, Kind: sample.Counter64, Time: at, Uint: 1},
			{Key: sample.Key{Host: "r1", Attr: "if:" + long, DS: "in\x00octets"}, Kind: sample.Counter64, Time: at, Uint: 2},
			{Key: sample.Key{Host: "r1", Attr: "host", DS: "rtt"}, Kind: sample.Gauge, Time: at, Float: 0.1},
		},
		Statuses: []wire.AttrStatus{
			{Host: "r1", Attr: "if:B\xfcro", Status: status.Up, Reason: "up \x1b[2J\xff", Time: at.UnixMilli()},
			{Host: "r1", Attr: "host", Status: status.Up, Reason: "answered", Time: at.UnixMilli()},
		},
		Inventory: &wire.Host{
			Name: "r1", Address: "192.0.2.1", SysName: "sw\xc3\x28", SysDescr: "line one\r\nline \x1b]0;t\x07two\xe2\x82",
			SysObjectID: "1.3.6.1", Location: "B\xfcro", Contact: "noc\x00",
			Attrs: []wire.Attr{
				{Key: "host", Kind: wire.KindHost, Name: "r1", DS: []wire.DSDef{{Name: "rtt", Kind: sample.Gauge}}},
				{Key: "if:B\xfcro", Kind: wire.KindInterface, Name: "B\xfcro", Descr: "<script>\x9b</script>",
					Props: map[string]string{"ifAlias": "a\xffb", "k\x01": "v"}, DS: []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64}}},
				{Key: "if:" + long, Kind: wire.KindInterface, Name: long, DS: []wire.DSDef{{Name: "in\x00octets", Kind: sample.Counter64}}},
			},
		},
	}
}

func TestGuardCleansDirtyReport(t *testing.T) {
	sp := openSpool(t)
	m := metrics.New()
	var logs lockedBuffer
	b, err := New(sp, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_800_000_000_000)
	r := dirtyReport(at)
	orig := dirtyReport(at)
	b.Report(r)
	// The poller's report is not modified: the guard cleans copies.
	if r.Points[0].Key != orig.Points[0].Key || r.Statuses[0] != orig.Statuses[0] || r.Inventory.SysDescr != orig.Inventory.SysDescr ||
		r.Inventory.Attrs[1].Props["ifAlias"] != "a\xffb" || r.Inventory.Attrs[2].DS[0].Name != "in\x00octets" {
		t.Error("the guard modified the report it was given")
	}
	bs := readBatches(t, sp) // decodes with the collector's strict codec (valid UTF-8 only)
	if len(bs) != 1 {
		t.Fatalf("%d batches", len(bs))
	}
	got := bs[0]
	h := got.Hosts[0]
	checks := []struct{ field, got, want string }{
		{"sysName", h.SysName, `sw\xc3(`},
		{"sysDescr", h.SysDescr, "line one\nline \\x1b]0;t\\x07two\\xe2\\x82"},
		{"location", h.Location, `B\xfcro`},
		{"contact", h.Contact, `noc\x00`},
		{"attr key", h.Attrs[1].Key, `if:B\xfcro`},
		{"attr name", h.Attrs[1].Name, `B\xfcro`},
		{"attr descr", h.Attrs[1].Descr, `<script>\x9b</script>`},
		{"prop value", h.Attrs[1].Props["ifAlias"], `a\xffb`},
		{"prop key", h.Attrs[1].Props[`k\x01`], "v"},
		{"ds name", h.Attrs[2].DS[0].Name, `in\x00octets`},
		{"status attr", got.Statuses[0].Attr, `if:B\xfcro`},
		{"status reason", got.Statuses[0].Reason, `up \x1b[2J\xff`},
		{"clean reason", got.Statuses[1].Reason, "answered"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if k := h.Attrs[2].Key; len(k) > safetext.MaxName || !strings.HasSuffix(k, safetext.Ellipsis) {
		t.Errorf("long key %q (%d bytes) not cut", k, len(k))
	}
	// Series keys are cleaned the same way as the inventory's keys, so
	// samples and descriptions still meet.
	reg := sp.Registry()
	for _, want := range []sample.Key{{Host: "r1", Attr: `if:B\xfcro`, DS: "in_octets"}, {Host: "r1", Attr: h.Attrs[2].Key, DS: `in\x00octets`}} {
		before := reg.Len()
		if _, err := reg.ID(want, sample.Counter64); err != nil || reg.Len() != before {
			t.Errorf("series %v not registered as cleaned (len %d -> %d, err %v)", want, before, reg.Len(), err)
		}
	}
	var d dto.Metric
	if err := m.StringsCleaned.Write(&d); err != nil {
		t.Fatal(err)
	}
	if n := d.GetCounter().GetValue(); n < 15 {
		t.Errorf("strings_cleaned_total = %v, want every dirty string counted (>= 15)", n)
	}
	if out := logs.String(); strings.Count(out, "cleaned strings") != 1 || !strings.Contains(out, "target=r1") {
		t.Errorf("log: %s", out)
	}
}

// TestGuardLogsOncePerMinute: many dirty reports make one log line a
// minute, which counts every string cleaned since the last.
func TestGuardLogsOncePerMinute(t *testing.T) {
	sp := openSpool(t)
	var logs lockedBuffer
	b, err := New(sp, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.UnixMilli(1_800_000_000_000)
	b.guard.now = func() time.Time { return clock }
	report := func(reason string) {
		b.Report(poll.Report{Host: "dev\xff", Statuses: []wire.AttrStatus{{Host: "dev", Attr: "host", Status: status.Up, Reason: reason, Time: clock.UnixMilli()}}})
	}
	for i := 0; i < 10; i++ {
		report("bad\x00")
		clock = clock.Add(5 * time.Second) // 50 s in all
	}
	if n := strings.Count(logs.String(), "cleaned strings"); n != 1 {
		t.Fatalf("%d log lines in 50 s, want 1:\n%s", n, logs.String())
	}
	clock = clock.Add(10 * time.Second)
	report("bad\x00")
	out := logs.String()
	if n := strings.Count(out, "cleaned strings"); n != 2 {
		t.Fatalf("%d log lines after a minute, want 2:\n%s", n, out)
	}
	// The second line counts the 9 suppressed reports and this one, two strings each.
	if !strings.Contains(out, "strings=20") || !strings.Contains(out, `target=dev\xff`) {
		t.Errorf("log lines:\n%s", out)
	}
}

// TestGuardCleanFastPath: a clean report passes through unchanged, with
// no copy and no allocation.
func TestGuardCleanFastPath(t *testing.T) {
	b, err := New(nil, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_800_000_000_000)
	r := poll.Report{Host: "r1",
		Points:   []sample.Point{{Key: sample.Key{Host: "r1", Attr: "if:ge-0/0/1", DS: "in_octets"}, Kind: sample.Counter64, Time: at}},
		Statuses: []wire.AttrStatus{{Host: "r1", Attr: "if:ge-0/0/1", Status: status.Up, Reason: "ifOperStatus up", Time: at.UnixMilli()}},
		Inventory: &wire.Host{Name: "r1", SysDescr: "Linux 6.1\nsecond line", Attrs: []wire.Attr{{Key: "if:ge-0/0/1", Kind: wire.KindInterface,
			Name: "ge-0/0/1", Descr: "uplink → core (Zürich)", Props: map[string]string{"ifAlias": "uplink"}, DS: []wire.DSDef{{Name: "in_octets"}}}}},
	}
	points, statuses, inv := &r.Points[0], &r.Statuses[0], r.Inventory
	if n := b.clean(&r); n != 0 || &r.Points[0] != points || &r.Statuses[0] != statuses || r.Inventory != inv {
		t.Fatalf("clean report changed: %d strings", n)
	}
	if allocs := testing.AllocsPerRun(100, func() { b.clean(&r) }); allocs != 0 {
		t.Errorf("clean of a clean report allocates %v times", allocs)
	}
}

// FuzzGuard: whatever bytes a report carries, after the guard every
// string is clean and the batch encodes and decodes with the wire codec.
func FuzzGuard(f *testing.F) {
	f.Add("if:B\xfcro", "up \x1b[2J", "sw\xc3\x28", "line\r\n\xe2\x82", "k\x00", "v\xff")
	f.Add("if:ge-0/0/1", "ifOperStatus up", "core-1", "Linux", "ifAlias", "uplink")
	f.Add(strings.Repeat("\xff", 400), strings.Repeat("\u202e", 900), "", "", "", "")
	codec, err := wire.NewCodec()
	if err != nil {
		f.Fatal(err)
	}
	b, err := New(nil, Options{Logger: quiet()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, reason, sysName, descr, propKey, propVal string) {
		at := time.UnixMilli(1_800_000_000_000)
		r := poll.Report{Host: sysName,
			Points:   []sample.Point{{Key: sample.Key{Host: sysName, Attr: key, DS: propKey}, Kind: sample.Gauge, Time: at}},
			Statuses: []wire.AttrStatus{{Host: sysName, Attr: key, Status: status.Up, Reason: reason, Time: at.UnixMilli()}},
			Inventory: &wire.Host{Name: "h", SysName: sysName, SysDescr: descr, Location: reason, Attrs: []wire.Attr{{Key: key, Kind: propKey, Name: descr,
				Descr: reason, Props: map[string]string{propKey: propVal}, DS: []wire.DSDef{{Name: propKey, Kind: sample.Gauge}}}}},
		}
		b.clean(&r)
		k := r.Points[0].Key
		for _, s := range []string{r.Host, k.Host, k.Attr, k.DS, r.Statuses[0].Host, r.Statuses[0].Attr} {
			if !safetext.IsLine(s, safetext.MaxName) {
				t.Fatalf("not clean: %q", s)
			}
		}
		if !safetext.IsLine(r.Statuses[0].Reason, safetext.MaxText) || !hostClean(r.Inventory) {
			t.Fatalf("not clean: %+v", r)
		}
		batch := &wire.Batch{Seq: 1, Statuses: r.Statuses, Hosts: []wire.Host{*r.Inventory}}
		enc, err := codec.Marshal(batch)
		if err != nil {
			t.Fatal(err)
		}
		if err := codec.Unmarshal(enc, new(wire.Batch)); err != nil {
			t.Fatalf("the collector's codec refuses the cleaned batch: %v", err)
		}
		if n := b.clean(&r); n != 0 {
			t.Fatalf("cleaning twice changed %d strings", n)
		}
	})
}

// BenchmarkGuardClean measures the guard on a clean report of 1,000
// interfaces (12 counters and a status each): the cost every poll pays.
func BenchmarkGuardClean(b *testing.B) {
	bt, err := New(nil, Options{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	at := time.UnixMilli(1_800_000_000_000)
	r := poll.Report{Host: "core-1"}
	ds := []string{"in_octets", "out_octets", "in_ucast", "out_ucast", "in_mcast", "out_mcast", "in_bcast", "out_bcast", "in_errors", "out_errors", "in_discards", "out_discards"}
	for i := range 1000 {
		attr := fmt.Sprintf("if:ge-%d/%d/%d", i/480, (i/48)%10, i%48)
		for _, d := range ds {
			r.Points = append(r.Points, sample.Point{Key: sample.Key{Host: "core-1", Attr: attr, DS: d}, Kind: sample.Counter64, Time: at})
		}
		r.Statuses = append(r.Statuses, wire.AttrStatus{Host: "core-1", Attr: attr, Status: status.Up, Reason: "ifOperStatus up", Time: at.UnixMilli()})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if bt.clean(&r) != 0 {
			b.Fatal("cleaned a clean report")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(r.Points)+len(r.Statuses)), "ns/item")
}

package forward

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

var update = flag.Bool("update", false, "rewrite golden files")

// bed is a journal, a store and the options to forward one to the other.
type bed struct {
	t     *testing.T
	j     *journal.Journal
	codec *ingest.RecordCodec
	store *fakeStore
	opts  Options
}

func newBed(t *testing.T) *bed {
	t.Helper()
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	codec, err := ingest.NewRecordCodec()
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore(t)
	return &bed{t: t, j: j, codec: codec, store: store, opts: Options{
		Endpoint:      Endpoint{Name: "test", URL: store.srv.URL, Timeout: 5 * time.Second},
		Dir:           filepath.Join(dir, "forward"),
		BatchDeadline: 20 * time.Millisecond,
		MinBackoff:    time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Now: func() time.Time { return time.UnixMilli(baseMS + 3600e3) },
	}}
}

const baseMS = 1_790_000_000_000

func (b *bed) append(r *ingest.Record) journal.Pos {
	b.t.Helper()
	data, err := b.codec.Marshal(r)
	if err != nil {
		b.t.Fatal(err)
	}
	pos, err := b.j.Append(data)
	if err != nil {
		b.t.Fatal(err)
	}
	return pos
}

// ifRecord is a batch of nIf interfaces' octet counters at poll i.
func ifRecord(i, nIf int) *ingest.Record {
	r := &ingest.Record{Kind: ingest.RecordBatch, Agent: "site-a", Seq: uint64(i + 1), Received: baseMS + int64(i)*60e3}
	for k := 0; k < nIf; k++ {
		r.Updates = append(r.Updates, ingest.AttrUpdate{Host: "r1", Attr: "if:" + string(rune('a'+k%26)) + strings.Repeat("x", k/26), Time: baseMS + int64(i)*60e3,
			Values: []ingest.DSValue{
				{DS: "in_octets", Kind: sample.Counter64, Uint: uint64(i * 1000)},
				{DS: "out_octets", Kind: sample.Counter64, Uint: uint64(i * 2000)},
			}})
	}
	return r
}

// run runs a forwarder until cond holds (or fails the test after 20 s),
// then stops it and returns it.
func (b *bed) run(cond func(f *Forwarder) bool) *Forwarder {
	b.t.Helper()
	f, err := New(b.opts)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, b.j.Tail(f.Position())) }()
	deadline := time.Now().Add(20 * time.Second)
	for !cond(f) {
		if time.Now().After(deadline) {
			cancel()
			<-done
			b.t.Fatalf("condition not met; stats %+v", f.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		b.t.Fatalf("Run: %v", err)
	}
	return f
}

func sentAtLeast(n uint64) func(*Forwarder) bool {
	return func(f *Forwarder) bool { return f.Stats().SamplesSent >= n }
}

// TestMappingGolden: names and labels of every kind of attribute, from
// the inventory in the records and from the Inventory lookup, with a
// device string carrying invalid UTF-8.
func TestMappingGolden(t *testing.T) {
	b := newBed(t)
	b.opts.Inventory = fakeInventory{"r1/if:7": {Kind: wire.KindInterface, Props: map[string]string{"ifIndex": "7", "ifName": "ge-0/0/7", "ifDescr": "GigabitEthernet0/0/7"}}}
	inv := &ingest.Record{Kind: ingest.RecordBatch, Agent: "site-a", Seq: 1, Received: baseMS,
		Hosts: []wire.Host{{Name: "r1", Attrs: []wire.Attr{
			{Key: "if:3", Kind: wire.KindInterface, Props: map[string]string{"ifIndex": "3", "ifName": "ge-0/0/3", "ifDescr": "GigabitEthernet0/0/3", "ifAlias": "uplink to core"}},
			{Key: "storage:/var", Kind: wire.KindStorage, Props: map[string]string{"hrStorageIndex": "31"}},
			{Key: "cpu:196608", Kind: wire.KindProcessor, Props: map[string]string{"hrDeviceIndex": "196608"}},
			{Key: "oid:temp", Kind: wire.KindOID, Props: map[string]string{"oid": "1.3.6.1.4.1.9.9.13.1.3.1.3.1"}},
		}}, {Name: "ntp1", Attrs: []wire.Attr{{Key: "ntp", Kind: wire.KindNTP}, {Key: "ntp-peer:192.0.2.1", Kind: wire.KindNTPPeer}}}},
		Updates: []ingest.AttrUpdate{
			{Host: "r1", Attr: "host", Time: baseMS, Values: []ingest.DSValue{{DS: "rtt", Float: 0.0021}, {DS: "reachable", Float: 1}}},
			{Host: "r1", Attr: "if:3", Time: baseMS, Values: []ingest.DSValue{
				{DS: "in_octets", Kind: sample.Counter64, Uint: 1 << 40}, {DS: "in_ucast", Kind: sample.Counter64, Uint: 5},
				{DS: "in_errors", Kind: sample.Counter32, Uint: 2}, {DS: "out_discards", Kind: sample.Counter32, Uint: 1}}},
			{Host: "r1", Attr: "if:7", Time: baseMS, Values: []ingest.DSValue{{DS: "out_octets", Kind: sample.Counter32, Uint: 4000000000}}},
			{Host: "r1", Attr: "storage:/var", Time: baseMS, Values: []ingest.DSValue{{DS: "size", Float: 1 << 30}, {DS: "used", Float: 1 << 29}}},
			{Host: "r1", Attr: "cpu:196608", Time: baseMS, Values: []ingest.DSValue{{DS: "load", Float: 12}}},
			{Host: "r1", Attr: "oid:temp", Time: baseMS, Values: []ingest.DSValue{{DS: "value", Float: 41}}},
			{Host: "ntp1", Attr: "ntp", Time: baseMS, Values: []ingest.DSValue{{DS: "offset", Float: -0.0003}, {DS: "stratum", Float: 2}, {DS: "jitter", Reset: true}}},
			{Host: "ntp1", Attr: "ntp-peer:192.0.2.1", Time: baseMS, Values: []ingest.DSValue{{DS: "delay", Float: 0.012}}},
		},
		Statuses: []wire.AttrStatus{{Host: "r1", Attr: "if:3", Status: status.Down, Time: baseMS}},
	}
	b.append(inv)
	b.run(sentAtLeast(20))
	got := b.store.dump()
	golden := filepath.Join("testdata", "mapping.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("forwarded series differ from %s (go test -update to accept):\n%s", golden, got)
	}
}

type fakeInventory map[string]AttrInfo

func (f fakeInventory) Attr(_ context.Context, host, key string) (AttrInfo, bool, error) {
	a, ok := f[host+"/"+key]
	return a, ok, nil
}

// TestStoreFaults: the store answers 500, 429 and hangs before it
// accepts; every sample arrives once, in order, and the retries are counted.
func TestStoreFaults(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(n int) (int, string)
		retries uint64
	}{
		{"5xx", func(n int) (int, string) {
			if n <= 3 {
				return http.StatusServiceUnavailable, "ingester unavailable"
			}
			return 0, ""
		}, 3},
		{"429", func(n int) (int, string) {
			if n <= 2 {
				return http.StatusTooManyRequests, "rate limited"
			}
			return 0, ""
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBed(t)
			b.store.answer = func(n int, _ []gotSeries) (int, string) { return tt.answer(n) }
			for i := range 10 {
				b.append(ifRecord(i, 3))
			}
			f := b.run(sentAtLeast(60))
			s := f.Stats()
			if s.Retries < tt.retries || s.SamplesRejected != 0 || b.store.samples() != 60 {
				t.Errorf("stats %+v, store has %d samples; want 60 sent once, >= %d retries", s, b.store.samples(), tt.retries)
			}
		})
	}
	t.Run("hang", func(t *testing.T) {
		b := newBed(t)
		release := make(chan struct{})
		var once sync.Once
		b.store.answer = func(n int, _ []gotSeries) (int, string) {
			if n == 1 {
				<-release // hangs until the test ends; the client times out
			}
			return 0, ""
		}
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		b.opts.Endpoint.Timeout = 100 * time.Millisecond
		b.append(ifRecord(0, 5))
		f := b.run(sentAtLeast(10))
		once.Do(func() { close(release) })
		if s := f.Stats(); s.Retries < 1 || s.LastErrorTime.IsZero() || s.SamplesSent != 10 || b.store.samples() != 10 {
			t.Errorf("stats %+v, store %d: want a retry after the timeout, then the 10 samples stored once", s, b.store.samples())
		}
	})
}

// TestBadRequestIsolatesRefusedSeries: a 400 for one series is bisected
// down to it; the request's other series are stored, the refused
// samples counted.
func TestBadRequestIsolatesRefusedSeries(t *testing.T) {
	b := newBed(t)
	b.opts.Shards = 1
	b.store.answer = func(_ int, req []gotSeries) (int, string) {
		for _, s := range req {
			if s.label("attribute") == "if:c" && s.label("__name__") == "ifHCOutOctets" {
				return http.StatusBadRequest, "label value too long"
			}
		}
		return 0, ""
	}
	for i := range 4 {
		b.append(ifRecord(i, 8))
	}
	f := b.run(func(f *Forwarder) bool { s := f.Stats(); return s.SamplesSent+s.SamplesRejected >= 64 })
	s := f.Stats()
	if s.SamplesRejected != 4 || s.SamplesSent != 60 || b.store.samples() != 60 {
		t.Errorf("stats %+v, store %d: want 4 refused (one series), 60 stored", s, b.store.samples())
	}
	if !strings.Contains(s.LastRefusal, "label value too long") {
		t.Errorf("last refusal %q does not carry the store's reason", s.LastRefusal)
	}
	// Other 4xx: refused whole, not retried.
	b2 := newBed(t)
	b2.store.answer = func(int, []gotSeries) (int, string) { return http.StatusForbidden, "tenant disabled" }
	b2.append(ifRecord(0, 2))
	f2 := b2.run(func(f *Forwarder) bool { return f.Stats().SamplesRejected >= 4 })
	if s := f2.Stats(); s.Retries != 0 || s.SamplesSent != 0 {
		t.Errorf("403: stats %+v, want refused without retries", s)
	}
}

// TestRestartResumesAtPosition: a second forwarder on the same position
// file sends only what the first did not, and a chunk in flight at a crash
// that the store already holds counts as stored, not refused.
func TestRestartResumesAtPosition(t *testing.T) {
	b := newBed(t)
	for i := range 5 {
		b.append(ifRecord(i, 4))
	}
	b.run(sentAtLeast(40))
	for i := 5; i < 8; i++ {
		b.append(ifRecord(i, 4))
	}
	f := b.run(sentAtLeast(24))
	if got := b.store.samples(); got != 64 || f.Stats().SamplesSent != 24 {
		t.Fatalf("after restart: store %d samples (want 64), second run sent %d (want 24)", got, f.Stats().SamplesSent)
	}

	// A crash after the store took chunk [p, end) but before the position
	// moved: the file says it is in flight.
	pos, _, err := readPosition(filepath.Join(b.opts.Dir, "test.pos"))
	if err != nil {
		t.Fatal(err)
	}
	end := b.j.End()
	if pos.acked != end {
		t.Fatalf("clean stop left position %+v, want acked = journal end %d", pos, end)
	}
	for i := 8; i < 10; i++ {
		b.append(ifRecord(i, 4))
	}
	b.run(sentAtLeast(16))
	if err := writePosition(filepath.Join(b.opts.Dir, "test.pos"), position{acked: end, inflight: b.j.End()}); err != nil {
		t.Fatal(err)
	}
	b.store.answer = func(n int, req []gotSeries) (int, string) {
		return http.StatusBadRequest, "out of order sample"
	}
	f = b.run(func(f *Forwarder) bool { return f.Stats().AlreadyStored >= 16 })
	if s := f.Stats(); s.SamplesRejected != 0 || s.Position != b.j.End() {
		t.Errorf("resend: stats %+v; want nothing refused and the position at the end %d", s, b.j.End())
	}
	if got := b.store.samples(); got != 80 {
		t.Errorf("store holds %d samples, want 80", got)
	}
}

// TestBacklogBounds: records older than max_backlog's age are dropped and
// counted; journal bytes removed under max_backlog's bytes are counted as
// a gap; a series' time going back is skipped.
func TestBacklogBounds(t *testing.T) {
	b := newBed(t)
	b.opts.MaxBacklogAge = 30 * time.Minute // Now is base + 60 min: polls 0..29 are too old
	for i := range 40 {
		b.append(ifRecord(i, 1))
	}
	back := ifRecord(35, 1)
	b.append(back) // the same times again: not newer
	f := b.run(func(f *Forwarder) bool { return f.Stats().Position == b.j.End() })
	s := f.Stats()
	if s.DroppedRecords != 30 || s.DroppedSamples != 60 || s.SamplesSent != 20 || s.OutOfOrder != 2 {
		t.Errorf("stats %+v: want 30 records (60 samples) dropped by age, 20 sent, 2 out of order", s)
	}

	// Bytes: a forwarder far behind lets the journal delete what is past
	// the bound, and counts the gap it finds.
	b2 := newBed(t)
	b2.opts.MaxBacklogBytes = 8 << 10
	// Not a fresh forwarder (which starts at the oldest record kept without
	// counting a gap): it has forwarded up to position 0.
	if err := os.MkdirAll(b2.opts.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writePosition(filepath.Join(b2.opts.Dir, "test.pos"), position{}); err != nil {
		t.Fatal(err)
	}
	fw, err := New(b2.opts)
	if err != nil {
		t.Fatal(err)
	}
	j2, err := journal.Open(filepath.Join(t.TempDir(), "j"), journal.Options{SegmentBytes: 4 << 10, Retain: fw.Retain})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	b2.j = j2
	var last journal.Pos
	for i := range 200 {
		last = b2.append(ifRecord(i, 2))
	}
	if err := j2.Checkpoint(last); err != nil {
		t.Fatal(err)
	}
	if got := fw.Retain(j2.End()); got != j2.End()-8<<10 {
		t.Errorf("Retain = %d, want end - max_backlog bytes = %d", got, j2.End()-8<<10)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fw.Run(ctx, j2.Tail(fw.Position())) }()
	deadline := time.Now().Add(10 * time.Second)
	for fw.Stats().Position != j2.End() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	s = fw.Stats()
	total := uint64(j2.End())
	if s.DroppedBytes == 0 || s.DroppedBytes > total-8<<10 || s.SamplesSent == 0 {
		t.Errorf("stats %+v: want a counted gap of at most %d bytes and the rest sent", s, total-8<<10)
	}
	if kept := uint64(b2.store.samples()); kept != s.SamplesSent || kept >= 400 {
		t.Errorf("store has %d samples, sent %d", kept, s.SamplesSent)
	}
}

// TestLabelValuesValidUTF8: whatever bytes reach a label value, the store
// gets valid UTF-8 (invalid sequences replaced, the rest kept).
func TestLabelValuesValidUTF8(t *testing.T) {
	s := newSeries("ifHCInOctets", "r\xff1", "a", attrLabels("if:1", AttrInfo{Kind: wire.KindInterface, Props: map[string]string{"ifAlias": "to \xc3\x28core", "ifName": "é"}}))
	for _, l := range s.Labels {
		if !utf8.ValidString(l.Value) {
			t.Errorf("label %s=%q is not valid UTF-8", l.Name, l.Value)
		}
	}
	want := "__name__=\"ifHCInOctets\",agent=\"a\",attribute=\"if:1\",host=\"r\ufffd1\",ifAlias=\"to \ufffd(core\",ifName=\"é\""
	if got := seriesText(s); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestStartupProbe: a store that refuses the credentials, or whose TLS
// certificate is not trusted, shows as an error as soon as the forwarder
// starts, with nothing to send yet, and in the UI warnings.
func TestStartupProbe(t *testing.T) {
	b := newBed(t)
	b.store.probe = func() (int, string) { return http.StatusUnauthorized, "invalid token" }
	f := b.run(func(f *Forwarder) bool { return f.Stats().LastError != "" })
	if s := f.Stats(); !strings.Contains(s.LastError, "401") || !strings.Contains(s.LastError, "invalid token") || s.FailingSince.IsZero() {
		t.Errorf("stats %+v: want the 401 and its reason", s)
	}
	w := Warnings([]*Forwarder{f})()
	if len(w) != 1 || !strings.Contains(w[0], "Forwarding to test is failing since") || !strings.Contains(w[0], "invalid token") {
		t.Errorf("warnings %q", w)
	}

	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer tlsSrv.Close()
	b2 := newBed(t)
	b2.opts.Endpoint.URL = tlsSrv.URL
	b2.opts.Endpoint.TLS = TLS{ServerName: "example.net"} // system CAs: the test server's certificate is not trusted
	f2 := b2.run(func(f *Forwarder) bool { return f.Stats().LastError != "" })
	if s := f2.Stats(); !strings.Contains(s.LastError, "certificate") {
		t.Errorf("stats %+v: want a certificate error", s)
	}
}

// TestWarnings: refusals and drops show in the UI warnings with counts.
func TestWarnings(t *testing.T) {
	b := newBed(t)
	b.opts.MaxBacklogAge = 30 * time.Minute
	b.store.answer = func(int, []gotSeries) (int, string) { return http.StatusBadRequest, "too many labels" }
	b.append(ifRecord(0, 1))  // older than the age: dropped
	b.append(ifRecord(59, 1)) // sent, refused
	f := b.run(func(f *Forwarder) bool { return f.Stats().Position == b.j.End() })
	w := strings.Join(Warnings([]*Forwarder{f})(), "\n")
	for _, want := range []string{"test refused 2 samples for good", "too many labels", "dropped data beyond forward.max_backlog: 2 samples"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
}

// TestTimeoutAfterCommit: the store commits a request but the answer
// never reaches the forwarder (timeout). The retry is answered "out of
// order", which for a request that may be stored means stored: nothing is
// counted as refused, nothing is missing or duplicated.
func TestTimeoutAfterCommit(t *testing.T) {
	b := newBed(t)
	b.opts.Shards = 1
	b.opts.Endpoint.Timeout = 100 * time.Millisecond
	b.store.refuseOld = true
	release := make(chan struct{})
	b.store.commitThenHang = func(n int) {
		if n == 1 {
			<-release
		}
	}
	t.Cleanup(func() { close(release) })
	for i := range 3 {
		b.append(ifRecord(i, 4))
	}
	f := b.run(func(f *Forwarder) bool { s := f.Stats(); return s.SamplesSent+s.AlreadyStored+s.SamplesRejected >= 24 })
	s := f.Stats()
	if s.Retries < 1 || s.AlreadyStored != 24 || s.SamplesRejected != 0 || b.store.samples() != 24 {
		t.Errorf("stats %+v, store %d: want the retry counted as already stored, 24 samples stored once", s, b.store.samples())
	}
}

// TestBadRequestSplitIsBounded: a store refusing every series costs at
// most 2^maxSplit requests per request, not one per series.
func TestBadRequestSplitIsBounded(t *testing.T) {
	b := newBed(t)
	b.opts.Shards = 1
	b.store.answer = func(int, []gotSeries) (int, string) { return http.StatusBadRequest, "out of bounds" }
	b.append(ifRecord(0, 1000)) // 2,000 series in one request
	f := b.run(func(f *Forwarder) bool { return f.Stats().SamplesRejected >= 2000 })
	b.store.mu.Lock()
	n := b.store.requests
	b.store.mu.Unlock()
	if max := 1<<(maxSplit+1) - 1; n > max {
		t.Errorf("%d requests for one refused request, want at most %d", n, max)
	}
	if s := f.Stats(); s.SamplesRejected != 2000 || s.SamplesSent != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestStatusStateSet: all six states when an attribute is first seen and
// when its status changes, only the current one in between.
func TestStatusStateSet(t *testing.T) {
	b := newBed(t)
	for i, st := range []status.Status{status.Up, status.Up, status.Down, status.Down} {
		b.append(&ingest.Record{Kind: ingest.RecordBatch, Agent: "a", Seq: uint64(i + 1), Received: baseMS,
			Statuses: []wire.AttrStatus{{Host: "r1", Attr: "if:1", Status: st, Time: baseMS + int64(i)*60e3}}})
	}
	f := b.run(func(f *Forwarder) bool { return f.Stats().Position == b.j.End() })
	if s := f.Stats(); s.SamplesSent != 6+1+6+1 {
		t.Errorf("sent %d status samples, want 14 (6, 1, 6, 1)", s.SamplesSent)
	}
	got := b.store.dump()
	for _, want := range []string{
		`attribute="if:1",host="r1",kind="interface",status="up"} 1790000000000 1`,
		`attribute="if:1",host="r1",kind="interface",status="down"} 1790000000000 0`,
		`attribute="if:1",host="r1",kind="interface",status="up"} 1790000120000 0`,
		`attribute="if:1",host="r1",kind="interface",status="down"} 1790000180000 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("store lacks %s\n%s", want, got)
		}
	}
}

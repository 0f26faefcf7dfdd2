package ingest

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// hostileSession dials the stack as agent "rogue" (patterns "*") and
// returns the connection after the handshake.
func hostileSession(t *testing.T, s *stack) *agentConn {
	t.Helper()
	cert := s.addAgent(t, "rogue", "*")
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("rogue", epoch1, 1, 100); err != nil {
		t.Fatal(err)
	}
	return a
}

func quotaRefusals(t *testing.T, s *stack) inventory.Refusal {
	t.Helper()
	refusals, err := s.db.Refusals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refusals {
		if r.Kind == inventory.RefusedQuota {
			return r
		}
	}
	t.Fatalf("no quota refusal in %+v", refusals)
	return inventory.Refusal{}
}

// TestQuotaDataSourcesPerAttribute: the ~1 KB message that made a 99.5 MB
// archive (4,096 data sources) is refused; the host's other attribute and
// its archive are kept.
func TestQuotaDataSourcesPerAttribute(t *testing.T) {
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{})
	a := hostileSession(t, s)
	h := testHost("r1", 60)
	var ds []wire.DSDef
	for i := 0; i < 4096; i++ {
		ds = append(ds, wire.DSDef{Name: fmt.Sprint("d", i), Kind: sample.Gauge, Min: math.NaN(), Max: math.NaN()})
	}
	h.Attrs = append(h.Attrs, wire.Attr{Key: "oid:wide", Kind: wire.KindOID, Interval: 60, DS: ds})
	if got, err := a.batch(&wire.Batch{Seq: 1, Hosts: []wire.Host{h}}); err != nil || got != 1 {
		t.Fatalf("ack %d, %v", got, err)
	}
	s.shutdown(t)
	if _, err := os.Stat(dir + "/rrd/r1/oid%3Awide.rrd"); !os.IsNotExist(err) {
		t.Fatalf("the wide archive exists: %v", err)
	}
	if _, err := os.Stat(dir + "/rrd/r1/if%3Aeth0.rrd"); err != nil {
		t.Fatalf("the host's other archive: %v", err)
	}
	r := quotaRefusals(t, s)
	if r.Count != 1 || !strings.Contains(r.LastReason, "r1/oid:wide has 4096 data sources (quotas.data_sources_per_attribute 64)") {
		t.Fatalf("refusal %+v", r)
	}
}

// TestQuotaHostsPerAgent: hosts beyond the quota are refused, the
// agent's first hosts keep flowing, in the same batch.
func TestQuotaHostsPerAgent(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{quotas: Quotas{HostsPerAgent: 2}})
	a := hostileSession(t, s)
	b := &wire.Batch{Seq: 1}
	for i := 1; i <= 5; i++ {
		h := fmt.Sprint("h", i)
		b.Hosts = append(b.Hosts, testHost(h, 60))
		b.Statuses = append(b.Statuses, wire.AttrStatus{Host: h, Attr: "if:eth0", Status: status.Up, Time: 1_800_000_000_000})
	}
	if got, err := a.batch(b); err != nil || got != 1 {
		t.Fatalf("ack %d, %v", got, err)
	}
	s.shutdown(t)
	for i := 1; i <= 5; i++ {
		attr, err := s.db.AttributeByKey(context.Background(), fmt.Sprint("h", i), "if:eth0")
		if (i <= 2) != (err == nil && attr.Status == status.Up) {
			t.Errorf("h%d: %+v, %v", i, attr, err)
		}
	}
	r := quotaRefusals(t, s)
	if r.Count != 6 || !strings.Contains(r.LastReason, "agent rogue already writes 2 hosts (quotas.hosts_per_agent)") {
		t.Fatalf("refusal %+v", r) // 3 hosts' inventories and 3 statuses
	}
}

// TestQuotaAttributesPerHost: a device announcing 40,000 interfaces (more
// than SQLite binds in one statement) gets its first attributes up to the
// quota; another host in the same batch has its statuses applied.
func TestQuotaAttributesPerHost(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{quotas: Quotas{AttributesPerHost: 1000}})
	a := hostileSession(t, s)
	big := wire.Host{Name: "huge", Complete: true}
	for i := 0; i < 40_000; i++ {
		big.Attrs = append(big.Attrs, wire.Attr{Key: fmt.Sprint("if:", i), Kind: wire.KindInterface, Interval: 60})
	}
	b := &wire.Batch{Seq: 1, Hosts: []wire.Host{big, testHost("normal", 60)},
		Statuses: []wire.AttrStatus{{Host: "normal", Attr: "if:eth0", Status: status.Down, Reason: "oper down", Time: 1_800_000_000_000}}}
	if got, err := a.batch(b); err != nil || got != 1 {
		t.Fatalf("ack %d, %v", got, err)
	}
	s.shutdown(t)
	ctx := context.Background()
	if attr, err := s.db.AttributeByKey(ctx, "normal", "if:eth0"); err != nil || attr.Status != status.Down {
		t.Fatalf("normal host: %+v, %v", attr, err)
	}
	var n int
	if err := s.db.Reader().QueryRow(`SELECT count(*) FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = 'huge'`).Scan(&n); err != nil || n != 1000 {
		t.Fatalf("huge host has %d attributes (%v), want the quota's 1000", n, err)
	}
	if r := quotaRefusals(t, s); r.Count != 39_000 || !strings.Contains(r.LastReason, "host huge already has 1000 attributes") {
		t.Fatalf("refusal %+v", r)
	}
}

// TestQuotaSeriesDictionary: a connection that defines more series than
// its dictionary holds is not ended (the agent would send the same
// definitions again, forever); the samples of the definitions not kept
// are refused as over quota, the others stored.
func TestQuotaSeriesDictionary(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{maxSeries: 2})
	a := hostileSession(t, s)
	a.send(testSeries("r1")) // three definitions: the third is not kept
	got, err := a.batch(testBatch(1, 1_800_000_000, true, "r1", 60))
	if err != nil || got != 1 {
		t.Fatalf("ack %d, %v", got, err)
	}
	if len(a.rejects) != 1 || a.rejects[0].Kind != wire.RejectQuota || a.rejects[0].Count != 1 ||
		!strings.Contains(a.rejects[0].Reason, "series dictionary full: 1 series definitions not kept") {
		t.Fatalf("rejects %+v", a.rejects)
	}
	recs := s.journaled(t)
	if len(recs) != 1 || recs[0].Samples() != 2 {
		t.Fatalf("journal %+v", recs)
	}
	if n := counterValue(s.m.Refused.WithLabelValues("protocol")); n != 0 {
		t.Fatalf("session refused %v times", n)
	}
}

// TestArchiveBytesEstimate: the estimate matches the files ensureArchive
// creates within a few percent.
func TestArchiveBytesEstimate(t *testing.T) {
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{})
	a := hostileSession(t, s)
	h := wire.Host{Name: "r1", Attrs: []wire.Attr{
		{Key: "one", Kind: wire.KindOID, Interval: 60, DS: []wire.DSDef{{Name: "v", Kind: sample.Gauge, Min: math.NaN(), Max: math.NaN()}}},
		{Key: "many", Kind: wire.KindOID, Interval: 300, DS: make([]wire.DSDef, 20)},
	}}
	for i := range h.Attrs[1].DS {
		h.Attrs[1].DS[i] = wire.DSDef{Name: fmt.Sprint("d", i), Kind: sample.Gauge, Min: math.NaN(), Max: math.NaN()}
	}
	if _, err := a.batch(&wire.Batch{Seq: 1, Hosts: []wire.Host{h}}); err != nil {
		t.Fatal(err)
	}
	s.shutdown(t)
	for _, c := range []struct {
		file string
		step time.Duration
		n    int
	}{{"one", time.Minute, 1}, {"many", 5 * time.Minute, 20}} {
		st, err := os.Stat(dir + "/rrd/r1/" + c.file + ".rrd")
		if err != nil {
			t.Fatal(err)
		}
		est := ArchiveBytes(c.step, c.n)
		if d := math.Abs(float64(est-st.Size())) / float64(st.Size()); d > 0.05 {
			t.Errorf("%s: estimate %d, file %d bytes", c.file, est, st.Size())
		}
	}
}

// BenchmarkSeriesFlood measures the heap a rogue connection's series
// definitions take: 100,000 definitions of 3 x 2,000-byte names each
// (600 MB of names) into a dictionary with the default bounds, and with
// no byte bound (the behaviour before quotas).
func BenchmarkSeriesFlood(b *testing.B) {
	for _, tc := range []struct {
		name     string
		maxBytes int
	}{{"bounded", DefaultMaxSeriesBytes}, {"unbounded", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				d := NewDictionary(DefaultMaxSeries)
				d.maxBytes = tc.maxBytes
				long := strings.Repeat("x", 1990)
				for first := 0; first < 100_000; first += 1000 {
					s := &wire.Series{First: uint32(first)}
					for j := 0; j < 1000; j++ {
						n := fmt.Sprintf("%010d", first+j)
						s.Defs = append(s.Defs, wire.SeriesDef{Host: long + n, Attr: long + n, DS: long + n, Kind: sample.Gauge})
					}
					d.Define(s)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
				b.ReportMetric(float64(d.Len()), "series-kept")
				runtime.KeepAlive(d)
			}
		})
	}
}

package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// siteSeries is the series of a site of hosts polled like SNMP targets:
// a host attribute and interfaces of counters, as the batcher numbers them.
func siteSeries(hosts, ifs int) []wire.SeriesDef {
	var out []wire.SeriesDef
	for h := 0; h < hosts; h++ {
		host := fmt.Sprintf("edge-%04d", h)
		out = append(out, wire.SeriesDef{Host: host, Attr: "host", DS: "rtt", Kind: sample.Gauge},
			wire.SeriesDef{Host: host, Attr: "host", DS: "reachable", Kind: sample.Gauge})
		for i := 0; i < ifs; i++ {
			attr := fmt.Sprintf("if:eth%d", i)
			for _, ds := range []string{"in_octets", "out_octets", "in_ucast", "out_ucast", "in_errors", "out_errors", "in_discards", "out_discards", "in_mcast", "out_mcast", "in_bcast", "out_bcast"} {
				out = append(out, wire.SeriesDef{Host: host, Attr: attr, DS: ds, Kind: sample.Counter64})
			}
		}
	}
	return out
}

func keyOf(d wire.SeriesDef) sample.Key { return sample.Key{Host: d.Host, Attr: d.Attr, DS: d.DS} }

// TestRegistryManySeries numbers enough series to grow the index several
// times, with keys that share hosts, attributes and names and differ only
// in kind, and checks that every series keeps its number across lookups, a
// reopen and the Defs listing.
func TestRegistryManySeries(t *testing.T) {
	defs := siteSeries(60, 8)
	// the same keys again as another kind: different series
	for _, d := range defs[:500] {
		d.Kind = sample.Counter32
		defs = append(defs, d)
	}
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	for round := 0; round < 2; round++ {
		for i, d := range defs {
			id, err := s.Registry().ID(keyOf(d), d.Kind)
			if err != nil || id != uint32(i) {
				t.Fatalf("round %d: ID(%v, %v) = %d, %v; want %d", round, keyOf(d), d.Kind, id, err, i)
			}
		}
	}
	s.Close()
	s = open(t, Options{Dir: dir})
	defer s.Close()
	reg := s.Registry()
	if reg.Len() != uint32(len(defs)) {
		t.Fatalf("Len after reopen %d, want %d", reg.Len(), len(defs))
	}
	for i, d := range defs {
		if id, err := reg.ID(keyOf(d), d.Kind); err != nil || id != uint32(i) {
			t.Fatalf("after reopen ID(%v, %v) = %d, %v; want %d", keyOf(d), d.Kind, id, err, i)
		}
	}
	var got []wire.SeriesDef
	for from := uint32(0); from < reg.Len(); {
		ss := reg.Defs(from, 1000)
		if len(ss) != 1 || ss[0].First != from {
			t.Fatalf("Defs(%d): %d runs, first %d", from, len(ss), ss[0].First)
		}
		got = append(got, ss[0].Defs...)
		from += uint32(len(ss[0].Defs))
	}
	if len(got) != len(defs) {
		t.Fatalf("Defs listed %d, want %d", len(got), len(defs))
	}
	for i := range defs {
		if got[i] != defs[i] {
			t.Fatalf("Defs[%d] = %+v, want %+v", i, got[i], defs[i])
		}
	}
}

// TestRegistryLostAndRepeatedRecords: a corrupt record of series.log loses
// its id (Defs skips it, the series gets a new number), and a series
// written twice (only a failed write could do that) is found by its newest
// number, as before the registry was made compact.
func TestRegistryLostAndRepeatedRecords(t *testing.T) {
	dir := t.TempDir()
	rec := func(id uint64, d wire.SeriesDef) []byte {
		var p []byte
		for _, s := range []string{d.Host, d.Attr, d.DS} {
			p = append(p, byte(len(s)))
			p = append(p, s...)
		}
		return appendRecord(nil, id+1, uint32(d.Kind), p)
	}
	a := wire.SeriesDef{Host: "h", Attr: "a", DS: "x", Kind: sample.Gauge}
	b := wire.SeriesDef{Host: "h", Attr: "a", DS: "y", Kind: sample.Gauge}
	var data []byte
	data = append(data, rec(0, a)...)
	bad := rec(1, b)
	bad[len(bad)-1] ^= 0xff // CRC fails: id 1 is lost
	data = append(data, bad...)
	data = append(data, rec(2, a)...) // a again, newer id
	if err := os.WriteFile(filepath.Join(dir, seriesFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, Options{Dir: dir})
	defer s.Close()
	reg := s.Registry()
	tests := []struct {
		def  wire.SeriesDef
		want uint32
	}{
		{a, 2},
		{b, 3}, // lost, so numbered anew
	}
	for _, tc := range tests {
		if id, err := reg.ID(keyOf(tc.def), tc.def.Kind); err != nil || id != tc.want {
			t.Errorf("ID(%v) = %d, %v; want %d", keyOf(tc.def), id, err, tc.want)
		}
	}
	ss := reg.Defs(0, 10)
	if len(ss) != 2 || ss[0].First != 0 || len(ss[0].Defs) != 1 || ss[1].First != 2 || len(ss[1].Defs) != 2 || ss[1].Defs[1] != b {
		t.Fatalf("Defs: %+v", ss)
	}
}

// BenchmarkRegistryMemory numbers the series of 1,000 SNMP targets (8
// interfaces each: 98 series a target) and reports the registry's heap
// per series, then times the lookup of a known series (every sample of
// every poll goes through it).
func BenchmarkRegistryMemory(b *testing.B) {
	defs := siteSeries(1000, 8)
	keys := make([]sample.Key, len(defs))
	for i, d := range defs {
		keys[i] = keyOf(d)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := Open(Options{Dir: b.TempDir(), FsyncInterval: -1, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	reg := s.Registry()
	for i, d := range defs {
		if _, err := reg.ID(keys[i], d.Kind); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSeries := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(defs))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(defs)
		if _, err := reg.ID(keys[j], defs[j].Kind); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perSeries, "heap-B/series")
	runtime.KeepAlive(keys)
}

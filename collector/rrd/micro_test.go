package rrd

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkApply is the in-memory cost of one update (6 COUNTER DS, the
// baseline's 7 RRAs): rrd_update's arithmetic, no I/O.
func BenchmarkApply(b *testing.B) {
	p := filepath.Join(b.TempDir(), "a.rrd")
	if err := Create(p, benchSpec()); err != nil {
		b.Fatal(err)
	}
	f, h, err := openHeader(p)
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	vals := make([]Value, 6)
	s := newSession(h)
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		if k%1000 == 0 {
			s = newSession(h)
		}
		for j := range vals {
			vals[j] = Uint(uint64(1000 * k * (j + 1)))
		}
		if err := s.apply(Update{Time: time.Unix(benchStart+60*int64(k+1), 0), Values: vals}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*6)/b.Elapsed().Seconds(), "DS-updates/s")
}

// BenchmarkCacheUpdate is the cost of queueing one update.
func BenchmarkCacheUpdate(b *testing.B) {
	p := filepath.Join(b.TempDir(), "a.rrd")
	if err := Create(p, benchSpec()); err != nil {
		b.Fatal(err)
	}
	c := NewCache(CacheOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	vals := make([]Value, 6)
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		for j := range vals {
			vals[j] = Uint(uint64(1000 * k * (j + 1)))
		}
		if err := c.Update(p, time.Unix(benchStart+60*int64(k+1), 0), vals); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheQueue measures Cache.Update alone on the throughput
// benchmark's stream (row by row across OUTPOST_RRD_BENCH_FILES files,
// default 1000, 100 rows each; no flush), per update; the first update of
// each file reads its header.
func BenchmarkCacheQueue(b *testing.B) {
	files := benchEnv("OUTPOST_RRD_BENCH_FILES", 1000)
	const rows = 100
	dir := b.TempDir()
	paths := make([]string, files)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("f%d.rrd", i))
		if err := Create(paths[i], benchSpec()); err != nil {
			b.Fatal(err)
		}
	}
	vals := make([]Value, 6)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		c := NewCache(CacheOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		for k := 0; k < rows; k++ {
			tm := time.Unix(benchStart+60*int64(k+1), 0)
			for i, p := range paths {
				for j := range vals {
					vals[j] = Uint(uint64(1000*k*(j+1) + i))
				}
				if err := c.Update(p, tm, vals); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*files*rows), "ns/update")
	b.ReportMetric(0, "ns/op")
}

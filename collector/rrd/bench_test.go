package rrd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The update benchmark of the brief: FILES archives x 6 COUNTER DS (step 60,
// AVERAGE+MAX to two years: the RRAs of the rrdtool baseline script), ROWS
// updates per file, Outpost through the write-back cache (Update for every
// row of every file, then FlushAll, which syncs) against rrdtool's librrd
// on the same stream (/work/shared/bench/rrdtool_update_baseline.py, run in
// the same benchmark). FILES and ROWS come from OUTPOST_RRD_BENCH_FILES
// (default 1000) and OUTPOST_RRD_BENCH_ROWS (default 100).

const benchStart = 1700000000

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchSpec() Spec {
	s := Spec{Step: 60, Start: time.Unix(benchStart, 0)}
	for j := 0; j < 6; j++ {
		s.DS = append(s.DS, DS{Name: fmt.Sprintf("d%d", j), Type: Counter, Heartbeat: 120, Min: 0, Max: nan()})
	}
	s.RRAs = []RRA{{Average, 0.5, 1, 2880}, {Average, 0.5, 5, 2016}, {Max, 0.5, 5, 2016},
		{Average, 0.5, 60, 1488}, {Max, 0.5, 60, 1488}, {Average, 0.5, 1440, 732}, {Max, 0.5, 1440, 732}}
	return s
}

func BenchmarkUpdateThroughput(b *testing.B) {
	files := benchEnv("OUTPOST_RRD_BENCH_FILES", 1000)
	rows := benchEnv("OUTPOST_RRD_BENCH_ROWS", 100)
	dsUpdates := float64(files * rows * 6)
	var total, totalNoSync, floor, accept time.Duration
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		dir := b.TempDir()
		paths := make([]string, files)
		for i := range paths {
			paths[i] = filepath.Join(dir, fmt.Sprintf("f%d.rrd", i))
			if err := Create(paths[i], benchSpec()); err != nil {
				b.Fatal(err)
			}
		}
		// Start from a clean page cache state: the freshly created files'
		// dirty pages are written back before the clock starts (rrdtool's
		// update never syncs, so it never pays for them either).
		syncDirFS(dir)
		vals := make([]Value, 6)
		// Pass 1, measured: durable (Close = FlushAll syncs). Pass 2, on
		// the same files, the next ROWS rows with the barriers switched
		// off: the same writes in the same order, durability left to the
		// kernel, as librrd's. Both start with no dirty pages.
		for pass := 0; pass < 2; pass++ {
			c := NewCache(CacheOptions{Workers: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			c.noSync = pass == 1
			b.StartTimer()
			t0 := time.Now()
			// The stream of the baseline: file i, row k, DS j has counter
			// 1000*k*(j+1)+i at start+60*(k+1); fed row by row across
			// files, as a poller delivers it.
			for k := pass * rows; k < (pass+1)*rows; k++ {
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
			queued := time.Since(t0)
			if err := c.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			b.StopTimer()
			if pass == 0 {
				total += d
				accept += queued
			} else {
				totalNoSync += d
			}
			b.Logf("pass %d (barriers %v): queueing %v, flush %v (of which waiting for barriers %v)",
				pass+1, pass == 0, queued, d-queued, time.Duration(c.barrierNanos.Load()))
			syncDirFS(dir)
		}
		// Pass 3, the floor: the same files, the extents of the next ROWS
		// rows computed beforehand (untimed), then only what any writer of
		// these files in place must do: open, lock, read the header, write
		// the changed header and rows, close; no journal, no arithmetic,
		// no queueing, two workers.
		floor += ioFloor(b, paths, 2*rows, rows)
		syncDirFS(dir)
		os.RemoveAll(dir)
		b.StartTimer()
	}
	ours := dsUpdates * float64(b.N) / total.Seconds()
	floorRate := dsUpdates * float64(b.N) / floor.Seconds()
	b.ReportMetric(floorRate, "io-floor-DS-updates/s")
	acceptRate := dsUpdates * float64(b.N) / accept.Seconds()
	b.ReportMetric(acceptRate, "outpost-accept-DS-updates/s")
	noSync := dsUpdates * float64(b.N) / totalNoSync.Seconds()
	b.ReportMetric(ours, "outpost-DS-updates/s")
	b.ReportMetric(noSync, "outpost-nosync-DS-updates/s")
	b.ReportMetric(0, "ns/op")
	// rrdtool on the same stream.
	script := "/work/shared/bench/rrdtool_update_baseline.py"
	if _, err := os.Stat(script); err != nil {
		b.Logf("SKIPPING the rrdtool side: %v", err)
		return
	}
	dir := b.TempDir()
	out, err := exec.Command("/usr/bin/python3", script, dir, strconv.Itoa(files), strconv.Itoa(rows)).CombinedOutput()
	if err != nil {
		b.Fatalf("baseline: %v: %s", err, out)
	}
	m := regexp.MustCompile(`= ([0-9,]+) DS-updates/s`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("baseline output: %s", out)
	}
	theirs, _ := strconv.ParseFloat(string(regexp.MustCompile(`,`).ReplaceAll(m[1], nil)), 64)
	b.ReportMetric(theirs, "rrdtool-DS-updates/s")
	b.ReportMetric(ours/theirs, "x-rrdtool")
	b.ReportMetric(noSync/theirs, "nosync-x-rrdtool")
	b.ReportMetric(floorRate/theirs, "io-floor-x-rrdtool")
	b.ReportMetric(acceptRate/theirs, "accept-x-rrdtool")
	// The durable reference: the same librrd calls on the same stream,
	// then one sync(2), the cheapest way to make librrd's writes durable
	// (and no crash consistency: a power cut during write-back can tear a
	// file).
	dir2 := b.TempDir()
	out2, err := exec.Command("/usr/bin/python3", "-c", syncedBaseline, script, dir2, strconv.Itoa(files), strconv.Itoa(rows)).CombinedOutput()
	if err != nil {
		b.Fatalf("synced baseline: %v: %s", err, out2)
	}
	var upd, syn float64
	if _, err := fmt.Sscanf(string(out2), "update %g sync %g", &upd, &syn); err != nil {
		b.Fatalf("synced baseline output %q: %v", out2, err)
	}
	synced := dsUpdates / (upd + syn)
	b.ReportMetric(synced, "rrdtool-synced-DS-updates/s")
	b.ReportMetric(ours/synced, "x-rrdtool-synced")
	b.Logf("%d files x %d rows x 6 DS: Outpost %.0f DS-updates/s durable, %.0f without barriers; in-place I/O floor %.0f; %s"+
		"librrd then sync(2): update %.2f s + sync %.2f s = %.0f DS-updates/s",
		files, rows, ours, noSync, floorRate, out, upd, syn, synced)
}

// syncedBaseline runs the baseline script's creates and updates (its own
// code, with argv shifted), syncing before the clock starts and timing a
// sync(2) after the updates.
const syncedBaseline = `
import os, sys, time
script = sys.argv[1]
sys.argv = [script] + sys.argv[2:]
src = open(script).read()
head, tail = src.split("t = time.perf_counter()", 1)
exec(head)
os.sync()
t = time.perf_counter()
exec(tail.split("d = time.perf_counter() - t", 1)[0])
u = time.perf_counter() - t
t = time.perf_counter()
os.sync()
print(f"update {u} sync {time.perf_counter() - t}")
`

// syncDirFS writes back every dirty page of the file system holding dir.
func syncDirFS(dir string) {
	if d, err := os.Open(dir); err == nil {
		unix.Syncfs(int(d.Fd()))
		d.Close()
	}
}

// ioFloor times the least I/O that writes rows [from, from+rows) of the
// benchmark stream into the archives at paths in place: the changed header
// and rows of each file are computed first (untimed, through the engine's
// own session), then two workers open each file, lock it, advise random
// access, read its header, write the extents and close it (timed). No
// engine that keeps rrdtool's file format and writes each file in place
// can do less per file; the time is reported as a rate on the benchmark's
// stream.
func ioFloor(b *testing.B, paths []string, from, rows int) time.Duration {
	exts := make([][]extent, len(paths))
	vals := make([]Value, 6)
	for i, p := range paths {
		f, h, err := openHeader(p)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		s := newSession(h)
		for k := from; k < from+rows; k++ {
			for j := range vals {
				vals[j] = Uint(uint64(1000*k*(j+1) + i))
			}
			if err := s.apply(Update{Time: time.Unix(benchStart+60*int64(k+1), 0), Values: vals}); err != nil {
				b.Fatal(err)
			}
		}
		exts[i] = s.extents()
	}
	syncDirFS(filepath.Dir(paths[0]))
	b.StartTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hdr := make([]byte, 8<<10)
			for i := int(next.Add(1) - 1); i < len(paths); i = int(next.Add(1) - 1) {
				f, err := os.OpenFile(paths[i], os.O_RDWR, 0)
				if err != nil {
					b.Error(err)
					return
				}
				adviseRandom(f)
				if err := lockFile(f); err != nil {
					b.Error(err)
				}
				if _, err := f.Stat(); err != nil {
					b.Error(err)
				}
				if _, err := f.ReadAt(hdr, 0); err != nil {
					b.Error(err)
				}
				if err := applyExtents(f, exts[i]); err != nil {
					b.Error(err)
				}
				f.Close()
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	b.StopTimer()
	b.Logf("pass 3 (in-place I/O floor): %v", d)
	return d
}

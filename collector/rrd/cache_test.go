package rrd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func quietCache(workers int) *Cache {
	return NewCache(CacheOptions{FlushInterval: time.Hour, Workers: workers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func counterSpec(start int64) Spec {
	return Spec{Step: 60, Start: time.Unix(start, 0),
		DS:   []DS{{Name: "c", Type: Counter, Heartbeat: 120, Min: 0, Max: nan()}, {Name: "g", Type: Gauge, Heartbeat: 120, Min: nan(), Max: nan()}},
		RRAs: []RRA{{CF: Average, XFF: 0.5, Steps: 1, Rows: 50}, {CF: Max, XFF: 0.5, Steps: 5, Rows: 20}, {CF: Min, XFF: 0.5, Steps: 3, Rows: 20}}}
}

// twin creates two identical archives (same random current rows).
func twin(t *testing.T, dir string, spec Spec) (string, string) {
	t.Helper()
	a, b := filepath.Join(dir, "a.rrd"), filepath.Join(dir, "b.rrd")
	if err := Create(a, spec); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(a)
	if err := os.WriteFile(b, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func stream(start int64, n int) []Update {
	var out []Update
	for k := 0; k < n; k++ {
		out = append(out, Update{Time: time.Unix(start+int64(k+1)*60-int64(k%7), int64(k%3)*250e6),
			Values: []Value{Uint(uint64(1000*k*k) % (1 << 32)), Float(float64(k%17) * 1.5)}})
	}
	return out
}

// TestCacheMatchesUpdateFile: queued updates, flushed in one pass, give
// byte-identical files to the same updates applied directly.
func TestCacheMatchesUpdateFile(t *testing.T) {
	dir := t.TempDir()
	a, b := twin(t, dir, counterSpec(1_700_000_000))
	ups := stream(1_700_000_000, 300)
	c := quietCache(2)
	for i, u := range ups {
		if err := c.Update(a, u.Time, u.Values); err != nil {
			t.Fatal(err)
		}
		if i == 120 { // a flush in the middle
			if err := c.Flush(a); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c.Pending() != len(ups)-121 {
		t.Fatalf("pending %d", c.Pending())
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := UpdateFile(b, ups); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatal("cache-written file differs from UpdateFile's")
	}
	if pending, err := journalPending(a); pending || err != nil {
		t.Fatalf("journal left pending: %v", err)
	}
	if err := c.Update(a, time.Unix(1_800_000_000, 0), ups[0].Values); !errors.Is(err, ErrClosed) {
		t.Fatalf("update after close: %v", err)
	}
}

func TestCacheErrNotNewer(t *testing.T) {
	dir := t.TempDir()
	a, _ := twin(t, dir, counterSpec(1_700_000_000))
	// The file already has an update the cache has never seen.
	if err := UpdateFile(a, stream(1_700_000_000, 3)); err != nil {
		t.Fatal(err)
	}
	last, _ := LastUpdate(a)
	c := quietCache(1)
	vals := []Value{Uint(1), Float(1)}
	for _, tm := range []time.Time{last, last.Add(-time.Second), time.Unix(1_600_000_000, 0)} {
		if err := c.Update(a, tm, vals); !errors.Is(err, ErrNotNewer) {
			t.Fatalf("update at %v (file last %v): %v, want ErrNotNewer", tm, last, err)
		}
	}
	next := last.Add(time.Minute)
	if err := c.Update(a, next, vals); err != nil {
		t.Fatal(err)
	}
	// Not newer than a queued (unflushed) update.
	if err := c.Update(a, next, vals); !errors.Is(err, ErrNotNewer) {
		t.Fatalf("same time as queued: %v", err)
	}
	if err := c.Update(a, next.Add(500*time.Millisecond), vals); err != nil {
		t.Fatalf("sub-second newer: %v", err)
	}
	// Values that cannot fit are refused at once.
	if err := c.Update(a, next.Add(time.Minute), []Value{Float(1.5), Float(1)}); err == nil {
		t.Fatal("float for a COUNTER accepted")
	}
	if err := c.Update(a, next.Add(time.Minute), []Value{Uint(1)}); err == nil {
		t.Fatal("one value for two DS accepted")
	}
	if err := c.Update(a, next.Add(time.Minute), []Value{Uint(1), TextValue("12abc")}); err == nil {
		t.Fatal("non-numeric gauge accepted")
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l, _ := LastUpdate(a); !l.Equal(next.Add(500 * time.Millisecond)) {
		t.Fatalf("last update %v", l)
	}
}

func TestCacheFetchSeesQueued(t *testing.T) {
	dir := t.TempDir()
	a, _ := twin(t, dir, counterSpec(1_699_999_980))
	c := quietCache(1)
	defer c.Close(context.Background())
	for k := 1; k <= 10; k++ {
		if err := c.Update(a, time.Unix(1_699_999_980+int64(k)*60, 0), []Value{Uint(uint64(k * 600)), Float(float64(k))}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.Fetch(a, Average, time.Unix(1_699_999_980, 0), time.Unix(1_700_000_600, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	// 600 per minute = 10/s from the second minute; the gauge is k.
	var known int
	for i, row := range r.Rows {
		stamp := r.Start.Unix() + int64(i+1)*60
		k := (stamp - 1_699_999_980) / 60
		if k >= 2 && k <= 10 {
			if row[0] != 10 || row[1] != float64(k) {
				t.Errorf("row %d: %v", stamp, row)
			}
			known++
		}
	}
	if known != 9 {
		t.Fatalf("%d known rows: %+v", known, r.Rows)
	}
}

// TestCacheConcurrent: many writers on many files while Run flushes; every
// update ends up in its file, in order (run with -race).
func TestCacheConcurrent(t *testing.T) {
	dir := t.TempDir()
	const files, per = 12, 150
	c := NewCache(CacheOptions{FlushInterval: 5 * time.Millisecond, Workers: 3, GroupSize: 5,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	var paths, refs []string
	for i := 0; i < files; i++ {
		sub := filepath.Join(dir, fmt.Sprint(i))
		os.Mkdir(sub, 0o755)
		a, b := twin(t, sub, counterSpec(1_700_000_000))
		paths, refs = append(paths, a), append(refs, b)
	}
	ups := stream(1_700_000_000, per)
	var wg sync.WaitGroup
	for i := range paths {
		wg.Add(1)
		go func(p string) {
			defer wg.Done()
			for _, u := range ups {
				if err := c.Update(p, u.Time, u.Values); err != nil {
					t.Error(err)
					return
				}
			}
		}(paths[i])
	}
	wg.Wait()
	if err := c.FlushAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range paths {
		if err := UpdateFile(refs[i], ups); err != nil {
			t.Fatal(err)
		}
		da, _ := os.ReadFile(paths[i])
		db, _ := os.ReadFile(refs[i])
		if !bytes.Equal(da, db) {
			t.Fatalf("file %d differs from the directly updated twin", i)
		}
	}
}

func TestUpdateFileKeepsUpdatesBeforeABadOne(t *testing.T) {
	dir := t.TempDir()
	a, _ := twin(t, dir, counterSpec(1_700_000_000))
	ups := stream(1_700_000_000, 5)
	bad := append(append([]Update{}, ups[:3]...), ups[1]) // time goes back
	bad = append(bad, ups[3:]...)
	err := UpdateFile(a, bad)
	if !errors.Is(err, ErrNotNewer) {
		t.Fatalf("got %v", err)
	}
	if l, _ := LastUpdate(a); !l.Equal(ups[2].Time) {
		t.Fatalf("last update %v, want %v", l, ups[2].Time)
	}
}

// TestCacheSkipsSupersededUpdates: when the file moves on behind the cache
// (another writer), queued updates it already passed are skipped and the
// later ones still written.
func TestCacheSkipsSupersededUpdates(t *testing.T) {
	dir := t.TempDir()
	a, _ := twin(t, dir, counterSpec(1_699_999_980))
	c := quietCache(1)
	ups := stream(1_699_999_980, 6)
	for _, u := range ups {
		if err := c.Update(a, u.Time, u.Values); err != nil {
			t.Fatal(err)
		}
	}
	if err := UpdateFile(a, ups[2:4]); err != nil { // behind the cache's back
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l, _ := LastUpdate(a); !l.Equal(ups[5].Time) {
		t.Fatalf("last update %v, want %v", l, ups[5].Time)
	}
}

// TestOneSessionEqualsSeparateUpdates: many updates in one write (the ring
// of every archive comes round several times within it, so its dirty rows
// wrap and are rewritten) give the same bytes as the same updates written
// one per call.
func TestOneSessionEqualsSeparateUpdates(t *testing.T) {
	for _, n := range []int{1, 49, 50, 51, 99, 100, 101, 300} {
		dir := t.TempDir()
		a, b := twin(t, dir, counterSpec(1_700_000_000))
		ups := stream(1_700_000_000, n)
		if err := UpdateFile(a, ups); err != nil {
			t.Fatal(err)
		}
		for _, u := range ups {
			if err := UpdateFile(b, []Update{u}); err != nil {
				t.Fatal(err)
			}
		}
		da, _ := os.ReadFile(a)
		db, _ := os.ReadFile(b)
		if !bytes.Equal(da, db) {
			t.Fatalf("%d updates: one call and one call per update differ", n)
		}
	}
}

// TestCacheFileReplacedByAnotherShape: updates queued for a file that is
// then replaced by one with other data sources are dropped at the flush
// (not requeued to fail again at every flush), and the cache takes the new
// shape at the next Update.
func TestCacheFileReplacedByAnotherShape(t *testing.T) {
	dir := t.TempDir()
	a, _ := twin(t, dir, counterSpec(1_700_000_000))
	c := quietCache(1)
	for _, u := range stream(1_700_000_000, 5) {
		if err := c.Update(a, u.Time, u.Values); err != nil {
			t.Fatal(err)
		}
	}
	spec := counterSpec(1_700_000_000)
	spec.DS = append(spec.DS, DS{Name: "x", Type: Gauge, Heartbeat: 120, Min: nan(), Max: nan()})
	os.Remove(a)
	if err := Create(a, spec); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, a)
	if err := c.FlushAll(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if c.Pending() != 0 || fileHash(t, a) != before {
		t.Fatalf("pending %d, file changed %v", c.Pending(), fileHash(t, a) != before)
	}
	if err := c.Update(a, time.Unix(1_700_000_060, 0), []Value{Uint(1), Float(2), Float(3)}); err != nil {
		t.Fatalf("update in the new shape: %v", err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l, _ := LastUpdate(a); !l.Equal(time.Unix(1_700_000_060, 0)) {
		t.Fatalf("last update %v", l)
	}
}

// TestPendingQueueRoundTrip: what push packs, update gives back (kinds,
// bits, input texts, times), also after prepend and for more than eight
// values an update (kinds spill into a second word).
func TestPendingQueueRoundTrip(t *testing.T) {
	parse := func(s string) Value {
		v, err := ParseValue(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		ups  [][]Value
	}{
		{"counters", [][]Value{{Uint(1), Uint(2)}, {Uint(3), Unknown()}}},
		{"mixed kinds and texts", [][]Value{{parse("12"), Float(-0.5), Int(-7)}, {parse("123456789012345678901234567890"), Unknown(), parse("1e3")}}},
		{"nine values", [][]Value{{Uint(1), Uint(2), Uint(3), Uint(4), Uint(5), Uint(6), Uint(7), Uint(8), Int(-9)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q, r pendingQueue
			for k, vals := range tc.ups {
				q.push(1_700_000_000+int64(k), int64(k*250), vals)
				r.push(1_800_000_000+int64(k), 0, vals)
			}
			all := q.prepend(r)
			if all.len() != 2*len(tc.ups) {
				t.Fatalf("len %d", all.len())
			}
			buf := make([]Value, len(tc.ups[0]))
			for k := 0; k < all.len(); k++ {
				u := all.update(k, buf)
				want := tc.ups[k%len(tc.ups)]
				wantT := time.Unix(1_700_000_000+int64(k), int64(k*250)*1000)
				if k >= len(tc.ups) {
					wantT = time.Unix(1_800_000_000+int64(k-len(tc.ups)), 0)
				}
				if !u.Time.Equal(wantT) {
					t.Errorf("update %d: time %v, want %v", k, u.Time, wantT)
				}
				for i := range want {
					if u.Values[i] != want[i] {
						t.Errorf("update %d value %d: %#v, want %#v", k, i, u.Values[i], want[i])
					}
				}
			}
			if e := all.emptied(); e.len() != 0 || e.texts != nil || cap(e.words) == 0 {
				t.Errorf("emptied: len %d, texts %v, cap %d", e.len(), e.texts, cap(e.words))
			}
		})
	}
}

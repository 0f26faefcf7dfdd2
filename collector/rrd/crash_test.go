package rrd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

const crashStart = 1_699_999_980

// crashBatches is the fixed workload of the crash tests: batches of updates
// of irregular size, so a batch touches rows of several archives.
func crashBatches() [][]Update {
	all := stream(crashStart, 400)
	var out [][]Update
	for i, n := 0, 1; i < len(all); n = n%17 + 3 {
		j := min(i+n, len(all))
		out = append(out, all[i:j])
		i = j
	}
	return out
}

func fileHash(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s[:8])
}

// referenceStates returns the hash of the file after each whole batch (0 =
// before any), applied to a copy of base.
func referenceStates(t *testing.T, base string) map[string]int {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "ref.rrd")
	copyFile(t, base, ref)
	states := map[string]int{fileHash(t, ref): 0}
	for k, b := range crashBatches() {
		if err := UpdateFile(ref, b); err != nil {
			t.Fatal(err)
		}
		states[fileHash(t, ref)] = k + 1
	}
	return states
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCrashChild is the child process of TestCrashSafety; it does nothing
// unless started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("OUTPOST_RRD_CRASH_DIR")
	if dir == "" {
		return // not started by TestCrashSafety (the os/exec helper-process idiom)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.rrd"))
	sort.Strings(paths)
	fmt.Println("ready")
	// Groups of three of the seven files: barriers of both kinds (syncfs
	// for more than four files, fdatasync for fewer), pipelined groups.
	c := NewCache(CacheOptions{Workers: 2, GroupSize: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for k, b := range crashBatches() {
		for _, p := range paths {
			if os.Getenv("OUTPOST_RRD_CRASH_MODE") == "file" {
				if err := UpdateFile(p, b); err != nil {
					t.Fatal(err)
				}
				continue
			}
			for _, u := range b {
				if err := c.Update(p, u.Time, u.Values); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := c.FlushAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		fmt.Println(k + 1)
	}
}

// TestCrashSafety kills a child process that is updating archives (through
// UpdateFile, and through the Cache) with SIGKILL at random instants, many
// times; afterwards every file opens and fetches, and equals the file as it
// was before or after some whole batch.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.rrd")
	if err := Create(base, counterSpec(crashStart)); err != nil {
		t.Fatal(err)
	}
	states := referenceStates(t, base)
	iterations := 16
	if testing.Short() {
		iterations = 6
	}
	r := rand.New(rand.NewPCG(1, 2))
	var journals, midway int
	for it := 0; it < iterations; it++ {
		mode := []string{"file", "cache"}[it%2]
		work := filepath.Join(dir, strconv.Itoa(it))
		os.Mkdir(work, 0o755)
		var paths []string
		for f := 0; f < map[string]int{"file": 3, "cache": 7}[mode]; f++ {
			p := filepath.Join(work, fmt.Sprintf("f%d.rrd", f))
			copyFile(t, base, p)
			paths = append(paths, p)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "OUTPOST_RRD_CRASH_DIR="+work, "OUTPOST_RRD_CRASH_MODE="+mode)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		// Kill after a random number of completed batches plus a random
		// few hundred microseconds, so kills land inside flushes.
		lines := bufio.NewScanner(out)
		target := r.IntN(len(crashBatches()))
		for lines.Scan() {
			if lines.Text() == strconv.Itoa(target) || (target == 0 && lines.Text() == "ready") {
				break
			}
		}
		time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for _, p := range paths {
			if pending, _ := journalPending(p); pending {
				journals++
			}
			in, err := ReadInfo(p) // recovers
			if err != nil {
				t.Fatalf("iteration %d (%s): %s unreadable after kill: %v", it, mode, p, err)
			}
			if _, err := Fetch(p, Average, time.Unix(crashStart, 0), in.LastUpdate, 0); err != nil {
				t.Fatalf("iteration %d: fetch after kill: %v", it, err)
			}
			k, ok := states[fileHash(t, p)]
			if !ok {
				t.Fatalf("iteration %d (%s): %s is not the state before or after any whole batch (last update %v)", it, mode, p, in.LastUpdate)
			}
			if k != 0 && k != len(crashBatches()) {
				midway++
			}
		}
	}
	t.Logf("%d kills: %d files stopped between batches, %d had a pending journal at the kill (replayed or discarded)", iterations, midway, journals)
}

// TestJournalEveryCut simulates a crash at every point of a commit: after
// any prefix of the journal bytes, and after any number of in-place extent
// writes (and a torn last one). Recovery must give the before or the after.
func TestJournalEveryCut(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.rrd")
	if err := Create(base, counterSpec(crashStart)); err != nil {
		t.Fatal(err)
	}
	if err := UpdateFile(base, stream(crashStart, 40)); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, base)
	// The extents of the next batch, computed as UpdateFile would.
	f, h, err := openHeader(base)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	s := newSession(h)
	for _, u := range stream(crashStart, 80)[40:] {
		if err := s.apply(u); err != nil {
			t.Fatal(err)
		}
	}
	exts := s.extents()
	if len(exts) < 3 {
		t.Fatalf("only %d extents", len(exts))
	}
	after := filepath.Join(dir, "after.rrd")
	copyFile(t, base, after)
	af, _ := os.OpenFile(after, os.O_RDWR, 0)
	applyExtents(af, exts)
	af.Close()
	afterHash := fileHash(t, after)
	img := encodeJournal(exts)
	p := filepath.Join(dir, "x.rrd")
	check := func(what string) {
		t.Helper()
		if _, err := ReadInfo(p); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := fileHash(t, p); got != before && got != afterHash {
			t.Fatalf("%s: neither before nor after", what)
		}
		if pending, err := journalPending(p); pending || err != nil {
			t.Fatalf("%s: journal still pending (%v)", what, err)
		}
	}
	// Torn journal (archive untouched): every prefix, in steps, written
	// over nothing and over an older, longer, applied journal (whose tail
	// stays behind the new bytes).
	older := encodeJournal(append(append([]extent{}, exts...), extent{off: 0, data: make([]byte, 4096)}))
	copy(older, stateApplied)
	for n := 0; n < len(img); n += 1 + len(img)/200 {
		for _, under := range [][]byte{nil, older} {
			copyFile(t, base, p)
			j := append(append([]byte(nil), under...), make([]byte, max(0, n-len(under)))...)
			copy(j, img[:n])
			os.WriteFile(journalPath(p), j, 0o644)
			check(fmt.Sprintf("journal cut at %d/%d over %d bytes", n, len(img), len(under)))
		}
	}
	// A flipped byte in a complete journal: discarded, archive untouched.
	bad := append([]byte(nil), img...)
	bad[len(bad)/2] ^= 0xff
	copyFile(t, base, p)
	os.WriteFile(journalPath(p), bad, 0o644)
	check("corrupt journal")
	// Complete journal, archive partly written: every extent count, with
	// the last extent torn in half.
	for n := 0; n <= len(exts); n++ {
		copyFile(t, base, p)
		os.WriteFile(journalPath(p), img, 0o644)
		pf, _ := os.OpenFile(p, os.O_RDWR, 0)
		applyExtents(pf, exts[:n])
		if n < len(exts) {
			e := exts[n]
			pf.WriteAt(e.data[:len(e.data)/2], e.off)
		}
		pf.Close()
		check(fmt.Sprintf("%d of %d extents written", n, len(exts)))
		if got := fileHash(t, p); got != afterHash {
			t.Fatalf("complete journal not replayed")
		}
	}
}

// TestCacheBarrierOrder checks the property power-loss safety rests on, at
// every barrier of the cache's flushes (Flush and FlushAll, several rounds,
// groups of two files so flushes are pipelined): between two barriers the
// disk may hold any mix of the pages as they were at the previous barrier
// and as they are now. So a file whose archive changed since the previous
// barrier must have had then a complete PENDING journal, unchanged since,
// whose replay over the old archive gives the new one; and a journal that
// changed since must, if it was complete and PENDING then, replay over
// the old archive to the old archive. Under those conditions recovery
// after a power cut at any instant gives the state of some barrier, i.e.
// before or after a whole batch of each file.
func TestCacheBarrierOrder(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.rrd")
	if err := Create(base, counterSpec(crashStart)); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := 0; i < 5; i++ {
		p := filepath.Join(dir, fmt.Sprintf("f%d.rrd", i))
		copyFile(t, base, p)
		paths = append(paths, p)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return b
	}
	replay := func(journal, archive []byte) ([]byte, bool) {
		exts, pending, ok := decodeJournal(journal, int64(len(archive)))
		if !pending || !ok {
			return nil, false
		}
		out := append([]byte(nil), archive...)
		for _, e := range exts {
			copy(out[e.off:], e.data)
		}
		return out, true
	}
	type state struct{ archive, journal []byte }
	last := map[string]state{}
	for _, p := range paths {
		last[p] = state{read(p), read(journalPath(p))}
	}
	var barriers, changed int
	// Groups of three of the seven files: barriers of both kinds (syncfs
	// for more than four files, fdatasync for fewer), pipelined groups.
	c := NewCache(CacheOptions{Workers: 2, GroupSize: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	c.barrierHook = func() {
		barriers++
		for _, p := range paths {
			old := last[p]
			now := state{read(p), read(journalPath(p))}
			if !bytes.Equal(now.archive, old.archive) {
				changed++
				if !bytes.Equal(now.journal, old.journal) {
					t.Errorf("barrier %d: %s: archive and journal both changed since the last barrier", barriers, p)
				} else if got, ok := replay(old.journal, old.archive); !ok || !bytes.Equal(got, now.archive) {
					t.Errorf("barrier %d: %s: archive changed without a durable journal that gives it (replayable %v)", barriers, p, ok)
				}
			} else if !bytes.Equal(now.journal, old.journal) {
				if got, ok := replay(old.journal, old.archive); ok && !bytes.Equal(got, old.archive) {
					t.Errorf("barrier %d: %s: the journal durable at the last barrier would change the archive", barriers, p)
				}
			}
			last[p] = now
		}
	}
	batches := crashBatches()
	for k, b := range batches[:12] {
		for _, p := range paths {
			for _, u := range b {
				if err := c.Update(p, u.Time, u.Values); err != nil {
					t.Fatal(err)
				}
			}
		}
		var err error
		if k%3 == 2 {
			err = c.Flush(paths[k%len(paths)]) // a Fetch's flush of one file
		} else {
			err = c.FlushAll(context.Background())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.barrierHook() // the state after the last barrier too
	if barriers < 20 || changed < 20 {
		t.Fatalf("only %d barriers, %d archive changes checked", barriers, changed)
	}
	// And the result is the whole stream, as UpdateFile writes it.
	ref := filepath.Join(dir, "ref.rrd")
	copyFile(t, base, ref)
	for _, b := range batches[:12] {
		if err := UpdateFile(ref, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range paths {
		if fileHash(t, p) != fileHash(t, ref) {
			t.Fatalf("%s differs from the reference", p)
		}
	}
}

package spool

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"

	"github.com/outpost-nms/outpost/shared/sample"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t *testing.T, opt Options) *Spool {
	t.Helper()
	if opt.FsyncInterval == 0 {
		opt.FsyncInterval = -1
	}
	opt.Logger = quiet()
	s, err := Open(opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func payloadFor(seq uint64) []byte {
	return []byte(fmt.Sprintf("batch-%d-%s", seq, strings.Repeat("x", int(seq%7))))
}

func appendN(t *testing.T, s *Spool, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := 0; i < n; i++ {
		seq, err := s.Append(10, func(seq uint64) ([]byte, error) { return payloadFor(seq), nil })
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// readAll drains a cursor from seq and checks every payload.
func readAll(t *testing.T, s *Spool, from uint64) []uint64 {
	t.Helper()
	c := s.ReadFrom(from)
	var got []uint64
	for {
		r, err := c.Next()
		if err == ErrNoRecord {
			return got
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !bytes.Equal(r.Payload, payloadFor(r.Seq)) {
			t.Fatalf("seq %d: payload %q", r.Seq, r.Payload)
		}
		got = append(got, r.Seq)
	}
}

func seqRange(a, b uint64) []uint64 {
	var out []uint64
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

func equalSeqs(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	sort.Strings(m)
	return m
}

func TestAppendReadAckReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir, SegmentBytes: 200})
	epoch := s.Epoch()
	if epoch == 0 {
		t.Fatal("epoch 0")
	}
	appendN(t, s, 20)
	equalSeqs(t, "read", readAll(t, s, 1), seqRange(1, 20))
	equalSeqs(t, "read from 15", readAll(t, s, 15), seqRange(15, 20))
	if len(segFiles(t, dir)) < 3 {
		t.Fatalf("expected rollover into several segments, got %v", segFiles(t, dir))
	}
	if err := s.Ack(12); err != nil {
		t.Fatal(err)
	}
	first, last, acked := s.Bounds()
	if first != 13 || last != 20 || acked != 12 {
		t.Fatalf("bounds %d %d %d", first, last, acked)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, Options{Dir: dir, SegmentBytes: 200})
	defer s.Close()
	if s.Epoch() != epoch {
		t.Fatalf("epoch changed across reopen")
	}
	_, _, acked = s.Bounds()
	if acked != 12 {
		t.Fatalf("acked after reopen %d", acked)
	}
	got := readAll(t, s, 13)
	equalSeqs(t, "after reopen", got, seqRange(13, 20))
	// segments wholly below the ack are gone: reading from 1 starts at or
	// below 13 but never at 1.
	if all := readAll(t, s, 1); all[0] == 1 {
		t.Fatalf("acked segments not deleted: %v", all)
	}
	seqs := appendN(t, s, 3)
	equalSeqs(t, "appended after reopen", seqs, seqRange(21, 23))
	if d := s.Drops(); d.Batches != 0 || d.Corrupt != 0 {
		t.Fatalf("drops %+v", d)
	}
}

func TestSeqIncreasesAfterEverythingAcked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir, SegmentBytes: 100})
	appendN(t, s, 10)
	if err := s.Ack(10); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, Options{Dir: dir, SegmentBytes: 100})
	defer s.Close()
	if first, last, _ := s.Bounds(); first != 0 || last != 0 {
		t.Fatalf("bounds after full ack: %d %d", first, last)
	}
	equalSeqs(t, "next", appendN(t, s, 1), []uint64{11})
}

func TestByteLimitDropsOldest(t *testing.T) {
	dir := t.TempDir()
	// each record is 24 + ~10 bytes; 4 per segment; bound of 3 segments
	s := open(t, Options{Dir: dir, SegmentBytes: 140, MaxBytes: 420})
	appendN(t, s, 40)
	d := s.Drops()
	if d.Batches == 0 || d.Samples != d.Batches*10 {
		t.Fatalf("drops %+v", d)
	}
	got := readAll(t, s, 1)
	if uint64(len(got))+d.Batches != 40 || got[len(got)-1] != 40 || got[0] != d.Batches+1 {
		t.Fatalf("read %v with %d dropped", got, d.Batches)
	}
	if b := s.Bytes(); b > 420 {
		t.Fatalf("spool holds %d bytes, over the bound", b)
	}
	s.Close()
	s = open(t, Options{Dir: dir, SegmentBytes: 140, MaxBytes: 420})
	defer s.Close()
	if s.Drops() != d {
		t.Fatalf("drops not persisted: %+v, want %+v", s.Drops(), d)
	}
}

func TestAckedSegmentsAreNotCountedAsDrops(t *testing.T) {
	s := open(t, Options{Dir: t.TempDir(), SegmentBytes: 140, MaxBytes: 420})
	defer s.Close()
	appendN(t, s, 8)
	s.Ack(8)
	appendN(t, s, 8)
	if d := s.Drops(); d.Batches != 0 {
		t.Fatalf("drops %+v", d)
	}
}

// TestAgeLimitDropsOldest runs in a synctest bubble: the spool's clock is
// the bubble's, and the background sync (which applies the age bound while
// nothing is appended) ticks through the fake hours.
func TestAgeLimitDropsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, Options{Dir: t.TempDir(), SegmentBytes: 140, MaxAge: time.Hour, FsyncInterval: time.Minute})
		defer s.Close()
		appendN(t, s, 8) // two segments
		time.Sleep(50 * time.Minute)
		appendN(t, s, 4) // third segment
		time.Sleep(5 * time.Minute)
		if d := s.Drops(); d.Batches != 0 {
			t.Fatalf("dropped %+v before any segment was an hour old", d)
		}
		time.Sleep(15 * time.Minute)
		// The first two segments are now 70 minutes old, the third 20: the
		// background sync dropped the two at the 60-minute mark.
		synctest.Wait()
		d := s.Drops()
		if d.Batches != 8 || d.Samples != 80 {
			t.Fatalf("drops %+v, want 8 batches", d)
		}
		equalSeqs(t, "left", readAll(t, s, 1), seqRange(9, 12))
	})
}

func TestTornTailSkippedAndCounted(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	appendN(t, s, 5)
	s.Close()
	segs := segFiles(t, dir)
	f, _ := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	rec := appendRecord(nil, 6, 10, payloadFor(6))
	f.Write(rec[:len(rec)-3]) // torn: the crash hit mid-record
	f.Close()

	s = open(t, Options{Dir: dir})
	equalSeqs(t, "read", readAll(t, s, 1), seqRange(1, 5))
	if d := s.Drops(); d.Corrupt != 1 {
		t.Fatalf("corrupt %d, want 1", d.Corrupt)
	}
	equalSeqs(t, "append continues", appendN(t, s, 2), []uint64{6, 7})
	s.Close()
	s = open(t, Options{Dir: dir})
	defer s.Close()
	if d := s.Drops(); d.Corrupt != 1 {
		t.Fatalf("corrupt counted again after reopen: %d", d.Corrupt)
	}
	equalSeqs(t, "read", readAll(t, s, 1), seqRange(1, 7))
}

func TestCorruptMiddleRecordSkippedAndCounted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset func(rec int) int // byte to flip, relative to the start of the record
	}{
		{"payload", func(int) int { return recordHeaderLen + 2 }},
		{"length", func(int) int { return 5 }},
		{"magic", func(int) int { return 0 }},
		{"crc", func(int) int { return 21 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, Options{Dir: dir, SegmentBytes: 1 << 20})
			appendN(t, s, 10)
			s.Close()
			seg := segFiles(t, dir)[0]
			data, _ := os.ReadFile(seg)
			res := scanRecords(data)
			off := int(res.index[4].off) + tc.offset(4) // seq 5
			data[off] ^= 0x40
			os.WriteFile(seg, data, 0o600)

			s = open(t, Options{Dir: dir, SegmentBytes: 1 << 20})
			want := append(seqRange(1, 4), seqRange(6, 10)...)
			equalSeqs(t, "read", readAll(t, s, 1), want)
			if d := s.Drops(); d.Corrupt != 1 {
				t.Fatalf("corrupt %d, want 1", d.Corrupt)
			}
			s.Close()
			s = open(t, Options{Dir: dir, SegmentBytes: 1 << 20})
			defer s.Close()
			if d := s.Drops(); d.Corrupt != 1 {
				t.Fatalf("corrupt after reopen %d, want 1", d.Corrupt)
			}
		})
	}
}

func TestRegistryPersists(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	reg := s.Registry()
	keys := []sample.Key{{Host: "r1", Attr: "if:ge-0/0/1", DS: "in_octets"}, {Host: "r1", Attr: "if:ge-0/0/1", DS: "out_octets"}, {Host: "ntp1", Attr: "ntp", DS: "offset"}}
	kinds := []sample.Kind{sample.Counter64, sample.Counter64, sample.Gauge}
	for i, k := range keys {
		id, err := reg.ID(k, kinds[i])
		if err != nil || id != uint32(i) {
			t.Fatalf("ID(%v) = %d, %v", k, id, err)
		}
	}
	if id, _ := reg.ID(keys[1], kinds[1]); id != 1 {
		t.Fatalf("second lookup gave %d", id)
	}
	if id, _ := reg.ID(keys[1], sample.Counter32); id != 3 {
		t.Fatalf("a different kind is a different series: got %d", id)
	}
	s.Close()
	// torn tail in the registry
	f, _ := os.OpenFile(filepath.Join(dir, seriesFile), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0x4f, 0x50, 0x53})
	f.Close()
	s = open(t, Options{Dir: dir})
	defer s.Close()
	reg = s.Registry()
	if reg.Len() != 4 {
		t.Fatalf("Len %d", reg.Len())
	}
	for i, k := range keys {
		if id, _ := reg.ID(k, kinds[i]); id != uint32(i) {
			t.Fatalf("after reopen %v = %d", k, id)
		}
	}
	if id, _ := reg.ID(sample.Key{Host: "h", Attr: "a", DS: "d"}, sample.Gauge); id != 4 {
		t.Fatalf("new id after reopen %d", id)
	}
	ss := reg.Defs(1, 100)
	if len(ss) != 1 || ss[0].First != 1 || len(ss[0].Defs) != 4 || ss[0].Defs[2].Kind != sample.Counter32 {
		t.Fatalf("Defs: %+v", ss)
	}
}

func TestCursorSkipsDroppedRecords(t *testing.T) {
	s := open(t, Options{Dir: t.TempDir(), SegmentBytes: 140, MaxBytes: 420})
	defer s.Close()
	c := s.ReadFrom(1)
	appendN(t, s, 2)
	if r, err := c.Next(); err != nil || r.Seq != 1 {
		t.Fatalf("Next = %d, %v", r.Seq, err)
	}
	appendN(t, s, 30)
	r, err := c.Next()
	if err != nil || r.Seq != s.Drops().Batches+1 {
		t.Fatalf("after drops Next = %d, %v (dropped %d)", r.Seq, err, s.Drops().Batches)
	}
}

// TestCrashKill9 runs a child process that appends and reports every seq it
// has fsynced, kills it with SIGKILL mid-stream, and checks that every
// reported record survives, in order, without duplicates.
func TestCrashKill9(t *testing.T) {
	if _, child := testbed.CrashChildArg(); child {
		t.Skip("child")
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := testbed.CrashChild(t, "TestCrashChild", dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var synced uint64
		deadline := time.Now().Add(20 * time.Second)
		for sc.Scan() && time.Now().Before(deadline) {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "SYNCED "); ok {
				synced, _ = strconv.ParseUint(v, 10, 64)
				if synced >= uint64(300*(round+1)) {
					break
				}
			}
		}
		if synced == 0 {
			t.Fatalf("child reported nothing")
		}
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()

		s := open(t, Options{Dir: dir, SegmentBytes: 4096})
		got := readAll(t, s, 1)
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Fatalf("round %d: seq %d after %d", round, got[i], got[i-1])
			}
		}
		if uint64(len(got)) < synced || got[synced-1] != synced {
			t.Fatalf("round %d: %d fsynced records reported, %d readable", round, synced, len(got))
		}
		t.Logf("round %d: child killed after reporting seq %d fsynced; %d records readable", round, synced, len(got))
		for i, seq := range got {
			if seq != uint64(i+1) {
				t.Fatalf("round %d: gap at %d: %d", round, i+1, seq)
			}
		}
		s.Close()
	}
}

// TestCrashChild is the child of TestCrashKill9: it appends forever and
// prints the highest seq after each Sync.
func TestCrashChild(t *testing.T) {
	dir, child := testbed.CrashChildArg()
	if !child {
		t.Skip("only runs as the child of TestCrashKill9")
	}
	s, err := Open(Options{Dir: dir, SegmentBytes: 4096, FsyncInterval: -1, Logger: quiet()})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		seq, err := s.Append(10, func(seq uint64) ([]byte, error) { return payloadFor(seq), nil })
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		if i%7 == 0 {
			if err := s.Sync(); err != nil {
				os.Exit(2)
			}
			fmt.Printf("SYNCED %d\n", seq)
		}
	}
}

func TestAppendOpeningTellsTheFirstRecordOfASegment(t *testing.T) {
	// Segments of 1 KiB and records of about 300 bytes: every fourth
	// record opens a segment (the fourth does not fit with its headers).
	s := open(t, Options{Dir: t.TempDir(), SegmentBytes: 1024})
	defer s.Close()
	type call struct {
		seq   uint64
		opens bool
	}
	var calls []call
	var opened []uint64
	for i := 0; i < 10; i++ {
		seq, err := s.AppendOpening(1, func(seq uint64, opens bool) ([]byte, error) {
			calls = append(calls, call{seq, opens})
			n := 300
			if opens {
				n = 400 // what opens a segment may be bigger (the inventory)
			}
			return make([]byte, n), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if last := calls[len(calls)-1]; last.opens {
			opened = append(opened, seq)
		}
	}
	var firsts []uint64
	ents, _ := os.ReadDir(s.opt.Dir)
	for _, e := range ents {
		var first uint64
		if _, err := fmt.Sscanf(e.Name(), "seg-%d.log", &first); err == nil {
			firsts = append(firsts, first)
		}
	}
	if fmt.Sprint(opened) != fmt.Sprint(firsts) {
		t.Fatalf("build was told opens for seqs %v; the segments start at %v (calls %v)", opened, firsts, calls)
	}
	rebuilt := 0
	for i := 1; i < len(calls); i++ {
		if calls[i].seq == calls[i-1].seq {
			rebuilt++
			if calls[i-1].opens || !calls[i].opens {
				t.Errorf("seq %d built as %v then %v; a rebuild must be the opening one", calls[i].seq, calls[i-1].opens, calls[i].opens)
			}
		}
	}
	if rebuilt != len(firsts)-1 {
		t.Errorf("%d rebuilds for %d segments", rebuilt, len(firsts))
	}
	for seq := uint64(1); seq <= 10; seq++ {
		r, err := s.ReadFrom(seq).Next()
		if err != nil || r.Seq != seq {
			t.Fatalf("read seq %d: %+v %v", seq, r, err)
		}
		want := 300
		for _, f := range firsts {
			if f == seq {
				want = 400
			}
		}
		if len(r.Payload) != want {
			t.Errorf("seq %d stored %d bytes, want %d", seq, len(r.Payload), want)
		}
	}
}

package journal

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

func replayAll(t *testing.T, j *Journal, from Pos) []Entry {
	t.Helper()
	var out []Entry
	if err := j.Replay(from, func(e Entry) error {
		e.Data = append([]byte(nil), e.Data...)
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("replay: %v", err)
	}
	return out
}

func rec(i int) []byte {
	return []byte(fmt.Sprintf("record-%06d-%s", i, bytes.Repeat([]byte{'x'}, i%97)))
}

func TestAppendReplayAcrossSegmentsAndReopen(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{SegmentBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var ends []Pos
	for i := 0; i < 200; i++ {
		pos, err := j.Append(rec(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(ends) > 0 && pos <= ends[len(ends)-1] {
			t.Fatalf("position went backwards: %d after %d", pos, ends[len(ends)-1])
		}
		ends = append(ends, pos)
	}
	if s := j.Stats(); s.Segments < 5 {
		t.Fatalf("expected several segments with 1 KiB segments, got %d", s.Segments)
	}
	got := replayAll(t, j, 0)
	if len(got) != 200 {
		t.Fatalf("replayed %d records, want 200", len(got))
	}
	for i, e := range got {
		if !bytes.Equal(e.Data, rec(i)) || e.End != ends[i] {
			t.Fatalf("record %d: %q end %d, want %q end %d", i, e.Data, e.End, rec(i), ends[i])
		}
	}
	// Replay from the middle starts at that record.
	mid := replayAll(t, j, ends[99])
	if len(mid) != 100 || !bytes.Equal(mid[0].Data, rec(100)) {
		t.Fatalf("replay from %d: %d records, first %q", ends[99], len(mid), mid[0].Data)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append([]byte("late")); err != ErrClosed {
		t.Fatalf("append after close: %v", err)
	}
	j, err = Open(dir, Options{SegmentBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.End() != ends[199] {
		t.Fatalf("reopened end %d, want %d", j.End(), ends[199])
	}
	pos, err := j.Append(rec(200))
	if err != nil || pos <= ends[199] {
		t.Fatalf("append after reopen: %d, %v", pos, err)
	}
	if got := replayAll(t, j, 0); len(got) != 201 || !bytes.Equal(got[200].Data, rec(200)) {
		t.Fatalf("after reopen replayed %d", len(got))
	}
}

func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segments: %v", err)
	}
	return segs[len(segs)-1]
}

func TestTornTailTruncated(t *testing.T) {
	for _, cut := range []int{1, 5, int(RecordLen(0)), int(RecordLen(0)) + 3} {
		t.Run(strconv.Itoa(cut), func(t *testing.T) {
			dir := t.TempDir()
			j, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var ends []Pos
			for i := 0; i < 3; i++ {
				p, err := j.Append(rec(i))
				if err != nil {
					t.Fatal(err)
				}
				ends = append(ends, p)
			}
			j.Close()
			// Simulate a crash in the middle of writing the fourth record.
			full := make([]byte, int(RecordLen(0))+len(rec(3)))
			copy(full, []byte{0x4f, 0x50, 0x4a, 0x31, 0, 0, 0, byte(len(rec(3)))})
			f, _ := os.OpenFile(lastSegment(t, dir), os.O_WRONLY|os.O_APPEND, 0)
			f.Write(full[:cut])
			f.Close()

			j, err = Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if j.End() != ends[2] {
				t.Fatalf("end %d after torn tail, want %d", j.End(), ends[2])
			}
			if s := j.Stats(); s.TornBytes != uint64(cut) {
				t.Fatalf("torn bytes %d, want %d", s.TornBytes, cut)
			}
			if _, err := j.Append(rec(9)); err != nil {
				t.Fatal(err)
			}
			got := replayAll(t, j, 0)
			if len(got) != 4 || !bytes.Equal(got[3].Data, rec(9)) {
				t.Fatalf("replayed %d records after torn tail", len(got))
			}
			if s := j.Stats(); s.Corrupt != 0 {
				t.Fatalf("corrupt = %d, want 0", s.Corrupt)
			}
		})
	}
}

func TestCorruptRecordSkippedAndCounted(t *testing.T) {
	cases := []struct {
		name   string
		offset func(start Pos) int64 // byte to flip, relative to record 1's start
	}{
		{"data", func(Pos) int64 { return int64(RecordLen(0)) + 2 }},
		{"length", func(Pos) int64 { return 6 }},
		{"magic", func(Pos) int64 { return 0 }},
		{"crc", func(Pos) int64 { return 9 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var ends []Pos
			for i := 0; i < 3; i++ {
				p, _ := j.Append(rec(i))
				ends = append(ends, p)
			}
			j.Close()
			f, _ := os.OpenFile(lastSegment(t, dir), os.O_RDWR, 0)
			off := int64(ends[0]) + tc.offset(ends[0])
			b := make([]byte, 1)
			f.ReadAt(b, off)
			b[0] ^= 0xff
			f.WriteAt(b, off)
			f.Close()

			j, err = Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if j.End() != ends[2] {
				t.Fatalf("a corrupt record in the middle must not truncate: end %d, want %d", j.End(), ends[2])
			}
			got := replayAll(t, j, 0)
			if len(got) != 2 || !bytes.Equal(got[0].Data, rec(0)) || !bytes.Equal(got[1].Data, rec(2)) {
				t.Fatalf("replayed %d records", len(got))
			}
			if s := j.Stats(); s.Corrupt != 1 {
				t.Fatalf("corrupt = %d, want 1", s.Corrupt)
			}
		})
	}
}

func TestCheckpointDeletesOldSegments(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{SegmentBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	var ends []Pos
	for i := 0; i < 100; i++ {
		p, err := j.Append(rec(i))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, p)
	}
	before := j.Stats().Segments
	if err := j.Checkpoint(ends[79]); err != nil {
		t.Fatal(err)
	}
	after := j.Stats().Segments
	if after >= before {
		t.Fatalf("segments %d -> %d: checkpoint deleted nothing", before, after)
	}
	if err := j.Checkpoint(ends[99] + 1); err == nil {
		t.Fatal("checkpoint beyond the end accepted")
	}
	// Everything after the checkpoint is still replayable, from the checkpoint.
	got := replayAll(t, j, j.Checkpointed())
	if len(got) != 20 || !bytes.Equal(got[0].Data, rec(80)) {
		t.Fatalf("after checkpoint replayed %d, first %q", len(got), got[0].Data)
	}
	j.Close()
	j, err = Open(dir, Options{SegmentBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	if j.Checkpointed() != ends[79] {
		t.Fatalf("checkpoint after reopen %d, want %d", j.Checkpointed(), ends[79])
	}
	if got := replayAll(t, j, j.Checkpointed()); len(got) != 20 {
		t.Fatalf("after reopen replayed %d", len(got))
	}
	// Checkpoint everything: only the active segment remains, and positions keep growing.
	if err := j.Checkpoint(j.End()); err != nil {
		t.Fatal(err)
	}
	if s := j.Stats(); s.Segments != 1 {
		t.Fatalf("segments after full checkpoint = %d", s.Segments)
	}
	p, _ := j.Append(rec(1000))
	if p <= ends[99] {
		t.Fatalf("position %d after full checkpoint is not past %d", p, ends[99])
	}
	j.Close()
}

func TestGroupCommitConcurrentAppenders(t *testing.T) {
	j, err := Open(t.TempDir(), Options{SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := j.Append(rec(w*each + i)); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	s := j.Stats()
	if s.Appends != writers*each {
		t.Fatalf("appends = %d", s.Appends)
	}
	seen := map[string]bool{}
	for _, e := range replayAll(t, j, 0) {
		seen[string(e.Data)] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("replayed %d distinct records, want %d", len(seen), writers*each)
	}
	t.Logf("%d appends shared %d fsyncs", s.Appends, s.Syncs)
}

// TestCrashWhileAppending runs appenders in a child process, kills it with
// SIGKILL mid-stream and checks that every record whose Append returned
// (the child prints its number only then) is replayed.
func TestCrashWhileAppending(t *testing.T) {
	if dir, child := testbed.CrashChildArg(); child {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := testbed.CrashChild(t, "TestCrashWhileAppending", dir, "JOURNAL_CRASH_ROUND="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]bool{}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			acked[sc.Text()] = true
			if len(acked) == 300 {
				cmd.Process.Kill()
				break
			}
		}
		cmd.Wait()
		if len(acked) < 300 {
			t.Fatalf("child acked only %d records before exiting", len(acked))
		}
		j, err := Open(dir, Options{SegmentBytes: 8192})
		if err != nil {
			t.Fatal(err)
		}
		present := map[string]bool{}
		for _, e := range replayAll(t, j, 0) {
			present[string(e.Data)] = true
		}
		j.Close()
		for k := range acked {
			if !present[k] {
				t.Fatalf("round %d: record %q was acked but is not in the journal", round, k)
			}
		}
		t.Logf("round %d: %d acked, %d in journal", round, len(acked), len(present))
	}
}

func crashChild(dir string) {
	j, err := Open(dir, Options{SegmentBytes: 8192})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	round := os.Getenv("JOURNAL_CRASH_ROUND")
	var mu sync.Mutex
	for w := 0; w < 8; w++ {
		go func(w int) {
			for i := 0; ; i++ {
				id := fmt.Sprintf("r%s-w%d-%d", round, w, i)
				if _, err := j.Append([]byte(id)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				os.Stdout.WriteString(id + "\n")
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(time.Minute) // killed long before
	os.Exit(3)
}

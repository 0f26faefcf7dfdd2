package wal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func openLog(t *testing.T, dir string, segBytes int64) *Log {
	t.Helper()
	l, err := OpenLog(dir, LogOptions{Format: journalFormat, Suffix: ".wal", SegmentBytes: segBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func payload(i int) []byte {
	return []byte(fmt.Sprintf("record %03d %s", i, bytes.Repeat([]byte{'y'}, i%17)))
}

func replayAll(t *testing.T, l *Log, from Pos) []Entry {
	t.Helper()
	var out []Entry
	if err := l.Replay(from, func(e Entry) error {
		out = append(out, Entry{Pos: e.Pos, End: e.End, Data: bytes.Clone(e.Data)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLogPositionsAcrossSegmentsAndReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 200)
	var ends []Pos
	for i := 0; i < 40; i++ {
		end, err := l.Append(payload(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(ends) > 0 && end-l.RecordLen(len(payload(i))) != ends[len(ends)-1] {
			t.Fatalf("record %d starts at %d, the previous ended at %d", i, end-l.RecordLen(len(payload(i))), ends[len(ends)-1])
		}
		ends = append(ends, end)
	}
	if s := l.Stats(); s.Segments < 5 {
		t.Fatalf("%d segments for 40 records of ~30 bytes in 200-byte segments", s.Segments)
	}
	l.Close()
	l = openLog(t, dir, 200)
	if l.End() != ends[39] {
		t.Fatalf("end after reopen %d, want %d", l.End(), ends[39])
	}
	got := replayAll(t, l, ends[9])
	if len(got) != 30 || got[0].Pos != ends[9] || !bytes.Equal(got[29].Data, payload(39)) {
		t.Fatalf("replay from record 10: %d records, first at %d", len(got), got[0].Pos)
	}
	if err := l.RemoveBefore(ends[19]); err != nil {
		t.Fatal(err)
	}
	if l.First() > ends[18] {
		t.Fatalf("RemoveBefore(%d) removed the segment of record 19 (first now %d)", ends[19], l.First())
	}
	if got := replayAll(t, l, 0); got[0].Pos > ends[18] || got[len(got)-1].End != ends[39] {
		t.Fatalf("after RemoveBefore: records %d..%d", got[0].Pos, got[len(got)-1].End)
	}
}

func TestLogTornTailAndMidCorruption(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 1<<20)
	var ends []Pos
	for i := 0; i < 10; i++ {
		end, err := l.Append(payload(i))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	l.Close()
	path := filepath.Join(dir, "0000000000000000.wal")
	b, _ := os.ReadFile(path)
	b[ends[3]+14] ^= 0xff                                              // record 4's data: a damaged record in the middle
	b = append(b, journalFormat.Append(nil, nil, payload(10))[:20]...) // a torn tail
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, 1<<20)
	if l.End() != ends[9] || l.Stats().TornBytes != 20 {
		t.Fatalf("end %d torn %d; want %d 20", l.End(), l.Stats().TornBytes, ends[9])
	}
	got := replayAll(t, l, 0)
	if len(got) != 9 || l.Stats().Corrupt != 1 {
		t.Fatalf("%d records, %d corrupt; want 9, 1", len(got), l.Stats().Corrupt)
	}
	if end, err := l.Append(payload(10)); err != nil || end != ends[9]+l.RecordLen(len(payload(10))) {
		t.Fatalf("append after the torn tail: %d %v", end, err)
	}
}

// TestLogGroupCommit: concurrent writers share fsyncs, and every record
// is readable in position order afterwards.
func TestLogGroupCommit(t *testing.T) {
	l := openLog(t, t.TempDir(), 4096)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := l.Append(payload(w*100 + i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s := l.Stats()
	if s.Appends != 400 || s.Syncs >= 400 {
		t.Fatalf("%d appends, %d syncs", s.Appends, s.Syncs)
	}
	if got := replayAll(t, l, 0); len(got) != 400 || l.Synced() != l.End() {
		t.Fatalf("%d records, synced %d end %d", len(got), l.Synced(), l.End())
	}
}

func TestLogFreshStartsAtStart(t *testing.T) {
	l, err := OpenLog(t.TempDir(), LogOptions{Format: journalFormat, Suffix: ".wal", SegmentBytes: 100, Start: 12345})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.End() != 12345 || l.First() != 12345 {
		t.Fatalf("end %d first %d", l.End(), l.First())
	}
	if _, err := l.Write(make([]byte, journalFormat.MaxData+1)); err == nil {
		t.Fatal("a record over MaxData was written")
	}
	l.Close()
	if _, err := l.Write([]byte("x")); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
}

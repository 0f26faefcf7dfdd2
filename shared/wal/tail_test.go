package wal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func next(t *testing.T, tl *Tailer) Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := tl.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTailFollowsDurableRecordsAcrossRolls: a Tailer returns records in
// order across segment rolls, only once they are synced, and blocks at the
// end until the next sync.
func TestTailFollowsDurableRecordsAcrossRolls(t *testing.T) {
	l := openLog(t, t.TempDir(), 150)
	tl := l.Tail(0)
	defer tl.Close()
	for i := 0; i < 20; i++ {
		if _, err := l.Append(payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		if e := next(t, tl); !bytes.Equal(e.Data, payload(i)) || e.End != tl.Pos() {
			t.Fatalf("record %d: %q at %d..%d", i, e.Data, e.Pos, e.End)
		}
	}
	// Written but not synced: not returned.
	end, err := l.Write(payload(20))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if _, err := tl.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an unsynced record: %v", err)
	}
	cancel()
	got := make(chan Entry, 1)
	go func() {
		e, err := tl.Next(context.Background())
		if err == nil {
			e.Data = bytes.Clone(e.Data)
		}
		got <- e
	}()
	if err := l.Sync(end); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if !bytes.Equal(e.Data, payload(20)) {
			t.Fatalf("after the sync: %q", e.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting Tailer was not woken by the sync")
	}
	l.Close()
	if _, err := tl.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestTailFromCheckpointAfterRemoval: a Tailer started at a position whose
// segment the writer already removed continues at the oldest segment left
// and reports the bytes it skipped; one started mid-log resumes exactly.
func TestTailFromCheckpointAfterRemoval(t *testing.T) {
	l := openLog(t, t.TempDir(), 150)
	var ends []Pos
	for i := 0; i < 30; i++ {
		end, err := l.Append(payload(i))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	tl := l.Tail(ends[4])
	if e := next(t, tl); !bytes.Equal(e.Data, payload(5)) {
		t.Fatalf("from record 5's start: %q", e.Data)
	}
	tl.Close()
	if err := l.RemoveBefore(ends[20]); err != nil {
		t.Fatal(err)
	}
	first := l.First()
	tl = l.Tail(0)
	defer tl.Close()
	e := next(t, tl)
	if e.Pos != first || tl.Skipped() != uint64(first) {
		t.Fatalf("first record at %d, skipped %d; oldest segment starts at %d", e.Pos, tl.Skipped(), first)
	}
}

// TestTailSkipsDamage: a damaged record in the durable part of a segment
// is skipped and counted, and the Tailer goes on with the next.
func TestTailSkipsDamage(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 1<<20)
	var ends []Pos
	for i := 0; i < 5; i++ {
		end, err := l.Append(payload(i))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	path := dir + "/0000000000000000.wal"
	b, _ := os.ReadFile(path)
	b[ends[1]+13] ^= 0xff // record 2
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	tl := l.Tail(0)
	defer tl.Close()
	var got []string
	for range 4 {
		got = append(got, string(next(t, tl).Data))
	}
	if got[1] != string(payload(1)) || got[2] != string(payload(3)) || tl.Corrupt() != 1 {
		t.Fatalf("records %q, corrupt %d", got, tl.Corrupt())
	}
}

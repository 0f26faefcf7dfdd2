package journal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadsVersion1Files: a journal written by the release before the
// shared log package (testdata/v1, with what that release replayed from
// it in v1.expected.json) opens at the same checkpoint and end, replays
// every record at the same positions, and takes appends after it. A
// collector upgraded with a full journal loses nothing.
func TestReadsVersion1Files(t *testing.T) {
	var want struct {
		Checkpointed Pos `json:"checkpointed"`
		End          Pos `json:"end"`
		Records      []struct {
			Pos Pos    `json:"pos"`
			End Pos    `json:"end"`
			SHA string `json:"sha256"`
		} `json:"records"`
		Segments int `json:"segments"`
	}
	b, err := os.ReadFile("testdata/v1.expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ents, err := os.ReadDir("testdata/v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata/v1", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	j, err := Open(dir, Options{SegmentBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Checkpointed() != want.Checkpointed || j.End() != want.End || j.Stats().Segments != want.Segments {
		t.Fatalf("checkpoint %d end %d segments %d; want %d %d %d", j.Checkpointed(), j.End(), j.Stats().Segments,
			want.Checkpointed, want.End, want.Segments)
	}
	i := 0
	err = j.Replay(j.Checkpointed(), func(e Entry) error {
		if i >= len(want.Records) {
			t.Fatalf("an extra record at %d", e.Pos)
		}
		w := want.Records[i]
		h := sha256.Sum256(e.Data)
		if e.Pos != w.Pos || e.End != w.End || hex.EncodeToString(h[:]) != w.SHA {
			t.Fatalf("record %d at %d..%d sha %x; want %+v", i, e.Pos, e.End, h, w)
		}
		i++
		return nil
	})
	if err != nil || i != len(want.Records) {
		t.Fatalf("replayed %d of %d records: %v", i, len(want.Records), err)
	}
	end, err := j.Append([]byte("after the upgrade"))
	if err != nil || end != want.End+RecordLen(len("after the upgrade")) {
		t.Fatalf("append after the upgrade: end %d, %v", end, err)
	}
}

// TestTailFromCheckpointAcrossRestart: a forwarder's reader started at its
// own checkpoint after a restart gets exactly the records after it, then
// the ones appended later, and learns what Checkpoint removed before it
// read it.
func TestTailFromCheckpointAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{SegmentBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	var ends []Pos
	for i := 0; i < 20; i++ {
		end, err := j.Append(fmt.Appendf(nil, "record %02d", i))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	j.Close()
	if j, err = Open(dir, Options{SegmentBytes: 256}); err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tl := j.Tail(ends[11]) // the forwarder had sent records 0..11
	defer tl.Close()
	for i := 12; i < 25; i++ {
		if i == 20 {
			for k := 20; k < 25; k++ {
				if _, err := j.Append(fmt.Appendf(nil, "record %02d", k)); err != nil {
					t.Fatal(err)
				}
			}
		}
		e, err := tl.Next(ctx)
		if err != nil || string(e.Data) != fmt.Sprintf("record %02d", i) {
			t.Fatalf("record %d: %q %v", i, e.Data, err)
		}
	}
	if err := j.Checkpoint(j.End()); err != nil {
		t.Fatal(err)
	}
	late := j.Tail(0)
	defer late.Close()
	if _, err := j.Append([]byte("after")); err != nil {
		t.Fatal(err)
	}
	for {
		e, err := late.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Data) == "after" {
			break
		}
	}
	if late.Skipped() == 0 {
		t.Fatal("a reader behind the checkpoint's removals was not told it skipped records")
	}
}

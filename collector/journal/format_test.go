package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
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

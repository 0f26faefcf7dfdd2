package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/outpost-nms/outpost/shared/wire"
)

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestReadsVersion1Files: a spool written by the release before the
// shared log package (testdata/v1, with what that release read back from
// it in v1.expected.json) opens with every record, the series registry,
// the epoch and the ack watermark intact, and appends continue after it.
// An agent upgraded with a full spool loses nothing.
func TestReadsVersion1Files(t *testing.T) {
	var want struct {
		Epoch   uint64 `json:"epoch"`
		First   uint64 `json:"first"`
		Last    uint64 `json:"last"`
		Acked   uint64 `json:"acked"`
		Records []struct {
			Seq     uint64 `json:"seq"`
			Samples uint32 `json:"samples"`
			SHA     string `json:"sha256"`
		} `json:"records"`
		Series []wire.Series `json:"series"`
		Drops  wire.Drops    `json:"drops"`
	}
	b, err := os.ReadFile("testdata/v1.expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	dir := copyDir(t, "testdata/v1")
	sp, err := Open(Options{Dir: dir, SegmentBytes: 600, FsyncInterval: -1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	first, last, acked := sp.Bounds()
	if sp.Epoch() != want.Epoch || first != want.First || last != want.Last || acked != want.Acked || sp.Drops() != want.Drops {
		t.Fatalf("epoch %d bounds %d..%d acked %d drops %+v; want %d %d..%d %d %+v",
			sp.Epoch(), first, last, acked, sp.Drops(), want.Epoch, want.First, want.Last, want.Acked, want.Drops)
	}
	cur := sp.ReadFrom(1)
	for i, w := range want.Records {
		r, err := cur.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		h := sha256.Sum256(r.Payload)
		if r.Seq != w.Seq || r.Samples != w.Samples || hex.EncodeToString(h[:]) != w.SHA {
			t.Fatalf("record %d: seq %d samples %d sha %x; want %+v", i, r.Seq, r.Samples, h, w)
		}
	}
	if _, err := cur.Next(); err != ErrNoRecord {
		t.Fatalf("after the last record: %v", err)
	}
	defs := sp.Registry().Defs(0, 100)
	gotDefs, _ := json.Marshal(defs)
	wantDefs, _ := json.Marshal(want.Series)
	if string(gotDefs) != string(wantDefs) {
		t.Fatalf("series %s\nwant %s", gotDefs, wantDefs)
	}
	for i := uint64(1); i <= 30; i++ { // across segment rolls
		seq, err := sp.Append(1, func(seq uint64) ([]byte, error) { return fmt.Appendf(nil, "after the upgrade %d", seq), nil })
		if err != nil || seq != want.Last+i {
			t.Fatalf("append after the upgrade: seq %d, %v", seq, err)
		}
		r, err := cur.Next()
		if err != nil || r.Seq != seq || string(r.Payload) != fmt.Sprintf("after the upgrade %d", seq) {
			t.Fatalf("read back seq %d: %+v %v", seq, r, err)
		}
	}
}

package ingest

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/wire"
)

// TestHostPartsSequences: only a sequence seen whole (parts 0..n-1 in
// order) sweeps; a broken one applies its last part without Complete, so
// nothing is marked gone on partial knowledge.
func TestHostPartsSequences(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	rec := func(seq uint64, idx, count uint32) *Record {
		return &Record{Seq: seq, Hosts: []wire.Host{{Name: "h", Complete: idx == count-1}}, Parts: []wire.HostPart{{Name: "h", Index: idx, Count: count}}}
	}
	for _, tc := range []struct {
		name  string
		recs  []*Record
		sweep bool // the last record sweeps
	}{
		{"whole", []*Record{rec(1, 0, 3), rec(2, 1, 3), rec(3, 2, 3)}, true},
		{"middle missing", []*Record{rec(1, 0, 3), rec(3, 2, 3)}, false},
		{"start missing (restart between parts)", []*Record{rec(2, 1, 3), rec(3, 2, 3)}, false},
		{"count changed", []*Record{rec(1, 0, 3), rec(2, 1, 2)}, false},
		{"restarted sequence", []*Record{rec(1, 0, 3), rec(2, 0, 2), rec(3, 1, 2)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Applier{parts: map[string]partState{}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			var hosts []wire.Host
			var sweep map[string]time.Time
			now := t0
			for i, r := range tc.recs {
				// The clock steps back before the last part: applied no earlier than the start.
				if i == len(tc.recs)-1 {
					now = t0.Add(-time.Hour)
				}
				var at time.Time
				hosts, sweep, at = a.hostParts(r, now)
				if tc.sweep && i == len(tc.recs)-1 && at.Before(t0) {
					t.Fatalf("applied at %v, before the sequence's start %v", at, t0)
				}
				now = t0.Add(time.Duration(i+1) * time.Second)
			}
			_, swept := sweep["h"]
			if swept != tc.sweep || hosts[0].Complete != tc.sweep {
				t.Fatalf("sweep %v complete %v, want %v", swept, hosts[0].Complete, tc.sweep)
			}
			if len(a.parts) != 0 {
				t.Fatalf("state left: %+v", a.parts)
			}
		})
	}
}

package batch

import (
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

func testTrap(i int) wire.Trap {
	return wire.Trap{Time: int64(1_800_000_000_000 + i), Host: "sw1", Source: "192.0.2.1", Version: 2, OID: "1.3.6.1.6.3.1.1.5.3",
		VarBinds: []wire.VarBind{{OID: "1.3.6.1.2.1.2.2.1.1.3", Type: 2, Value: "3"}}}
}

// TestReportTrapsInSpoolWhenItReturns: a nil error means the traps are in
// a spool record (so an inform may be answered), together with samples
// that were pending.
func TestReportTrapsInSpoolWhenItReturns(t *testing.T) {
	sp := openSpool(t)
	b, err := New(sp, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	key := sample.Key{Host: "sw1", Attr: "if:1", DS: "in"}
	b.Report(poll.Report{Host: "sw1", Points: []sample.Point{{Key: key, Kind: sample.Counter64, Uint: 7, Time: time.Unix(1_800_000_000, 0)}}})
	if err := b.ReportTraps([]wire.Trap{testTrap(1), testTrap(2)}); err != nil {
		t.Fatal(err)
	}
	if err := b.ReportTraps(nil); err != nil {
		t.Fatal(err)
	}
	bs := readBatches(t, sp)
	var traps []wire.Trap
	for _, x := range bs {
		traps = append(traps, x.Traps...)
	}
	if len(traps) != 2 || traps[0].Time != testTrap(1).Time || traps[1].VarBinds[0].Value != "3" {
		t.Fatalf("spooled traps %+v", traps)
	}
}

func TestReportTrapsErrors(t *testing.T) {
	sp := openSpool(t)
	b, _ := New(sp, Options{Logger: quiet()})
	bad := testTrap(1)
	bad.VarBinds[0].Value = strings.Repeat("x", wire.MaxTrapValueLen+1)
	if err := b.ReportTraps([]wire.Trap{testTrap(0), bad}); err == nil {
		t.Fatal("an out-of-bounds trap was accepted")
	}
	if got := readBatches(t, sp); len(got) != 0 {
		t.Fatalf("%d batches written for a refused call", len(got))
	}
	sp.Close() // a dead disk: the error must reach the caller (no inform ack)
	if err := b.ReportTraps([]wire.Trap{testTrap(2)}); err == nil || !strings.Contains(err.Error(), spool.ErrClosed.Error()) {
		t.Fatalf("ReportTraps on a closed spool: %v", err)
	}
}

// TestReportTrapsCutsAtMaxBytes: pending samples that would take the batch
// over MaxBytes are cut first, on their own.
func TestReportTrapsCutsAtMaxBytes(t *testing.T) {
	sp := openSpool(t)
	b, _ := New(sp, Options{Logger: quiet(), MaxBytes: 600})
	b.mu.Lock()
	b.stats = append(b.stats, wire.AttrStatus{Host: "sw1", Attr: "if:1", Status: 1})
	b.size = 500
	b.mu.Unlock()
	if err := b.ReportTraps([]wire.Trap{testTrap(1), testTrap(2)}); err != nil {
		t.Fatal(err)
	}
	bs := readBatches(t, sp)
	if len(bs) != 2 || len(bs[0].Traps) != 0 || len(bs[0].Statuses) != 1 || len(bs[1].Traps) != 2 {
		t.Fatalf("batches %+v", bs)
	}
}

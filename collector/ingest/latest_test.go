package ingest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/latest"
)

// TestApplierFeedsAlerting: applied samples reach the latest-value table
// (a counter's rate per second), and the applier says when statuses and
// the inventory changed; with archives and forward-only alike.
func TestApplierFeedsAlerting(t *testing.T) {
	for _, forwardOnly := range []bool{false, true} {
		t.Run(map[bool]string{false: "archives", true: "forward-only"}[forwardOnly], func(t *testing.T) {
			testApplierFeedsAlerting(t, forwardOnly)
		})
	}
}

func testApplierFeedsAlerting(t *testing.T, forwardOnly bool) {
	table := latest.New(0)
	table.SetWanted(map[string]bool{"in_octets": true})
	entry := table.Ensure("r1", "if:eth0")
	var statusCalls, invCalls atomic.Int32
	s := openStack(t, t.TempDir(), stackOptions{latest: table, forwardOnly: forwardOnly,
		statusChanged: func() { statusCalls.Add(1) }, inventoryChanged: func() { invCalls.Add(1) }})
	cert := s.addAgent(t, "edge1", "r*")
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge1", epoch1, 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := a.send(testSeries("r1")); err != nil {
		t.Fatal(err)
	}
	base := int64(1_800_000_000)
	for seq := uint64(1); seq <= 2; seq++ {
		if _, err := a.batch(testBatch(seq, base+int64(seq)*60, seq == 1, "r1", 60)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, at, ok := entry.Read("in_octets")
		if ok && at.Unix() == base+120 {
			// in_octets is t*1000 at time t: 1000 per second.
			if r.Rate != 1000 || r.Value != float64(base+120)*1000 {
				t.Fatalf("reading %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the table never got the second poll (last %v, %v)", at, ok)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, ok := entry.Read("out_octets"); ok {
		t.Error("a data source no rule reads is kept")
	}
	if statusCalls.Load() < 1 || invCalls.Load() < 1 {
		t.Errorf("status changed %d times, inventory %d times; want at least 1 each", statusCalls.Load(), invCalls.Load())
	}
}

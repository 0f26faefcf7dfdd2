package ingest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/snmpname"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestTrapsStoredOnceLinkDownAndColdStart sends traps in batches through
// the real ingest path: they are stored once each (a resend and a journal
// replay add nothing), named, a linkDown sets the interface Down at once,
// an unknown source is kept, and a coldStart makes the next counter
// update unknown.
func TestTrapsStoredOnceLinkDownAndColdStart(t *testing.T) {
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{})
	cert := s.addAgent(t, "edge1", "r*")
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge1", epoch1, 1, 4); err != nil {
		t.Fatal(err)
	}
	if err := a.send(testSeries("r1")); err != nil {
		t.Fatal(err)
	}
	base := int64(1_800_000_000)
	if got, err := a.batch(testBatch(1, base+60, true, "r1", 60)); err != nil || got != 1 {
		t.Fatalf("batch 1: %d %v", got, err)
	}
	linkDown := wire.Trap{Time: (base + 70) * 1000, Host: "r1", Source: "192.0.2.1", From: "192.0.2.1:5000", Version: 2, OID: snmpname.LinkDown, Uptime: 99,
		VarBinds: []wire.VarBind{{OID: "1.3.6.1.2.1.2.2.1.1.1", Type: 2, Value: "1"}, {OID: "1.3.6.1.2.1.2.2.1.7.1", Type: 2, Value: "1"},
			{OID: "1.3.6.1.2.1.2.2.1.8.1", Type: 2, Value: "2"}, {OID: "1.3.6.1.4.1.99.1", Type: 4, Value: "x"}}}
	stranger := wire.Trap{Time: (base + 71) * 1000, Source: "203.0.113.5", From: "203.0.113.5:161", Version: 1, OID: "1.3.6.1.4.1.9.0.3",
		Enterprise: "1.3.6.1.4.1.9", Generic: 6, Specific: 3, SourceFrom: wire.SourceAgentAddr}
	coldStart := wire.Trap{Time: (base + 80) * 1000, Host: "r1", Source: "192.0.2.1", Version: 3, User: "u", Inform: true, OID: snmpname.ColdStart}
	b2 := &wire.Batch{Seq: 2, Traps: []wire.Trap{linkDown, stranger, coldStart}}
	if got, err := a.batch(b2); err != nil || got != 2 {
		t.Fatalf("batch 2: %d %v", got, err)
	}
	if got, err := a.batch(b2); err != nil || got != 2 { // a resend: re-acked, not journaled again
		t.Fatalf("batch 2 again: %d %v", got, err)
	}
	// The poll after the restart: counters small again.
	b3 := testBatch(3, base+120, false, "r1", 60)
	b3.Groups[0].Ints = []uint64{1, 5, 2, 5}
	b3.Statuses = nil
	if got, err := a.batch(b3); err != nil || got != 3 {
		t.Fatalf("batch 3: %d %v", got, err)
	}
	if got, err := a.batch(testBatch(4, base+180, false, "r1", 60)); err != nil || got != 4 {
		t.Fatalf("batch 4: %d %v", got, err)
	}
	a.close()
	s.shutdown(t)

	ctx := context.Background()
	check := func(db *inventory.DB) {
		t.Helper()
		page, err := db.QueryTraps(ctx, inventory.TrapQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 3 || len(page.Traps) != 3 {
			t.Fatalf("%d traps stored (%d on the page), want 3", page.Total, len(page.Traps))
		}
		cs, ld := page.Traps[0], page.Traps[2]
		if cs.Name != "SNMPv2-MIB::coldStart" || !cs.Inform || cs.Version != 3 || cs.User != "u" {
			t.Errorf("coldStart %+v", cs)
		}
		if ld.Name != "IF-MIB::linkDown" || ld.Host != "r1" || ld.Uptime != 99 || len(ld.VarBinds) != 4 ||
			ld.VarBinds[2].Name != "IF-MIB::ifOperStatus.1" || ld.VarBinds[2].Type != "Integer" || ld.VarBinds[3].Name != "" {
			t.Errorf("linkDown %+v", ld)
		}
		unknown, err := db.QueryTraps(ctx, inventory.TrapQuery{Unknown: true})
		if err != nil || unknown.Total != 1 || unknown.Traps[0].Source != "203.0.113.5" || unknown.Traps[0].SourceFrom != "agent-addr" {
			t.Errorf("unknown-source traps %+v %v", unknown, err)
		}
		cisco, _ := db.QueryTraps(ctx, inventory.TrapQuery{OID: "1.3.6.1.4.1.9"})
		byName, _ := db.QueryTraps(ctx, inventory.TrapQuery{Name: "linkdown", Host: "r1"})
		notPrefix, _ := db.QueryTraps(ctx, inventory.TrapQuery{OID: "1.3.6.1.4.1.99"})
		if cisco.Total != 1 || byName.Total != 1 || notPrefix.Total != 0 {
			t.Errorf("filters: oid prefix %d, name %d, 1.3.6.1.4.1.99 %d", cisco.Total, byName.Total, notPrefix.Total)
		}
	}
	check(s.db)
	attr, err := s.db.AttributeByKey(ctx, "r1", "if:eth0")
	if err != nil {
		t.Fatal(err)
	}
	// Down at the trap's time, then Up again by the poll at base+180.
	var reason string
	var at int64
	if err := s.db.Reader().QueryRow(`SELECT reason, at FROM status_events WHERE new_status = ?`, int(status.Down)).Scan(&reason, &at); err != nil {
		t.Fatal(err)
	}
	if at != linkDown.Time || reason != "linkDown trap (ifAdminStatus up, ifOperStatus down); confirmed by the next poll" {
		t.Errorf("status event at %d: %q", at, reason)
	}
	if attr.Status != status.Up {
		t.Errorf("if:eth0 is %v after the poll that followed, want Up", attr.Status)
	}
	if got := counterValue(s.m.Traps.WithLabelValues("r1")); got != 2 {
		t.Errorf("traps metric for r1 = %v, want 2", got)
	}
	// The coldStart (base+80) makes the counters' update at base+120
	// unknown: no spike from 1.8e12 to 5. Then known again at base+180.
	res, err := rrd.Fetch(dir+"/rrd/r1/if%3Aeth0.rrd", rrd.Average, time.Unix(base+60, 0), time.Unix(base+180, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range res.Rows {
		if v := row[0]; !math.IsNaN(v) && v > 1e9 {
			t.Fatalf("a spike across the restart: rows %v", res.Rows)
		}
	}

	// Replay of the whole journal (the checkpoint forgotten) stores nothing twice.
	s2 := openStack(t, t.TempDir(), stackOptions{})
	for _, r := range s.journaled(t) {
		s2.app.apply(ctx, r)
		s2.app.apply(ctx, r)
	}
	check(s2.db)
}

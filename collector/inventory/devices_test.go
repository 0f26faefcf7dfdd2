package inventory

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

func ifAttr(name string, idx, speed string) wire.Attr {
	return wire.Attr{Key: "if:" + name, Kind: wire.KindInterface, Name: name, Interval: 60,
		Props: map[string]string{"ifIndex": idx, "speed": speed}}
}

// TestDevicesApplyAndTopology: entities and neighbours are stored per
// host; a replaced module is an event; a neighbour is matched to a known
// host by chassis id, management address or sysName (with or without a
// domain); a link both ends report is one edge coloured by the worse port.
func TestDevicesApplyAndTopology(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Unix(1_800_000_000, 0)
	arch := func(h, k string) string { return h + "/" + k }
	hosts := []wire.Host{
		{Name: "core", Address: "192.0.2.1", SysName: "core-1.example.net", Attrs: []wire.Attr{ifAttr("ge-0/0/1", "11", "10000000000"), ifAttr("ge-0/0/2", "12", "1000000000")}},
		{Name: "edge", Address: "192.0.2.2", SysName: "edge", Attrs: []wire.Attr{ifAttr("Gi0/1", "1", "1000000000")}},
		{Name: "dist", Address: "192.0.2.3", SysName: "dist", Attrs: []wire.Attr{ifAttr("Gi0/9", "9", "1000000000")}},
	}
	facts := []wire.DeviceFacts{
		{Host: "core", Time: now.UnixMilli(), HasEntities: true, HasNeighbors: true, ChassisIDs: []string{"00:11:22:33:44:55"},
			Entities: []wire.Entity{{Index: 1, Class: "chassis", Name: "core", Serial: "C1"}, {Index: 2, Class: "module", Name: "PSU 1", Serial: "P1", ContainedIn: 1}},
			Neighbors: []wire.Neighbor{
				{Protocol: "lldp", LocalIfIndex: 11, LocalPort: "ge-0/0/1", ChassisID: "aa:aa:aa:aa:aa:aa", SysName: "edge", PortID: "Gi0/1"},
				{Protocol: "lldp", LocalIfIndex: 12, LocalPort: "ge-0/0/2", SysName: "unknown-box", PortID: "eth0"},
			}},
		{Host: "edge", Time: now.UnixMilli(), HasNeighbors: true,
			Neighbors: []wire.Neighbor{{Protocol: "lldp", LocalIfIndex: 1, LocalPort: "Gi0/1", ChassisID: "00:11:22:33:44:55", SysName: "core-1.example.net", PortID: "ge-0/0/1"}}},
		{Host: "dist", Time: now.UnixMilli(), HasNeighbors: true,
			Neighbors: []wire.Neighbor{{Protocol: "cdp", LocalIfIndex: 9, LocalPort: "Gi0/9", SysName: "core-1.example.net", PortID: "ge-0/0/2"}}},
	}
	sts := []wire.AttrStatus{
		{Host: "core", Attr: "if:ge-0/0/1", Status: status.Up, Time: now.UnixMilli()},
		{Host: "edge", Attr: "if:Gi0/1", Status: status.Alert, Time: now.UnixMilli()},
	}
	if _, err := db.ApplyIngest(ctx, IngestUpdate{Agent: "site1", Now: now, Hosts: hosts, Statuses: sts, Devices: facts, Archive: arch}); err != nil {
		t.Fatal(err)
	}
	ents, err := db.Entities(ctx, "core")
	if err != nil || len(ents) != 2 || ents[1].Serial != "P1" || ents[1].ContainedIn != 1 {
		t.Fatalf("entities %+v %v", ents, err)
	}
	// The power supply is replaced: one event; a replay of the same facts adds none.
	later := now.Add(time.Hour)
	f2 := facts[0]
	f2.Time = later.UnixMilli()
	f2.Entities = []wire.Entity{f2.Entities[0], {Index: 2, Class: "module", Name: "PSU 1", Serial: "P2", ContainedIn: 1}}
	for range 2 {
		if _, err := db.ApplyIngest(ctx, IngestUpdate{Agent: "site1", Now: later, Devices: []wire.DeviceFacts{f2}, Archive: arch}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var msg string
	if err := db.Reader().QueryRowContext(ctx, `SELECT count(*), max(message) FROM events WHERE kind = ?`, EventHardware).Scan(&n, &msg); err != nil || n != 1 ||
		!strings.Contains(msg, `serial "P2", was "P1"`) {
		t.Errorf("hardware events: %d %q %v", n, msg, err)
	}

	nb, err := db.Neighbors(ctx, "core")
	if err != nil || len(nb) != 2 || nb[0].RemoteHost != "edge" || nb[1].RemoteHost != "" {
		t.Fatalf("neighbours %+v %v", nb, err)
	}
	topo, err := db.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Edges) != 2 || len(topo.Nodes) != 3 {
		t.Fatalf("topology %+v", topo)
	}
	e := topo.Edges[0] // core - dist (by sysName without domain... the full name), core - edge
	if e.A != "core" || e.B != "dist" || e.APort != "ge-0/0/2" || e.BPort != "Gi0/9" {
		t.Errorf("edge 0 %+v", e)
	}
	e = topo.Edges[1]
	if e.A != "core" || e.B != "edge" || e.Status != status.Alert || e.SpeedBPS != 1_000_000_000 {
		t.Errorf("edge 1 (both ends report it; worse port Alert; lower speed) %+v", e)
	}
	// Neighbours gone from the next discovery are gone from the table.
	f3 := facts[0]
	f3.Neighbors = f3.Neighbors[:1]
	if _, err := db.ApplyIngest(ctx, IngestUpdate{Agent: "site1", Now: later.Add(time.Hour), Devices: []wire.DeviceFacts{f3}, Archive: arch}); err != nil {
		t.Fatal(err)
	}
	if nb, _ := db.Neighbors(ctx, "core"); len(nb) != 1 || !nb[0].FirstSeen.Equal(now) {
		t.Errorf("after the neighbour left: %+v", nb)
	}
}

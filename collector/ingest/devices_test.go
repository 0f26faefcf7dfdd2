package ingest

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/outpost-nms/outpost/shared/wire"
)

// TestRecordDevices: device facts are journaled under key 12, cleaned at
// ingest like every device string, and dropped with their host when the
// agent may not write it.
func TestRecordDevices(t *testing.T) {
	c, err := newRecordCodec()
	if err != nil {
		t.Fatal(err)
	}
	b := &wire.Batch{Seq: 3, Devices: []wire.DeviceFacts{
		{Host: "sw1", HasEntities: true, Entities: []wire.Entity{{Index: 1, Class: "chassis", Name: "sw\x1b[2J1", Serial: "S\xff1"}},
			HasNeighbors: true, Neighbors: []wire.Neighbor{{Protocol: "lldp", SysName: strings.Repeat("x", 5000)}}},
		{Host: "other", HasEntities: true},
	}}
	cleanBatch(b)
	rec, err := Resolve(b, NewDictionary(1024), "edge", 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	f := rec.Devices[0]
	if f.Entities[0].Name != `sw\x1b[2J1` || f.Entities[0].Serial != `S\xff1` || len(f.Neighbors[0].SysName) > 256 {
		t.Errorf("not cleaned: %+v", f)
	}
	enc, err := c.marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[int]cbor.RawMessage
	if err := cbor.Unmarshal(enc, &raw); err != nil || raw[12] == nil {
		t.Fatalf("no key 12 in the record: %v", err)
	}
	back, err := c.unmarshal(enc)
	if err != nil || !reflect.DeepEqual(back.Devices, rec.Devices) {
		t.Errorf("round trip: %+v %v", back.Devices, err)
	}
	if names := rec.HostNames(); len(names) != 2 {
		t.Errorf("host names %v", names)
	}
	screenHosts(rec, func(h string) bool { return h == "sw1" }, "edge")
	if len(rec.Devices) != 1 || rec.Devices[0].Host != "sw1" || len(rec.Refusals) != 1 {
		t.Errorf("screened: %+v refusals %+v", rec.Devices, rec.Refusals)
	}
}

// TestDevicesThroughIngest: device facts sent by an agent over QUIC land in
// the inventory after the host; entities and neighbours beyond the
// per-host quotas are cut and counted as quota refusals, the rest kept.
func TestDevicesThroughIngest(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{quotas: Quotas{EntitiesPerHost: 10, NeighborsPerHost: 2}})
	a := hostileSession(t, s)
	f := wire.DeviceFacts{Host: "r1", Time: 1_800_000_000_000, HasEntities: true, HasNeighbors: true}
	for i := 1; i <= 25; i++ {
		f.Entities = append(f.Entities, wire.Entity{Index: uint32(i), Class: "port", Name: "p" + strconv.Itoa(i)})
	}
	for i := 1; i <= 3; i++ {
		f.Neighbors = append(f.Neighbors, wire.Neighbor{Protocol: wire.ProtoLLDP, LocalIfIndex: uint32(i), SysName: "n" + strconv.Itoa(i)})
	}
	if got, err := a.batch(&wire.Batch{Seq: 1, Hosts: []wire.Host{testHost("r1", 60)}, Devices: []wire.DeviceFacts{f}}); err != nil || got != 1 {
		t.Fatalf("ack %d, %v", got, err)
	}
	s.shutdown(t)
	ctx := context.Background()
	ents, err := s.db.Entities(ctx, "r1")
	if err != nil || len(ents) != 10 {
		t.Fatalf("entities %d, %v", len(ents), err)
	}
	nbs, err := s.db.Neighbors(ctx, "r1")
	if err != nil || len(nbs) != 2 {
		t.Fatalf("neighbours %d, %v", len(nbs), err)
	}
	r := quotaRefusals(t, s)
	if r.Count != 16 || !strings.Contains(r.LastReason, "quotas.") {
		t.Fatalf("refusal %+v (15 entities and 1 neighbour)", r)
	}
}

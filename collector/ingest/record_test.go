package ingest

import (
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestRecordForms: a journal record written before records became maps (an
// array: what journals on disk hold after an upgrade) decodes to the same
// Record as the map form, and unknown keys from a later version are skipped.
func TestRecordForms(t *testing.T) {
	c, err := newRecordCodec()
	if err != nil {
		t.Fatal(err)
	}
	want := &Record{Kind: RecordBatch, Agent: "edge", Epoch: 7, Seq: 42, Received: 1_800_000_000_000,
		Updates:  []AttrUpdate{{Host: "sw1", Attr: "if:1", Time: 1_800_000_000_000, Values: []DSValue{{DS: "in_octets", Kind: sample.Counter64, Uint: 99}}}},
		Statuses: []wire.AttrStatus{{Host: "sw1", Attr: "if:1", Status: 1, Reason: "up", Time: 5}},
		Hosts:    []wire.Host{{Name: "sw1", Address: "192.0.2.1"}},
		Dropped:  wire.Drops{Batches: 1},
	}
	v1 := &recordV1{Kind: want.Kind, Agent: want.Agent, Epoch: want.Epoch, Seq: want.Seq, Received: want.Received,
		Updates: want.Updates, Statuses: want.Statuses, Hosts: want.Hosts, Dropped: want.Dropped}
	old, err := c.enc.Marshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := c.marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !wire.IsArrayForm(old) || wire.IsArrayForm(cur) {
		t.Fatalf("forms: old array %v, current array %v", wire.IsArrayForm(old), wire.IsArrayForm(cur))
	}
	for name, b := range map[string][]byte{"array": old, "map": cur} {
		got, err := c.unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s form decodes to %+v\nwant %+v", name, got, want)
		}
	}
	type future struct {
		Kind  uint8  `cbor:"1,keyasint"`
		Agent string `cbor:"2,keyasint"`
		Later string `cbor:"99,keyasint"`
	}
	b, err := c.enc.Marshal(future{Kind: RecordGap, Agent: "edge", Later: "a field from a later version"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.unmarshal(b); err != nil || got.Kind != RecordGap || got.Agent != "edge" {
		t.Errorf("record with an unknown key: %+v, %v", got, err)
	}
	// Traps travel at key 11, forward-extensible maps themselves.
	withTraps := *want
	withTraps.Traps = []wire.Trap{{Time: 1, Host: "sw1", Source: "192.0.2.1", Version: 2, OID: "1.3.6.1.6.3.1.1.5.3",
		VarBinds: []wire.VarBind{{OID: "1.3.6.1.2.1.2.2.1.1.3", Type: 2, Value: "3"}}}}
	b, err = c.marshal(&withTraps)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.unmarshal(b); err != nil || !reflect.DeepEqual(got, &withTraps) {
		t.Errorf("record with traps: %+v, %v", got, err)
	}
	var keys map[int]cbor.RawMessage
	if err := cbor.Unmarshal(b, &keys); err != nil || keys[11] == nil {
		t.Errorf("traps not at key 11: %v %v", keys, err)
	}
}

package wire

import (
	"reflect"
	"strings"
	"testing"
)

func TestDeviceFactsRoundTrip(t *testing.T) {
	c := newCodec(t)
	in := &Batch{Seq: 3, Devices: []DeviceFacts{{
		Host: "sw1", Time: 1700000000000, HasEntities: true, HasNeighbors: true,
		Entities: []Entity{
			{Index: 1, Class: EntityClass(3), Descr: "Catalyst 37xx Switch Stack", Position: -1},
			{Index: 1001, Class: "module", Model: "WS-C3750-48P", Serial: "CAT0815R0ZM", ContainedIn: 1, Position: 1, FRU: true},
		},
		Neighbors:  []Neighbor{{Protocol: ProtoCDP, LocalIfIndex: 11048, SysName: "C2960X.uac.local", PortID: "GigabitEthernet1/0/8", MgmtAddr: "10.204.88.10"}},
		ChassisIDs: []string{"00:11:22:33:44:55"},
	}}}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Decode(TypeBatch, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*Batch); !reflect.DeepEqual(got.Devices, in.Devices) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got.Devices, in.Devices)
	}
	// Key 7 is where the facts travel; a receiver that does not know it
	// (the decoder of protocol version 1 fields) skips it.
	if !strings.Contains(string(b), "\x07\x81") {
		t.Errorf("facts not under key 7: % x", b[:min(len(b), 40)])
	}
	var old batchV2NoDevices
	if err := c.Unmarshal(b, &old); err != nil || old.Seq != 3 {
		t.Errorf("older receiver: seq %d, %v", old.Seq, err)
	}
}

// batchV2NoDevices is a Batch as a receiver before key 7 declared it.
type batchV2NoDevices struct {
	Seq uint64 `cbor:"1,keyasint"`
}

func (*batchV2NoDevices) Type() Type      { return TypeBatch }
func (*batchV2NoDevices) Validate() error { return nil }

func TestDeviceFactsValidate(t *testing.T) {
	many := DeviceFacts{Host: "h", Entities: make([]Entity, MaxEntities+1)}
	cases := []struct {
		name string
		f    DeviceFacts
		want string
	}{
		{"valid", DeviceFacts{Host: "h", Neighbors: []Neighbor{{Protocol: ProtoLLDP}}}, ""},
		{"no host", DeviceFacts{}, "empty host"},
		{"too many entities", many, "entities"},
		{"bad protocol", DeviceFacts{Host: "h", Neighbors: []Neighbor{{Protocol: "ospf"}}}, `"ospf"`},
	}
	for _, tc := range cases {
		err := tc.f.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	b := &Batch{Seq: 1, Devices: []DeviceFacts{{Host: "a"}, {}, {Host: "c"}}}
	removed, err := b.Screen()
	if err != nil || len(removed) != 1 || len(b.Devices) != 2 || b.Devices[1].Host != "c" {
		t.Errorf("screen: %v %v %+v", removed, err, b.Devices)
	}
}

func TestEntityClass(t *testing.T) {
	for n, want := range map[int]string{3: "chassis", 6: "powerSupply", 10: "port", 0: "class 0", 99: "class 99"} {
		if got := EntityClass(n); got != want {
			t.Errorf("EntityClass(%d) = %q, want %q", n, got, want)
		}
	}
}

// FuzzBatchDevices decodes arbitrary bytes as a batch seeded with device
// facts: no panic; what decodes survives Screen, and re-encodes to the
// same encoding.
func FuzzBatchDevices(f *testing.F) {
	c := newCodec(f)
	b, err := c.Marshal(&Batch{Seq: 1, Devices: []DeviceFacts{{Host: "sw1", HasEntities: true, HasNeighbors: true,
		Entities:  []Entity{{Index: 1, Class: "chassis", Name: "c", ContainedIn: 0, Position: -1}},
		Neighbors: []Neighbor{{Protocol: ProtoLLDP, LocalIfIndex: 3, SysName: "core"}}, ChassisIDs: []string{"00:11"}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0xa2, 0x01, 0x01, 0x07, 0x81, 0xa1, 0x01, 0x60})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := c.Decode(TypeBatch, body)
		if err != nil {
			return
		}
		bt := m.(*Batch)
		if _, err := bt.Screen(); err != nil {
			return
		}
		for i := range bt.Devices {
			if err := bt.Devices[i].Validate(); err != nil {
				t.Fatalf("screened facts invalid: %v", err)
			}
		}
		checkReencode(t, c, bt)
	})
}

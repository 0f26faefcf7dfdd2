package wire

import (
	"bytes"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/shared/testbed/golden"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
)

func newCodec(tb testing.TB) *Codec {
	tb.Helper()
	c, err := NewCodec()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// goldenMessages are one realistic value of every message. Their frames
// are in testdata/<name>.hex; they also seed the fuzz targets.
func goldenMessages() []struct {
	name string
	msg  Message
} {
	return []struct {
		name string
		msg  Message
	}{
		// An agent of protocol version 1: collectors still accept it.
		{"hello", &Hello{Agent: "site-paris", Software: "v1.2.3", Proto: 1, Epoch: 0x5eed5eed12345678,
			FirstSeq: 41, LastSeq: 97, Dropped: Drops{Batches: 2, Samples: 24000, Corrupt: 1}}},
		{"hello-ack", &HelloAck{Collector: "collector", Software: "v1.2.3", Epoch: 0x5eed5eed12345678, AckedSeq: 60,
			MaxFrame: DefaultMaxFrame, Hosts: []string{"core-*", "edge-sw2"}}},
		{"series", &Series{First: 1000, Defs: []SeriesDef{
			{Host: "core-sw1", Attr: "if:ge-0/0/1", DS: "in_octets", Kind: sample.Counter64},
			{Host: "core-sw1", Attr: "if:ge-0/0/1", DS: "out_octets", Kind: sample.Counter64},
			{Host: "core-sw1", Attr: "host", DS: "rtt", Kind: sample.Gauge},
			{Host: "ntp1", Attr: "ntp", DS: "offset", Kind: sample.Gauge},
			{Host: "core-sw1", Attr: "oid:errs", DS: "value", Kind: sample.Counter32},
			{Host: "core-sw1", Attr: "oid:drv", DS: "value", Kind: sample.Derive},
			{Host: "core-sw1", Attr: "oid:abs", DS: "value", Kind: sample.Absolute},
		}}},
		{"batch", &Batch{Seq: 98,
			Groups: []Group{
				{Time: 1764131700123, Ints: []uint64{1000, 123456789012, 1001, 987654321098, 1004, 4294967295},
					FloatIDs: []uint32{1002, 1005}, Floats: []float64{0.00125, -42}, Resets: []uint32{1001}},
				{Time: 1764131701000, FloatIDs: []uint32{1003}, Floats: []float64{-0.000213}},
			},
			Statuses: []AttrStatus{
				{Host: "core-sw1", Attr: "if:ge-0/0/1", Status: status.Up, Time: 1764131700123},
				{Host: "ntp1", Attr: "ntp", Status: status.Alert, Reason: "offset 210 ms > 100 ms", Time: 1764131701000},
			},
			Hosts: []Host{{Name: "core-sw1", Address: "192.0.2.10", SysName: "core-sw1.example.net",
				SysDescr: "Juniper EX4300", SysObjectID: "1.3.6.1.4.1.2636.1.1.1.2.63", Location: "Paris DC1", Contact: "noc@example.net",
				Attrs: []Attr{
					{Key: "if:ge-0/0/1", Kind: KindInterface, Name: "ge-0/0/1", Descr: "uplink to edge-sw2",
						Props: map[string]string{"ifIndex": "513", "ifSpeed": "1000000000"}, Interval: 60,
						DS: []DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: 125e6}, {Name: "out_octets", Kind: sample.Counter64, Min: 0, Max: 125e6}}},
					{Key: "host", Kind: KindHost, Name: "core-sw1", Interval: 60,
						DS: []DSDef{{Name: "rtt", Kind: sample.Gauge, Min: 0, Max: 60}}},
				},
				Complete: true}},
			Dropped: Drops{Batches: 2, Samples: 24000}}},
		{"ack", &Ack{Seq: 98}},
		{"error", &Error{Code: ErrCodeForbiddenHost, Message: "host core-sw9 is not assigned to agent site-paris", Fatal: false}},
		// Since protocol version 2.
		{"hello-v2", &Hello{Agent: "site-paris", Software: "v1.3.0", Proto: 2, Epoch: 0x5eed5eed12345678,
			FirstSeq: 41, LastSeq: 97, Dropped: Drops{Batches: 2, Samples: 24000, Corrupt: 1}}},
		{"reject", &Reject{Seq: 99, Kind: RejectHost, Reason: `batch 99 names host "core-sw9", which agent site-paris is not assigned`, Count: 12}},
		{"reject-whole", &Reject{Seq: 100, Kind: RejectFrame, Reason: "batch 100: decode batch: cbor: ...", Whole: true}},
		// Device facts (key 7), issue 18.
		{"batch-devices", &Batch{Seq: 101, Devices: []DeviceFacts{{Host: "core-sw1", Time: 1764131700123, HasEntities: true, HasNeighbors: true,
			Entities: []Entity{
				{Index: 1, Class: "chassis", Descr: "EX4300-48T", Name: "FPC: EX4300-48T @ 0/*/*", Model: "EX4300-48T", Serial: "PE3714100218", Position: -1},
				{Index: 2, Class: "powerSupply", Name: "PSU 0", Model: "JPSU-350-AC-AFO", Serial: "1EDN4140188", ContainedIn: 1, Position: 0, FRU: true},
				{Index: 513, Class: "port", Name: "ge-0/0/1", ContainedIn: 1, Position: 2, IfIndex: 513},
			},
			Neighbors: []Neighbor{{Protocol: ProtoLLDP, LocalIfIndex: 513, LocalPort: "ge-0/0/1", ChassisID: "3c:61:04:aa:bb:cc", SysName: "edge-sw2",
				PortID: "Gi1/0/48", PortDescr: "uplink", Platform: "Cisco IOS Software", MgmtAddr: "192.0.2.11"}},
			ChassisIDs: []string{"54:4b:8c:00:11:22"}, MgmtAddrs: []string{"192.0.2.10"}}},
			Dropped: Drops{Batches: 2, Samples: 24000}}},
	}
}

// TestRoundTrip encodes every message as a frame, reads the frame back and
// decodes it, for the golden values and for edge values.
func TestRoundTrip(t *testing.T) {
	c := newCodec(t)
	cases := goldenMessages()
	cases = append(cases, []struct {
		name string
		msg  Message
	}{
		{"hello empty spool", &Hello{Agent: "a", Proto: ProtocolVersion}},
		{"hello max", &Hello{Agent: strings.Repeat("x", 63), Proto: ProtocolVersion, Epoch: math.MaxUint64, FirstSeq: math.MaxUint64, LastSeq: math.MaxUint64,
			Dropped: Drops{Batches: math.MaxUint64, Samples: math.MaxUint64, Corrupt: math.MaxUint64}}},
		{"hello-ack new epoch", &HelloAck{Collector: "c", Epoch: 7}},
		{"series last ids", &Series{First: math.MaxUint32, Defs: []SeriesDef{{Host: "h", Attr: "a", DS: "d", Kind: sample.Gauge}}}},
		{"batch extremes", &Batch{Seq: math.MaxUint64, Groups: []Group{{Time: -1, Ints: []uint64{0, 0, math.MaxUint32, math.MaxUint64},
			FloatIDs: []uint32{0, 1, 2, 3, 4}, Floats: []float64{math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, math.MaxFloat64, math.Copysign(0, -1)}}}}},
		{"batch only drops", &Batch{Seq: 1, Dropped: Drops{Corrupt: 3}}},
		{"batch every status", &Batch{Seq: 2, Statuses: []AttrStatus{
			{Host: "h", Attr: "a", Status: status.Up}, {Host: "h", Attr: "b", Status: status.Alert},
			{Host: "h", Attr: "c", Status: status.Down}, {Host: "h", Attr: "d", Status: status.Testing},
			{Host: "h", Attr: "e", Status: status.AdminDown}, {Host: "h", Attr: "f", Status: status.Unknown}}}},
		{"batch with traps", &Batch{Seq: 3, Traps: []Trap{
			{Time: 1700000000123, Host: "sw1", Source: "192.0.2.7", From: "192.0.2.7:50162", Version: 2, OID: "1.3.6.1.6.3.1.1.5.3", Uptime: 4242,
				VarBinds: []VarBind{{OID: "1.3.6.1.2.1.2.2.1.1.3", Type: 0x02, Value: "3"}, {OID: "1.3.6.1.2.1.2.2.1.6.3", Type: 0x04, Value: "00:1a:2b", Hex: true}}},
			{Time: 1, Source: "198.51.100.1", SourceFrom: SourceAgentAddr, Version: 1, OID: "1.3.6.1.4.1.9.0.1", Enterprise: "1.3.6.1.4.1.9", Generic: 6, Specific: 1, Truncated: 7},
			{Time: 2, Host: "r1", Source: "10.0.0.1", SourceFrom: SourceTrapAddress, Version: 3, Inform: true, User: "trapuser", OID: "1.3.6.1.6.3.1.1.5.1"}}}},
		{"ack zero", &Ack{}},
		{"error fatal unicode", &Error{Code: ErrCodeUnauthorized, Message: "agent «zürich» revoked", Fatal: true}},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := c.AppendFrame(nil, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			typ, body, err := ReadFrame(bytes.NewReader(frame), DefaultMaxFrame, nil)
			if err != nil {
				t.Fatal(err)
			}
			if typ != tc.msg.Type() {
				t.Fatalf("type %s, want %s", typ, tc.msg.Type())
			}
			got, err := c.Decode(typ, body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.msg) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, tc.msg)
			}
			again, err := c.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, body) {
				t.Errorf("encoding is not deterministic")
			}
		})
	}
}

// TestNaNLimits: DSDef uses NaN for "no limit"; it must survive the wire.
func TestNaNLimits(t *testing.T) {
	c := newCodec(t)
	in := &Batch{Seq: 1, Hosts: []Host{{Name: "h", Attrs: []Attr{{Key: "oid:x", DS: []DSDef{{Name: "value", Min: math.NaN(), Max: math.NaN()}}}}}}}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Batch
	if err := c.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	d := out.Hosts[0].Attrs[0].DS[0]
	if !math.IsNaN(d.Min) || !math.IsNaN(d.Max) {
		t.Errorf("limits %v %v, want NaN", d.Min, d.Max)
	}
}

// TestGolden compares the encoding of every golden message with
// testdata/<name>.hex (a whole frame in hex). Run with -update to rewrite.
func TestGolden(t *testing.T) {
	c := newCodec(t)
	for _, g := range goldenMessages() {
		frame, err := c.AppendFrame(nil, g.msg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", g.name+".hex")
		if golden.Update() {
			if err := os.WriteFile(path, []byte(hexLines(frame)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := readHex(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(frame, want) {
			t.Errorf("%s: encoding changed:\n got %x\nwant %x", g.name, frame, want)
		}
		// The stored frame decodes to the message: old frames stay readable.
		typ, body, err := ReadFrame(bytes.NewReader(want), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Decode(typ, body)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if !reflect.DeepEqual(m, g.msg) {
			t.Errorf("%s: golden frame decodes to %#v", g.name, m)
		}
	}
}

// TestBatchVersion1Decodes: a batch frame written by protocol version 1 (an
// array, in agents' spools and on the wire from agents not yet upgraded)
// decodes to the same Batch as the version 2 golden frame.
func TestBatchVersion1Decodes(t *testing.T) {
	c := newCodec(t)
	var want Message
	for _, g := range goldenMessages() {
		if g.name == "batch" {
			want = g.msg
		}
	}
	frame, err := readHex(filepath.Join("testdata", "batch-v1.hex"))
	if err != nil {
		t.Fatal(err)
	}
	typ, body, err := ReadFrame(bytes.NewReader(frame), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !IsArrayForm(body) {
		t.Fatal("the version 1 golden frame is not an array")
	}
	m, err := c.Decode(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("version 1 batch decodes to %#v\nwant %#v", m, want)
	}
	// A version 1 array that is malformed is refused like any other.
	if _, err := c.Decode(TypeBatch, []byte{0x85, 0x00}); err == nil {
		t.Error("a truncated version 1 batch decoded")
	}
}

// TestBatchUnknownKeysIgnored: a later version's batch, with keys this
// version does not know, decodes (forward extensible).
func TestBatchUnknownKeysIgnored(t *testing.T) {
	c := newCodec(t)
	// {1: 7, 5: [0,0,0], 99: "from the future"}
	body := []byte{0xa3, 0x01, 0x07, 0x05, 0x83, 0x00, 0x00, 0x00, 0x18, 0x63, 0x6f}
	body = append(body, "from the future"...)
	m, err := c.Decode(TypeBatch, body)
	if err != nil {
		t.Fatal(err)
	}
	if b := m.(*Batch); b.Seq != 7 {
		t.Errorf("seq = %d", b.Seq)
	}
}

func hexLines(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(32, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}

func readHex(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
}

// goldenFrames returns the stored frames (for fuzz seeds).
func goldenFrames(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	for _, g := range goldenMessages() {
		b, err := readHex(filepath.Join("testdata", g.name+".hex"))
		if err != nil {
			tb.Fatal(err)
		}
		out[g.name] = b
	}
	return out
}

func TestBatchSamples(t *testing.T) {
	b := goldenMessages()[3].msg.(*Batch)
	if n := b.Samples(); n != 6 {
		t.Errorf("Samples = %d, want 6", n)
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{TypeHello: "hello", TypeHelloAck: "hello-ack", TypeSeries: "series",
		TypeBatch: "batch", TypeAck: "ack", TypeError: "error", 0: "type(0)", 200: "type(200)"} {
		if typ.String() != want {
			t.Errorf("%d: %q, want %q", typ, typ.String(), want)
		}
	}
	if (&Error{Code: 3, Message: "no"}).Error() != "collector error 3: no" {
		t.Error("Error.Error")
	}
}

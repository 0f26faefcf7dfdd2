package wire

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// raw encodes v (values, nested []any, cbor.RawMessage) with a plain
// encoder, to build bodies the wire encoder would never produce.
func raw(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nested(depth int) []byte {
	b := bytes.Repeat([]byte{0x81}, depth) // arrays of one element
	return append(b, 0x01)
}

// TestDecodeRejects: every body here must be refused, with the error
// containing want.
func TestDecodeRejects(t *testing.T) {
	c := newCodec(t)
	hostWithProps := func(props cbor.RawMessage) []byte {
		attr := []any{"if:x", "interface", "x", "", props, 60, nil}
		host := []any{"h", "", "", "", "", "", "", []any{attr}, true}
		return raw(t, []any{1, nil, nil, []any{host}, []any{0, 0, 0}})
	}
	manyProps := []byte{0xb9, 0x13, 0x88} // map of 5000 pairs
	for i := 0; i < 5000; i++ {
		manyProps = append(manyProps, raw(t, "k"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)))...)
		manyProps = append(manyProps, 0x60)
	}
	for _, tc := range []struct {
		name string
		t    Type
		body []byte
		want string
	}{
		{"indefinite array", TypeAck, []byte{0x9f, 0x01, 0xff}, "indefinite-length array isn't allowed"},
		{"indefinite string", TypeError, []byte{0x83, 0x01, 0x7f, 0x61, 'a', 0xff, 0xf4}, "indefinite-length UTF-8 text string isn't allowed"},
		{"indefinite map", TypeBatch, hostWithProps(cbor.RawMessage{0xbf, 0x61, 'a', 0x61, 'b', 0xff}), "indefinite-length map isn't allowed"},
		{"tag", TypeAck, []byte{0x81, 0xc1, 0x01}, "CBOR tag isn't allowed"},
		{"self-described tag", TypeAck, []byte{0xd9, 0xd9, 0xf7, 0x81, 0x01}, "CBOR tag isn't allowed"},
		{"deep nesting", TypeBatch, append([]byte{0x85, 0x01}, nested(40)...), "exceeded max nested level"},
		{"duplicate map key", TypeBatch, hostWithProps(cbor.RawMessage{0xa2, 0x61, 'a', 0x61, '1', 0x61, 'a', 0x61, '2'}), "duplicate map key"},
		{"too many map pairs", TypeBatch, hostWithProps(manyProps), "exceeded max number of key-value pairs"},
		{"huge array header", TypeBatch, []byte{0x85, 0x01, 0x9a, 0x7f, 0xff, 0xff, 0xff}, "exceeded max number of elements"},
		{"huge string header", TypeHello, []byte{0x87, 0x7a, 0x7f, 0xff, 0xff, 0xff}, "unexpected EOF"},
		{"trailing bytes", TypeAck, []byte{0x81, 0x01, 0x00}, "extraneous data"},
		{"empty body", TypeAck, nil, "EOF"},
		{"too few fields", TypeAck, []byte{0x80}, "cannot decode CBOR array to struct with different number of elements"},
		{"too many fields", TypeAck, []byte{0x82, 0x01, 0x02}, "cannot decode CBOR array to struct with different number of elements"},
		{"map instead of array", TypeAck, []byte{0xa1, 0x61, 'S', 0x01}, "cannot unmarshal map"},
		{"negative seq", TypeAck, []byte{0x81, 0x20}, "cannot unmarshal negative integer"},
		{"proto overflow", TypeHello, raw(t, []any{"a", "", 70000, 1, 0, 0, []any{0, 0, 0}}), "overflows"},
		{"unknown type", Type(99), []byte{0x80}, "unknown message type(99)"},
		// Validation after decoding.
		{"odd integer pairs", TypeBatch, raw(t, &Batch{Seq: 1, Groups: []Group{{Ints: []uint64{1, 2, 3}}}}), "odd number of integer id/value items"},
		{"series id too large", TypeBatch, raw(t, &Batch{Seq: 1, Groups: []Group{{Ints: []uint64{1 << 32, 2}}}}), "series id 4294967296 out of range"},
		{"float ids mismatch", TypeBatch, raw(t, &Batch{Seq: 1, Groups: []Group{{FloatIDs: []uint32{1, 2}, Floats: []float64{1}}}}), "2 float ids for 1 floats"},
		{"floats without ids", TypeBatch, raw(t, &Batch{Seq: 1, Groups: []Group{{Floats: []float64{1}}}}), "0 float ids for 1 floats"},
		{"seq zero", TypeBatch, raw(t, &Batch{}), "batch: seq 0"},
		{"invalid status", TypeBatch, raw(t, &Batch{Seq: 1, Statuses: []AttrStatus{{Host: "h", Attr: "a", Status: 9}}}), "invalid status 9"},
		{"host without name", TypeBatch, raw(t, &Batch{Seq: 1, Hosts: []Host{{}}}), "host with empty name"},
		{"attr without key", TypeBatch, raw(t, &Batch{Seq: 1, Hosts: []Host{{Name: "h", Attrs: []Attr{{}}}}}), "attribute with empty key"},
		{"ds kind", TypeBatch, raw(t, &Batch{Seq: 1, Hosts: []Host{{Name: "h", Attrs: []Attr{{Key: "k", DS: []DSDef{{Name: "d", Kind: 7}}}}}}}), "invalid kind 7"},
		{"hello no agent", TypeHello, raw(t, &Hello{Proto: 1}), "empty agent name"},
		{"hello version", TypeHello, raw(t, &Hello{Agent: "a", Proto: 3}), "protocol version 3, want 1 to 2"},
		{"hello version 0", TypeHello, raw(t, &Hello{Agent: "a", Proto: 0}), "protocol version 0, want 1 to 2"},
		{"reject without kind", TypeReject, raw(t, &Reject{Seq: 1}), `reject: seq 1 kind ""`},
		{"hello seqs", TypeHello, raw(t, &Hello{Agent: "a", Proto: 1, FirstSeq: 5, LastSeq: 4}), "last seq 4 before first seq 5"},
		{"series overflow", TypeSeries, raw(t, &Series{First: 1<<32 - 1, Defs: []SeriesDef{{Host: "h", Attr: "a", DS: "d"}, {Host: "h", Attr: "a", DS: "e"}}}), "numbers overflow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := c.Decode(tc.t, tc.body)
			if err == nil {
				t.Fatalf("accepted: %#v", m)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestDecodeHugeHeadersAllocateLittle: length headers that promise more
// than the body holds must not make the decoder allocate what they promise.
func TestDecodeHugeHeadersAllocateLittle(t *testing.T) {
	c := newCodec(t)
	bodies := [][]byte{
		{0x85, 0x01, 0x9a, 0x00, 0x1f, 0xff, 0xff}, // Groups: array of 2M-1 elements, none present
		{0x87, 0x7a, 0x7f, 0xff, 0xff, 0xff},       // Agent: 2 GiB text string
		{0x87, 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, b := range bodies {
		if _, err := c.Decode(TypeBatch, b); err == nil {
			t.Fatalf("% x accepted", b)
		}
		if _, err := c.Decode(TypeHello, b); err == nil {
			t.Fatalf("% x accepted", b)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("allocated %d bytes on lying headers", grew)
	}
}

// TestDecodeKeepsInvalidUTF8 checks that text that is not valid UTF-8
// decodes byte for byte instead of making the whole frame undecodable (one
// device string wedged a site that way, issue 15); the receiver cleans it.
func TestDecodeKeepsInvalidUTF8(t *testing.T) {
	c := newCodec(t)
	body := raw(t, []any{cbor.RawMessage{0x62, 0xff, 0xfe}, "", 1, 1, 0, 0, []any{0, 0, 0}})
	m, err := c.Decode(TypeHello, body)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*Hello).Agent; got != "\xff\xfe" {
		t.Fatalf("agent %q", got)
	}
}

// TestSeriesDefCheck: an unusable definition leaves the Series valid (its
// samples alone are refused by the receiver).
func TestSeriesDefCheck(t *testing.T) {
	for _, tc := range []struct {
		def  SeriesDef
		want string
	}{
		{SeriesDef{Host: "h", Attr: "a", DS: "d", Kind: 5}, "invalid kind 5"},
		{SeriesDef{Host: "h", Attr: "a"}, "empty host, attribute or data source"},
		{SeriesDef{Attr: "a", DS: "d"}, "empty host, attribute or data source"},
		{SeriesDef{Host: "h", Attr: "a", DS: "d"}, ""},
	} {
		err := tc.def.Check()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.def, err, tc.want)
		}
		s := &Series{Defs: []SeriesDef{tc.def}}
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: Series.Validate: %v", tc.def, err)
		}
	}
}

// TestScreenKeepsTheUsableParts: Screen removes exactly what Validate
// refuses, says why, and refuses the batch whole only for its shape.
func TestScreenKeepsTheUsableParts(t *testing.T) {
	b := &Batch{Seq: 7,
		Statuses: []AttrStatus{{Host: "h", Attr: "a", Status: 9}, {Host: "h", Attr: "b"}},
		Hosts:    []Host{{}, {Name: "h", Attrs: []Attr{{}, {Key: "k", DS: []DSDef{{Name: "d", Kind: 7}}}, {Key: "ok"}}}},
		Traps:    []Trap{{Version: 9, OID: "1.3"}, {Version: 2, OID: "1.3.6.1.6.3.1.1.5.1"}},
	}
	removed, err := b.Screen()
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 5 || len(b.Statuses) != 1 || len(b.Hosts) != 1 || len(b.Hosts[0].Attrs) != 1 || len(b.Traps) != 1 {
		t.Fatalf("removed %q; left %+v", removed, b)
	}
	if err := b.Validate(); err != nil {
		t.Fatalf("screened batch does not validate: %v", err)
	}
	for _, bad := range []*Batch{{}, {Seq: 1, Groups: []Group{{Ints: []uint64{1}}}}} {
		if _, err := bad.Screen(); err == nil {
			t.Errorf("%+v screened", bad)
		}
	}
}

// TestDecodeBatchPeeksTheSeq: a batch too broken to decode still yields
// its seq when the body starts like a batch, so it can be refused by number.
func TestDecodeBatchPeeksTheSeq(t *testing.T) {
	c := newCodec(t)
	for _, tc := range []struct {
		name string
		body []byte
		seq  uint64
	}{
		{"map, small seq, garbage after", []byte{0xa2, 0x01, 0x05, 0xff}, 5},
		{"map, 4-byte seq", []byte{0xa3, 0x01, 0x1a, 0x00, 0x01, 0x00, 0x00, 0x02, 0x61}, 65536},
		{"map, 8-byte seq", []byte{0xa2, 0x01, 0x1b, 0, 0, 0, 1, 0, 0, 0, 0, 0x02}, 1 << 32},
		{"array (version 1)", []byte{0x85, 0x18, 0xc8, 0x7f}, 200},
		{"map, first key not 1", []byte{0xa2, 0x02, 0x05, 0xff}, 0},
		{"indefinite array", []byte{0x9f, 0x01, 0xff}, 0},
		{"truncated seq", []byte{0xa2, 0x01, 0x1a, 0x00}, 0},
		{"empty", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, seq, err := c.DecodeBatch(tc.body)
			if err == nil {
				t.Fatalf("decoded %+v", b)
			}
			if seq != tc.seq {
				t.Fatalf("seq %d, want %d", seq, tc.seq)
			}
		})
	}
}

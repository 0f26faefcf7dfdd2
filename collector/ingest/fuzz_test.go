package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/outpost-nms/outpost/shared/wire"
)

// FuzzIngestFrame drives the collector's decoder path with arbitrary
// bytes: frame reader (size cap) → limited CBOR decode → screening and
// cleaning → series dictionary → resolution of a batch into a journal
// record → host and clock screening → the record's own encode/decode.
// Nothing may panic; every sample is either resolved or counted as
// refused; every string of the record is valid UTF-8 without control
// characters (whatever bytes the frame held); and the record round-trips.
func FuzzIngestFrame(f *testing.F) {
	codec, err := wire.NewCodec()
	if err != nil {
		f.Fatal(err)
	}
	frame := func(m wire.Message) []byte {
		b, err := codec.AppendFrame(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	var session []byte
	session = append(session, frame(&wire.Hello{Agent: "edge", Proto: wire.ProtocolVersion, Epoch: 7, FirstSeq: 1, LastSeq: 2})...)
	session = append(session, frame(testSeries("r1"))...)
	session = append(session, frame(testBatch(1, 1_800_000_000, true, "r1", 60))...)
	f.Add(session)
	f.Add(frame(testBatch(2, 1_800_000_060, false, "r1", 60)))
	reset := testBatch(3, 1_800_000_120, false, "r1", 60)
	reset.Groups[0].Resets = []uint32{1, 3, 9}
	f.Add(append(frame(testSeries("r1")), frame(reset)...))
	// Hostile bytes in every string field: the frames must be kept, cleaned.
	for _, bad := range []string{"\xff\xfe", "B\xfcro", "\xe2\x82", "\x00\x1b[31m", "<script>", "../../etc/passwd"} {
		series := testSeries("r1")
		series.Defs[0].Attr = "if:" + bad
		series.Defs[1].DS = bad
		series.Defs = append(series.Defs, wire.SeriesDef{Host: bad, Attr: bad, DS: bad, Kind: 0})
		b := testBatch(4, 1_800_000_180, true, "r1", 60)
		b.Statuses[0].Reason = bad
		b.Hosts[0].SysDescr, b.Hosts[0].Location = bad, bad
		b.Hosts[0].Attrs[0].Name, b.Hosts[0].Attrs[0].Descr = bad, bad
		b.Hosts[0].Attrs[0].Props[bad] = bad
		b.Traps = []wire.Trap{{Time: 1, Host: "r1", Source: bad, Version: 2, OID: "1.3.6.1.6.3.1.1.5.3",
			VarBinds: []wire.VarBind{{OID: "1.3.6.1.2.1.2.2.1.2.1", Type: 4, Value: bad}}}}
		f.Add(append(frame(series), frame(b)...))
	}
	f.Add(binary.BigEndian.AppendUint32(nil, 100<<20))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 6), byte(wire.TypeBatch), 0x9f, 0x5a, 0xff, 0xff, 0xff))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 5), byte(wire.TypeBatch), 0xa2, 0x01, 0x05, 0xff)) // seq 5, then garbage
	f.Add(append(binary.BigEndian.AppendUint32(nil, 1), byte(wire.TypeSeries)))

	rc, err := newRecordCodec()
	if err != nil {
		f.Fatal(err)
	}
	now := time.UnixMilli(1_800_000_000_000)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		dict := NewDictionary(1024)
		for {
			typ, body, err := wire.ReadFrame(r, 1<<20, nil)
			if err != nil {
				return
			}
			switch typ {
			case wire.TypeSeries:
				var m wire.Series
				if codec.Unmarshal(body, &m) != nil {
					return
				}
				if err := dict.Define(&m); err != nil && !errors.Is(err, ErrDictionaryFull) {
					t.Fatal(err)
				}
			case wire.TypeBatch:
				b, seq, err := codec.DecodeBatch(body)
				if err == nil {
					_, err = b.Screen()
				}
				if err != nil {
					if b != nil && seq != b.Seq {
						t.Fatalf("seq %d of a decoded batch %d", seq, b.Seq)
					}
					continue // refused whole (seq > 0) or the session ends (seq 0)
				}
				samples := b.Samples()
				cleanBatch(b)
				rec, err := Resolve(b, dict, "edge", 7, now.UnixMilli())
				if err != nil {
					t.Fatalf("resolve of a screened batch: %v", err)
				}
				screenHosts(rec, func(h string) bool { return h == "r1" }, "edge")
				screenClock(rec, now, time.Hour)
				refused := 0
				for _, x := range rec.Refusals {
					if x.Unit == UnitSample {
						refused += int(x.Count)
					}
				}
				if rec.Samples()+refused < samples {
					t.Fatalf("%d values resolved and %d refused from %d samples", rec.Samples(), refused, samples)
				}
				checkStrings(t, reflect.ValueOf(rec))
				enc, err := rc.marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				back, err := rc.unmarshal(enc)
				if err != nil {
					t.Fatalf("journal record does not decode: %v", err)
				}
				if back.Samples() != rec.Samples() || back.Seq != rec.Seq || len(back.Refusals) != len(rec.Refusals) {
					t.Fatalf("record round trip changed it")
				}
			default:
				return
			}
		}
	})
}

// checkStrings fails when any string reachable from v is not valid UTF-8
// or holds a control character other than line feed and tab.
func checkStrings(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkStrings(t, v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				checkStrings(t, v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			checkStrings(t, v.Index(i))
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			checkStrings(t, it.Key())
			checkStrings(t, it.Value())
		}
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 kept: %q", s)
		}
		for _, r := range s {
			if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control character %U kept: %q", r, s)
			}
		}
	default: // numbers, bools and the like hold no text
	}
}

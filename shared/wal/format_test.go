package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// The two framings in use: the journal's (no meta) and the spool's (seq
// and sample count).
var (
	journalFormat = Format{Magic: 0x4f504a31, MaxData: 1 << 20}
	spoolFormat   = Format{Magic: 0x4f505331, Meta: 12, MaxData: 1 << 20}
)

func meta(f Format, seq uint64) []byte {
	if f.Meta == 0 {
		return nil
	}
	m := binary.BigEndian.AppendUint64(nil, seq)
	return binary.BigEndian.AppendUint32(m, uint32(seq*3))
}

func records(f Format, n int) ([]byte, []int) {
	var b []byte
	var offs []int
	for i := 1; i <= n; i++ {
		offs = append(offs, len(b))
		b = f.Append(b, meta(f, uint64(i)), []byte(fmt.Sprintf("record %d %s", i, bytes.Repeat([]byte{'x'}, i))))
	}
	return b, offs
}

func TestFormatRoundTrip(t *testing.T) {
	for _, f := range []Format{journalFormat, spoolFormat} {
		b := f.Append(nil, meta(f, 7), []byte("hello"))
		if len(b) != f.RecordLen(5) {
			t.Fatalf("magic %x: record of %d bytes, RecordLen says %d", f.Magic, len(b), f.RecordLen(5))
		}
		r, size, ok := f.Parse(append(b, "trailing"...))
		if !ok || size != len(b) || string(r.Data) != "hello" || !bytes.Equal(r.Meta, meta(f, 7)) {
			t.Fatalf("magic %x: parse %+v %d %v", f.Magic, r, size, ok)
		}
	}
}

// TestSpoolFramingIsTheOldOne: the spool's records, byte for byte, as the
// release before this package wrote them (agent/spool/testdata/v1 holds
// whole files).
func TestSpoolFramingIsTheOldOne(t *testing.T) {
	got := spoolFormat.Append(nil, meta(spoolFormat, 1), []byte("ab"))
	want := []byte{'O', 'P', 'S', '1', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3}
	if !bytes.Equal(got[:20], want) || string(got[24:]) != "ab" {
		t.Fatalf("record % x", got)
	}
}

func TestParseRejects(t *testing.T) {
	f := spoolFormat
	good := f.Append(nil, meta(f, 1), []byte("payload"))
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x40; return b }
	big := bytes.Clone(good)
	binary.BigEndian.PutUint32(big[4:], uint32(f.MaxData+1))
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:10]},
		{"magic", flip(0)},
		{"length", flip(7)},
		{"meta", flip(12)},
		{"crc", flip(21)},
		{"data", flip(len(good) - 1)},
		{"cut data", good[:len(good)-1]},
		{"length over MaxData", big},
	}
	for _, c := range cases {
		if _, _, ok := f.Parse(c.b); ok {
			t.Errorf("%s: parsed", c.name)
		}
	}
}

func TestScan(t *testing.T) {
	f := spoolFormat
	clean, offs := records(f, 6)
	damaged := bytes.Clone(clean)
	damaged[offs[2]+f.HeaderLen()] ^= 0xff // record 3's data
	damaged[offs[3]+f.HeaderLen()] ^= 0xff // and record 4's: one region
	torn := clean[:len(clean)-3]
	seqOf := func(r Rec) uint64 { return binary.BigEndian.Uint64(r.Meta) }
	cases := []struct {
		name     string
		b        []byte
		accept   func(int, Rec) bool
		records  int
		corrupt  int
		validEnd int
	}{
		{"clean", clean, nil, 6, 0, len(clean)},
		{"two damaged in a row are one region", damaged, nil, 4, 1, len(clean)},
		{"torn tail", torn, nil, 5, 1, offs[5]},
		{"garbage before", append([]byte("garbage"), clean...), nil, 6, 1, len(clean) + 7},
		{"refused records count as damage", clean, func(_ int, r Rec) bool { s := seqOf(r); return s != 2 && s != 3 }, 4, 1, len(clean)},
		{"refused last record is a tail", clean, func(_ int, r Rec) bool { return seqOf(r) != 6 }, 5, 1, offs[5]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.Scan(c.b, c.accept)
			if res.Records != c.records || res.Corrupt != c.corrupt || res.ValidTo != int64(c.validEnd) {
				t.Fatalf("got %+v, want %d records, %d corrupt, valid to %d", res, c.records, c.corrupt, c.validEnd)
			}
		})
	}
}

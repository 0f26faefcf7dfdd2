package wal

import (
	"bytes"
	"testing"
)

// FuzzScan: Scan of arbitrary segment bytes never panics, never reads past
// the buffer, reports only records that parse again at their offsets, in
// order and without overlap, and a ValidTo inside the buffer.
func FuzzScan(f *testing.F) {
	for _, format := range []Format{journalFormat, spoolFormat} {
		b, offs := records(format, 5)
		f.Add(b, format.Meta == 0)
		f.Add(b[:len(b)-2], format.Meta == 0)
		d := bytes.Clone(b)
		d[offs[1]+format.HeaderLen()] ^= 1
		f.Add(d, format.Meta == 0)
	}
	f.Add([]byte("OPJ1\xff\xff\xff\xff"), true)
	f.Add([]byte("OPS1\x00\x00\x00\x01"), false)
	f.Fuzz(func(t *testing.T, b []byte, journal bool) {
		format := spoolFormat
		if journal {
			format = journalFormat
		}
		last := -1
		res := format.Scan(b, func(off int, r Rec) bool {
			if off <= last {
				t.Fatalf("record at %d after one at %d", off, last)
			}
			rr, size, ok := format.Parse(b[off:])
			if !ok || !bytes.Equal(rr.Data, r.Data) || off+size > len(b) {
				t.Fatalf("record at %d does not parse again", off)
			}
			last = off
			return true
		})
		if res.ValidTo < 0 || res.ValidTo > int64(len(b)) {
			t.Fatalf("ValidTo %d of %d bytes", res.ValidTo, len(b))
		}
		if res.Records == 0 && res.ValidTo != 0 {
			t.Fatalf("no record, ValidTo %d", res.ValidTo)
		}
	})
}

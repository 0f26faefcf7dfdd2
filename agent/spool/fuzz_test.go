package spool

import (
	"bytes"
	"testing"
)

// FuzzSpoolRecords feeds arbitrary segment bytes to the record scanner: it
// must not panic, every indexed record must parse with its CRC at its
// offset, seqs must increase, and validTo must lie within the input.
func FuzzSpoolRecords(f *testing.F) {
	var seg []byte
	for seq := uint64(1); seq <= 4; seq++ {
		seg = appendRecord(seg, seq, uint32(seq), payloadFor(seq))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-5])
	bad := bytes.Clone(seg)
	bad[30] ^= 1
	f.Add(bad)
	f.Add([]byte{})
	f.Add([]byte("OPS1\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res := scanRecords(b)
		if res.validTo < 0 || res.validTo > int64(len(b)) {
			t.Fatalf("validTo %d of %d", res.validTo, len(b))
		}
		var last uint64
		for _, e := range res.index {
			r, size, ok := parseRecord(b[e.off:])
			if !ok || r.Seq != e.seq || uint32(size) != e.size || r.Samples != e.samples {
				t.Fatalf("index entry %+v does not parse", e)
			}
			if e.seq <= last {
				t.Fatalf("seq %d after %d", e.seq, last)
			}
			last = e.seq
		}
		if len(res.index) == 0 && len(b) > 0 && res.corrupt == 0 {
			t.Fatalf("non-empty input with no record and no corruption")
		}
	})
}

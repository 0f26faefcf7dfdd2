package spool

import (
	"encoding/binary"

	"github.com/outpost-nms/outpost/shared/wal"
)

// Record is one spooled batch.
type Record struct {
	Seq     uint64 // sequence number, unique within the epoch
	Samples uint32 // samples in the batch (for drop counting)
	Payload []byte // the batch frame body (CBOR of wire.Batch)
}

const recordMagic uint32 = 0x4f505331 // "OPS1"

const (
	recordHeaderLen = 24
	// MaxRecord is the largest payload a record may hold: the wire's hard
	// frame limit. A header announcing more is treated as corrupt.
	MaxRecord = 16 << 20
)

// format is the spool's record framing in shared/wal: the sequence number
// and the sample count are the record's meta.
var format = wal.Format{Magic: recordMagic, Meta: 12, MaxData: MaxRecord}

// appendRecord appends the encoded record to dst.
func appendRecord(dst []byte, seq uint64, samples uint32, payload []byte) []byte {
	var meta [12]byte
	binary.BigEndian.PutUint64(meta[:], seq)
	binary.BigEndian.PutUint32(meta[8:], samples)
	return format.Append(dst, meta[:], payload)
}

// parseRecord decodes the record at the start of b. ok is false when b does
// not start with a whole valid record (bad magic, length, CRC, or too short).
func parseRecord(b []byte) (r Record, size int, ok bool) {
	rec, size, ok := format.Parse(b)
	if !ok {
		return Record{}, 0, false
	}
	return Record{Seq: binary.BigEndian.Uint64(rec.Meta), Samples: binary.BigEndian.Uint32(rec.Meta[8:]), Payload: rec.Data}, size, true
}

// scanResult is what scanning a segment's bytes finds.
type scanResult struct {
	index   []indexEntry // valid records in order, seq strictly increasing
	corrupt int          // corrupt regions skipped (each counts as one record)
	validTo int64        // offset just past the last valid record
}

// indexEntry locates one record in its segment.
type indexEntry struct {
	seq     uint64
	off     uint32 // offset of the record header in the segment file
	size    uint32 // header + payload
	samples uint32
}

// scanRecords walks b, a segment's bytes, and indexes its valid records.
// A region that does not parse is skipped up to the next record that does
// and counted once; a record whose seq is not above the previous one (or is
// 0) is treated as corrupt too, so the index is strictly increasing. Bytes
// after the last valid record are the torn tail: counted as corrupt when
// non-empty, and reported through validTo so the caller can truncate them.
func scanRecords(b []byte) scanResult {
	var index []indexEntry
	res := format.Scan(b, scanAccept(&index))
	return scanResult{index: index, corrupt: res.Corrupt, validTo: res.ValidTo}
}

// scanAccept is the spool's rule for wal.Format.Scan: seqs are non-zero
// and strictly increasing; accepted records are indexed in *index.
func scanAccept(index *[]indexEntry) func(off int, r wal.Rec) bool {
	return func(off int, r wal.Rec) bool {
		seq := binary.BigEndian.Uint64(r.Meta)
		if n := len(*index); seq == 0 || (n > 0 && seq <= (*index)[n-1].seq) {
			return false
		}
		*index = append(*index, indexEntry{seq: seq, off: uint32(off), size: uint32(format.RecordLen(len(r.Data))),
			samples: binary.BigEndian.Uint32(r.Meta[8:])})
		return true
	}
}

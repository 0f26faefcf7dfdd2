package spool

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var magicBytes = binary.BigEndian.AppendUint32(nil, recordMagic)

// appendRecord appends the encoded record to dst.
func appendRecord(dst []byte, seq uint64, samples uint32, payload []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, recordMagic)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = binary.BigEndian.AppendUint32(dst, samples)
	crc := crc32.Update(0, castagnoli, dst[start+4:start+20])
	crc = crc32.Update(crc, castagnoli, payload)
	dst = binary.BigEndian.AppendUint32(dst, crc)
	return append(dst, payload...)
}

// parseRecord decodes the record at the start of b. ok is false when b does
// not start with a whole valid record (bad magic, length, CRC, or too short).
func parseRecord(b []byte) (r Record, size int, ok bool) {
	if len(b) < recordHeaderLen || binary.BigEndian.Uint32(b) != recordMagic {
		return Record{}, 0, false
	}
	n := binary.BigEndian.Uint32(b[4:])
	if n > MaxRecord || uint64(len(b)) < uint64(recordHeaderLen)+uint64(n) {
		return Record{}, 0, false
	}
	payload := b[recordHeaderLen : recordHeaderLen+int(n)]
	crc := crc32.Update(0, castagnoli, b[4:20])
	crc = crc32.Update(crc, castagnoli, payload)
	if crc != binary.BigEndian.Uint32(b[20:]) {
		return Record{}, 0, false
	}
	return Record{
		Seq:     binary.BigEndian.Uint64(b[8:]),
		Samples: binary.BigEndian.Uint32(b[16:]),
		Payload: payload,
	}, recordHeaderLen + int(n), true
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
// (found by its magic word) and counted once; a record whose seq is not
// above the previous one is treated as corrupt too, so the index is strictly
// increasing. Bytes after the last valid record are the torn tail: counted
// as corrupt when non-empty, and reported through validTo so the caller can
// truncate them.
func scanRecords(b []byte) scanResult {
	var res scanResult
	var last uint64
	pos := 0
	inBad := false
	for pos < len(b) {
		r, size, ok := parseRecord(b[pos:])
		if ok && (len(res.index) == 0 || r.Seq > last) && r.Seq != 0 {
			res.index = append(res.index, indexEntry{seq: r.Seq, off: uint32(pos), size: uint32(size), samples: r.Samples})
			last = r.Seq
			pos += size
			res.validTo = int64(pos)
			inBad = false
			continue
		}
		if !inBad {
			res.corrupt++
			inBad = true
		}
		next := bytes.Index(b[pos+1:], magicBytes)
		if next < 0 {
			break
		}
		pos += 1 + next
	}
	return res
}

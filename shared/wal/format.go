package wal

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Format is a record framing: a magic word, the data length, Meta bytes of
// the user's fixed header fields, a CRC32-C of length, meta and data, then
// the data.
type Format struct {
	Magic   uint32 // first four bytes of every record
	Meta    int    // bytes of fixed user fields between length and CRC
	MaxData int    // largest data length accepted; a header announcing more is damage
}

// HeaderLen is the size of a record's header (everything before the data).
func (f Format) HeaderLen() int { return 12 + f.Meta }

// RecordLen is the size of a record with n bytes of data.
func (f Format) RecordLen(n int) int { return f.HeaderLen() + n }

// Append appends a record to dst. meta must be f.Meta bytes long; data
// must not be longer than f.MaxData (callers check, to return their own
// error).
func (f Format) Append(dst, meta, data []byte) []byte {
	if len(meta) != f.Meta {
		panic("wal: meta length does not match the format")
	}
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, f.Magic)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	dst = append(dst, meta...)
	crc := crc32.Update(0, castagnoli, dst[start+4:])
	crc = crc32.Update(crc, castagnoli, data)
	dst = binary.BigEndian.AppendUint32(dst, crc)
	return append(dst, data...)
}

// Rec is a record parsed from a buffer; Meta and Data alias it.
type Rec struct {
	Meta []byte
	Data []byte
}

// Parse decodes the record at the start of b. ok is false when b does not
// start with a whole record that verifies (magic, length, CRC).
func (f Format) Parse(b []byte) (r Rec, size int, ok bool) {
	h := f.HeaderLen()
	if len(b) < h || binary.BigEndian.Uint32(b) != f.Magic {
		return Rec{}, 0, false
	}
	n := binary.BigEndian.Uint32(b[4:])
	if uint64(n) > uint64(f.MaxData) || uint64(len(b)) < uint64(h)+uint64(n) {
		return Rec{}, 0, false
	}
	data := b[h : h+int(n)]
	crc := crc32.Update(0, castagnoli, b[4:8+f.Meta])
	crc = crc32.Update(crc, castagnoli, data)
	if crc != binary.BigEndian.Uint32(b[8+f.Meta:]) {
		return Rec{}, 0, false
	}
	return Rec{Meta: b[8 : 8+f.Meta], Data: data}, h + int(n), true
}

// DataLen reads the data length from a record header (at least 8 bytes
// of b) without verifying anything; ok is false for a wrong magic or a
// length over MaxData.
func (f Format) DataLen(b []byte) (n int, ok bool) {
	if len(b) < 8 || binary.BigEndian.Uint32(b) != f.Magic {
		return 0, false
	}
	l := binary.BigEndian.Uint32(b[4:])
	if uint64(l) > uint64(f.MaxData) {
		return 0, false
	}
	return int(l), true
}

// Resync returns the offset of the next record at or after off that
// verifies, or len(b) when there is none.
func (f Format) Resync(b []byte, off int) int {
	var m [4]byte
	binary.BigEndian.PutUint32(m[:], f.Magic)
	for off < len(b) {
		i := bytes.Index(b[off:], m[:])
		if i < 0 {
			return len(b)
		}
		if _, _, ok := f.Parse(b[off+i:]); ok {
			return off + i
		}
		off += i + 1
	}
	return len(b)
}

// ScanResult is what Scan found in a segment's bytes.
type ScanResult struct {
	Records int   // records accepted
	Corrupt int   // damaged regions skipped, each counted once (a torn tail included)
	ValidTo int64 // offset just past the last accepted record: the rest is a torn tail
}

// Scan walks b, a segment's bytes, and calls accept for every record that
// verifies, in order, with its offset. A record accept refuses (it breaks a
// rule of the user's, such as increasing sequence numbers) is treated as
// damage. A damaged region is skipped up to the next record that verifies
// and counted once (refused records in a row are one region); non-empty
// bytes after the last accepted record count as one damaged region too,
// and ValidTo says where they start.
func (f Format) Scan(b []byte, accept func(off int, r Rec) bool) ScanResult {
	var res ScanResult
	off := 0
	bad := false // inside a damaged region
	for off < len(b) {
		r, size, ok := f.Parse(b[off:])
		if ok && (accept == nil || accept(off, r)) {
			res.Records++
			off += size
			res.ValidTo = int64(off)
			bad = false
			continue
		}
		if !bad {
			res.Corrupt++
			bad = true
		}
		off = f.Resync(b, off+1)
	}
	return res
}

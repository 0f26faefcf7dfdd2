package snmpsim

// BER tags of SNMP (RFC 3416, RFC 2578).
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagIPAddress   = 0x40
	tagCounter32   = 0x41
	tagGauge32     = 0x42
	tagTimeTicks   = 0x43
	tagCounter64   = 0x46
	tagNoSuchObj   = 0x80
	tagNoSuchInst  = 0x81
	tagEndOfMib    = 0x82
	tagGetRequest  = 0xa0
	tagGetNext     = 0xa1
	tagResponse    = 0xa2
	tagSetRequest  = 0xa3
	tagGetBulk     = 0xa5
	tagReport      = 0xa8
)

// SNMP error-status values.
const (
	errNoError    = 0
	errTooBig     = 1
	errNoSuchName = 2
	errGenErr     = 5
	errNoAccess   = 6
)

// value is one varbind value: tag plus the field its tag uses.
type value struct {
	tag byte
	i   int64  // Integer
	u   uint64 // Counter32, Gauge32, TimeTicks, Counter64
	b   []byte // OctetString, IPAddress
	o   oid    // OID
}

func appendTLVHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x100:
		return append(dst, 0x81, byte(n))
	case n < 0x10000:
		return append(dst, 0x82, byte(n>>8), byte(n))
	default:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

func headerLen(n int) int {
	switch {
	case n < 0x80:
		return 2
	case n < 0x100:
		return 3
	case n < 0x10000:
		return 4
	}
	return 5
}

func appendTLV(dst []byte, tag byte, content []byte) []byte {
	return append(appendTLVHeader(dst, tag, len(content)), content...)
}

// appendInt appends a two's complement INTEGER.
func appendInt(dst []byte, tag byte, v int64) []byte {
	n := 1
	for x := v; x > 127 || x < -128; x >>= 8 {
		n++
	}
	dst = append(dst, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*uint(i))))
	}
	return dst
}

// appendUint appends an unsigned application type (Counter32, Gauge32,
// TimeTicks, Counter64): minimal length with a leading zero byte when the
// top bit is set.
func appendUint(dst []byte, tag byte, v uint64) []byte {
	n := 1
	for x := v; x > 0xff; x >>= 8 {
		n++
	}
	lead := v>>(8*uint(n-1))&0x80 != 0
	l := n
	if lead {
		l++
	}
	dst = append(dst, tag, byte(l))
	if lead {
		dst = append(dst, 0)
	}
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*uint(i))))
	}
	return dst
}

func appendValue(dst []byte, v value) []byte {
	switch v.tag {
	case tagInteger:
		return appendInt(dst, tagInteger, v.i)
	case tagOctetString, tagIPAddress:
		return appendTLV(dst, v.tag, v.b)
	case tagOID:
		content := appendOIDContent(nil, v.o)
		return appendTLV(dst, tagOID, content)
	case tagCounter32, tagGauge32, tagTimeTicks, tagCounter64:
		return appendUint(dst, v.tag, v.u)
	default: // Null and the v2 exceptions
		return append(dst, v.tag, 0)
	}
}

// appendVarbind appends SEQUENCE { name, value } where name is an encoded
// OID TLV.
func appendVarbind(dst []byte, name []byte, v value) []byte {
	var tmp [64]byte
	val := appendValue(tmp[:0], v)
	dst = appendTLVHeader(dst, tagSequence, len(name)+len(val))
	return append(append(dst, name...), val...)
}

// encodeOID returns the OID TLV for a request OID not in the table.
func encodeOID(o oid) []byte {
	content := appendOIDContent(nil, o)
	return appendTLV(make([]byte, 0, len(content)+3), tagOID, content)
}

// appendPDU wraps an encoded varbind list into a PDU.
func appendPDU(dst []byte, tag byte, reqID int32, errStatus, errIndex int, vbs []byte) []byte {
	var hdr [24]byte
	h := appendInt(hdr[:0], tagInteger, int64(reqID))
	h = appendInt(h, tagInteger, int64(errStatus))
	h = appendInt(h, tagInteger, int64(errIndex))
	vlHdr := headerLen(len(vbs))
	dst = appendTLVHeader(dst, tag, len(h)+vlHdr+len(vbs))
	dst = append(dst, h...)
	dst = appendTLVHeader(dst, tagSequence, len(vbs))
	return append(dst, vbs...)
}

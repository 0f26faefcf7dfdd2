package trap

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// fastTrap decodes the common case, an SNMPv1 Trap-PDU or an SNMPv2c
// SNMPv2-Trap-PDU whose varbinds have the usual value types, into the
// same gosnmp.SnmpPacket fields gosnmp's UnmarshalTrap fills, without
// gosnmp's per-field logging and allocations (it is ~5x faster: see
// BenchmarkDecode). Anything else, or anything it is not sure of (an
// inform, v3, long-form first OID arcs, an Opaque value, a length it does
// not expect), returns errSlowPath and gosnmp decodes the datagram.
// FuzzFastPathMatchesGosnmp checks that whatever this accepts, gosnmp
// decodes to the same trap.
func fastTrap(b []byte) (*gosnmp.SnmpPacket, error) {
	r := berReader{b: b}
	msg, ok := r.tlv(0x30)
	if !ok || r.i != len(b) {
		return nil, errSlowPath
	}
	m := berReader{b: msg}
	ver, ok := m.int64(0x02)
	if !ok || (ver != int64(gosnmp.Version1) && ver != int64(gosnmp.Version2c)) {
		return nil, errSlowPath
	}
	comm, ok := m.tlv(0x04)
	if !ok || m.i >= len(m.b) {
		return nil, errSlowPath
	}
	p := &gosnmp.SnmpPacket{Version: gosnmp.SnmpVersion(ver), Community: string(comm)}
	tag := m.b[m.i]
	body, ok := m.tlv(tag)
	if !ok || m.i != len(m.b) {
		return nil, errSlowPath
	}
	pdu := berReader{b: body}
	switch {
	case tag == 0xa4 && ver == int64(gosnmp.Version1):
		p.PDUType = gosnmp.Trap
		ent, ok := pdu.tlv(0x06)
		if !ok {
			return nil, errSlowPath
		}
		if p.Enterprise, ok = oidString(ent); !ok {
			return nil, errSlowPath
		}
		addr, ok := pdu.tlv(0x40)
		if !ok || len(addr) != 4 {
			return nil, errSlowPath
		}
		p.AgentAddress = ipString(addr)
		g, ok1 := pdu.int64(0x02)
		s, ok2 := pdu.int64(0x02)
		ts, ok3 := pdu.uint64(0x43, 5)
		if !ok1 || !ok2 || !ok3 {
			return nil, errSlowPath
		}
		p.GenericTrap, p.SpecificTrap, p.Timestamp = int(g), int(s), uint(ts)
	case tag == 0xa7 && ver == int64(gosnmp.Version2c):
		p.PDUType = gosnmp.SNMPv2Trap
		id, ok1 := pdu.int64(0x02)
		es, ok2 := pdu.int64(0x02)
		ei, ok3 := pdu.int64(0x02)
		if !ok1 || !ok2 || !ok3 || id < 0 || es < 0 || es > 255 || ei < 0 || ei > 255 {
			return nil, errSlowPath
		}
		p.RequestID, p.Error, p.ErrorIndex = uint32(id), gosnmp.SNMPError(es), uint8(ei)
	default:
		return nil, errSlowPath
	}
	vbl, ok := pdu.tlv(0x30)
	if !ok || pdu.i != len(pdu.b) {
		return nil, errSlowPath
	}
	list := berReader{b: vbl}
	n := 0
	for l := (berReader{b: vbl}); l.i < len(l.b); n++ {
		if _, ok := l.tlv(0x30); !ok {
			return nil, errSlowPath
		}
	}
	p.Variables = make([]gosnmp.SnmpPDU, 0, n)
	for list.i < len(list.b) {
		vb, _ := list.tlv(0x30)
		v := berReader{b: vb}
		name, ok := v.tlv(0x06)
		if !ok || v.i >= len(v.b) {
			return nil, errSlowPath
		}
		oid, ok := oidString(name)
		if !ok {
			return nil, errSlowPath
		}
		pv := gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Asn1BER(v.b[v.i])}
		val, ok := v.tlv(v.b[v.i])
		if !ok || v.i != len(v.b) {
			return nil, errSlowPath
		}
		if pv.Value, ok = value(pv.Type, val); !ok {
			return nil, errSlowPath
		}
		p.Variables = append(p.Variables, pv)
	}
	return p, nil
}

var errSlowPath = errors.New("not for the fast path")

// value converts a varbind value as gosnmp's decodeValue does.
func value(t gosnmp.Asn1BER, b []byte) (any, bool) {
	switch t {
	case gosnmp.Integer:
		if len(b) == 0 || len(b) > 4 {
			return nil, false
		}
		v := int64(int8(b[0]))
		for _, c := range b[1:] {
			v = v<<8 | int64(c)
		}
		return int(v), true
	case gosnmp.OctetString:
		return append([]byte(nil), b...), true
	case gosnmp.ObjectIdentifier:
		return oidString(b)
	case gosnmp.IPAddress:
		if len(b) != 4 {
			return nil, false
		}
		return ipString(b), true
	case gosnmp.Counter32, gosnmp.Gauge32:
		v, ok := unsigned(b, 5, 32)
		return uint(v), ok
	case gosnmp.TimeTicks, gosnmp.Uinteger32:
		v, ok := unsigned(b, 5, 32)
		return uint32(v), ok
	case gosnmp.Counter64:
		v, ok := unsigned(b, 9, 64)
		return v, ok
	case gosnmp.Null, gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView:
		return nil, len(b) == 0
	default: // types the fast path leaves to gosnmp's decoder, below
	}
	return nil, false
}

// unsigned reads a non-negative BER integer of at most max bytes that
// fits in bits.
func unsigned(b []byte, max, bits int) (uint64, bool) {
	if len(b) == 0 || len(b) > max || b[0]&0x80 != 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	if bits < 64 && v>>bits != 0 {
		return 0, false
	}
	return v, true
}

func ipString(b []byte) string {
	return strconv.Itoa(int(b[0])) + "." + strconv.Itoa(int(b[1])) + "." + strconv.Itoa(int(b[2])) + "." + strconv.Itoa(int(b[3]))
}

// oidString renders an OID as gosnmp does (".1.3.6..."), for first bytes
// below 80 (the arcs 0.x and 1.x, and 2.0 to 2.39) and sub-identifiers of
// 32 bits in minimal encoding.
func oidString(b []byte) (string, bool) {
	if len(b) == 0 || b[0] >= 80 {
		return "", false
	}
	var sb strings.Builder
	sb.Grow(4 * len(b))
	sb.WriteByte('.')
	sb.WriteString(strconv.Itoa(int(b[0]) / 40))
	sb.WriteByte('.')
	sb.WriteString(strconv.Itoa(int(b[0]) % 40))
	var v uint64
	start := true
	for _, c := range b[1:] {
		if start && c == 0x80 {
			return "", false // non-minimal
		}
		start = false
		v = v<<7 | uint64(c&0x7f)
		if v > 0xffffffff {
			return "", false
		}
		if c&0x80 == 0 {
			sb.WriteByte('.')
			sb.WriteString(strconv.FormatUint(v, 10))
			v, start = 0, true
		}
	}
	if !start {
		return "", false // truncated sub-identifier
	}
	return sb.String(), true
}

// berReader walks definite-length BER.
type berReader struct {
	b []byte
	i int
}

// tlv reads one element with the given tag and returns its contents.
func (r *berReader) tlv(tag byte) ([]byte, bool) {
	if r.i+2 > len(r.b) || r.b[r.i] != tag {
		return nil, false
	}
	n := int(r.b[r.i+1])
	j := r.i + 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || j+k > len(r.b) {
			return nil, false
		}
		n = 0
		for _, c := range r.b[j : j+k] {
			n = n<<8 | int(c)
		}
		j += k
	}
	if n > len(r.b)-j {
		return nil, false
	}
	r.i = j + n
	return r.b[j : j+n], true
}

// int64 reads a signed integer of 1 to 4 bytes.
func (r *berReader) int64(tag byte) (int64, bool) {
	b, ok := r.tlv(tag)
	if !ok || len(b) == 0 || len(b) > 4 {
		return 0, false
	}
	v := int64(int8(b[0]))
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v, true
}

func (r *berReader) uint64(tag byte, max int) (uint64, bool) {
	b, ok := r.tlv(tag)
	if !ok {
		return 0, false
	}
	return unsigned(b, max, 32)
}

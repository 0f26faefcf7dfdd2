package snmpsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// oid is a numeric object identifier.
type oid []uint32

// parseOID parses a dotted numeric OID with or without a leading dot.
func parseOID(s string) (oid, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, errors.New("empty OID")
	}
	parts := strings.Split(s, ".")
	out := make(oid, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %d: %w", s, i, err)
		}
		out[i] = uint32(v)
	}
	return out, nil
}

func mustOID(s string) oid {
	o, err := parseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String formats the OID with a leading dot, as gosnmp does.
func (o oid) String() string {
	var b strings.Builder
	for _, a := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

// compareOID orders OIDs lexicographically by arc, a prefix first.
func compareOID(a, b oid) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// hasPrefix reports whether p is a prefix of o (or equal).
func (o oid) hasPrefix(p oid) bool {
	if len(p) > len(o) {
		return false
	}
	for i := range p {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}

func (o oid) with(arcs ...uint32) oid {
	out := make(oid, 0, len(o)+len(arcs))
	return append(append(out, o...), arcs...)
}

// appendOIDContent appends the BER content octets of o (no tag, no length).
// An OID with fewer than two arcs is encoded as 0.0 would be, which only
// happens for malformed requests echoed back.
func appendOIDContent(dst []byte, o oid) []byte {
	if len(o) < 2 {
		var first uint32
		if len(o) == 1 {
			first = o[0] * 40
		}
		return appendBase128(dst, first)
	}
	dst = appendBase128(dst, o[0]*40+o[1])
	for _, a := range o[2:] {
		dst = appendBase128(dst, a)
	}
	return dst
}

func appendBase128(dst []byte, v uint32) []byte {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	v >>= 7
	for v > 0 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
		v >>= 7
	}
	return append(dst, tmp[i:]...)
}

package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ArchivePath returns an attribute's archive path relative to the data
// directory, with slashes: rrd/<host>/<attr>.rrd, each name escaped for
// the file system by EscapeName.
func ArchivePath(host, attr string) string {
	return "rrd/" + EscapeName(host) + "/" + EscapeName(attr) + ".rrd"
}

// EscapeName makes a host name or attribute key safe as one file name on
// every common file system: letters, digits, '_' and '-' stay, '.' stays
// except in front, every other byte becomes %XX (upper-case hex), so
// distinct names stay distinct ("if:ge-0/0/1" → "if%3Age-0%2F0%2F1"). A
// name whose escape exceeds 200 bytes is cut and suffixed with a hash of
// the whole name.
func EscapeName(name string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	if b.Len() == 0 {
		return "%"
	}
	s := b.String()
	if len(s) > 200 {
		sum := sha256.Sum256([]byte(name))
		s = s[:180] + "~" + hex.EncodeToString(sum[:8])
	}
	return s
}

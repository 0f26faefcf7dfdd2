// Package safetext makes text from untrusted peers safe to keep, send and
// show.
//
// Every string an SNMP device, an NTP or chrony server, or a trap sender
// hands to Outpost is arbitrary bytes: invalid UTF-8 (Latin-1 "B\xfcro",
// firmware padding, truncated sequences), NUL, terminal escape sequences,
// bidirectional-override characters, 64 KB of anything. The agent passes
// each such string through Line or Text before it is spooled, so that what
// travels and what the collector stores is always:
//
//   - valid UTF-8 (the wire codec refuses anything else);
//   - free of control characters: C0 (NUL..US), DEL, C1 (U+0080..U+009F),
//     the bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E,
//     U+2066..U+2069), the line and paragraph separators (U+2028, U+2029)
//     and the byte-order mark U+FEFF; Text keeps line feeds (and tabs);
//   - at most a given number of bytes, with a visible cut ("…").
//
// Offending input is not dropped but shown: a byte that is not part of a
// valid UTF-8 sequence becomes `\xHH`, a control character below U+0080
// `\xHH`, any other escaped character `\uHHHH` (lower-case hex). So the
// escape names the exact byte or character the peer sent, and Unescape
// turns it back.
//
// # Stability
//
// Cleaning is the identity on text that is already clean (valid, no
// escaped characters, within the length), and cleaning twice gives the
// same result as cleaning once. Keys derived from device strings (an
// interface's ifName, say) are therefore stable: across agent restarts and
// upgrades, and when the collector checks again what the agent cleaned.
// The price is that a backslash is never escaped: a device that sends the
// four characters `\xff` and one that sends the byte 0xff look the same.
// Unescape documents the ambiguity; nothing in Outpost depends on it.
package safetext

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Length bounds for the two common uses, in bytes of cleaned UTF-8.
const (
	// MaxName bounds names, keys and one-line descriptions (sysName,
	// ifName, ifDescr, ifAlias, sysLocation, refid, a varbind value).
	MaxName = 256
	// MaxText bounds free text such as sysDescr.
	MaxText = 2048
)

// Ellipsis marks where a string was cut.
const Ellipsis = "…"

// Line returns s cleaned to one line of at most max bytes (see the package
// doc). max below len(Ellipsis)+1 is raised to it.
func Line(s string, max int) string { return clean(s, max, false) }

// Text is Line for multi-line free text: line feeds and tabs are kept, a
// carriage return before a line feed is dropped (CR LF becomes LF), and a
// lone carriage return is escaped.
func Text(s string, max int) string { return clean(s, max, true) }

// LineBytes is Line for a byte slice (an SNMP OCTET STRING).
func LineBytes(b []byte, max int) string { return Line(string(b), max) }

// TextBytes is Text for a byte slice.
func TextBytes(b []byte, max int) string { return Text(string(b), max) }

// IsLine reports whether s is already clean as Line(s, max) would leave it:
// then Line(s, max) == s.
func IsLine(s string, max int) bool { return isClean(s, max, false) }

// IsText reports whether Text(s, max) == s.
func IsText(s string, max int) bool { return isClean(s, max, true) }

func isClean(s string, max int, multiline bool) bool {
	if len(s) > normMax(max) {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if escaped(r, multiline) {
			return false
		}
		if multiline && r == '\r' {
			return false
		}
		i += size
	}
	return true
}

func normMax(max int) int {
	if max < len(Ellipsis)+1 {
		return len(Ellipsis) + 1
	}
	return max
}

// escaped reports whether rune r (valid) is written as an escape.
func escaped(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !multiline
	case r < 0x20, r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029, r == 0xfeff:
		return true
	}
	return false
}

// unit is one piece of the output: a run of input bytes and how it is written.
type unit struct {
	size int  // input bytes consumed
	esc  int  // 0: copy the input bytes; 4: write \xHH of the byte; 6: write \uHHHH of the rune
	drop bool // write nothing (the CR of CR LF in Text)
	r    rune // the rune (esc 6) or byte (esc 4) escaped
}

// next returns the unit at s[i:].
func next(s string, i int, multiline bool) unit {
	c := s[i]
	if c >= 0x20 && c < 0x7f {
		return unit{size: 1}
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return unit{size: 1, esc: 4, r: rune(c)}
	case multiline && r == '\r' && i+1 < len(s) && s[i+1] == '\n':
		return unit{size: 1, drop: true}
	case escaped(r, multiline):
		if r < 0x80 {
			return unit{size: size, esc: 4, r: r}
		}
		return unit{size: size, esc: 6, r: r}
	}
	return unit{size: size}
}

func (u unit) outLen() int {
	switch {
	case u.drop:
		return 0
	case u.esc != 0:
		return u.esc
	}
	return u.size
}

func clean(s string, max int, multiline bool) string {
	max = normMax(max)
	if isClean(s, max, multiline) {
		return s
	}
	// First pass: the cleaned length, to know whether a cut is needed.
	total := 0
	for i := 0; i < len(s) && total <= max; {
		u := next(s, i, multiline)
		total += u.outLen()
		i += u.size
	}
	limit := max
	cut := total > max
	if cut {
		limit = max - len(Ellipsis)
	}
	var b strings.Builder
	b.Grow(min(total, max))
	for i := 0; i < len(s); {
		u := next(s, i, multiline)
		if b.Len()+u.outLen() > limit {
			break
		}
		switch {
		case u.drop:
		case u.esc == 4:
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[u.r>>4&15])
			b.WriteByte(hexDigits[u.r&15])
		case u.esc == 6:
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hexDigits[u.r>>shift&15])
			}
		default:
			b.WriteString(s[i : i+u.size])
		}
		i += u.size
	}
	if cut {
		b.WriteString(Ellipsis)
	}
	return b.String()
}

const hexDigits = "0123456789abcdef"

// Unescape turns the escapes Line and Text write back into the bytes and
// characters they stand for: `\xHH` into the byte 0xHH and `\uHHHH` into
// the UTF-8 encoding of U+HHHH. Anything else, including a backslash that
// does not start a well-formed escape, is copied. A cut string stays cut,
// and a carriage return Text dropped before a line feed stays dropped. The
// result is exact only for text that never contained a backslash followed
// by x or u: Outpost never escapes a backslash (see Stability in the
// package doc).
func Unescape(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'x':
				if i+4 <= len(s) {
					if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
						out = append(out, byte(v))
						i += 4
						continue
					}
				}
			case 'u':
				if i+6 <= len(s) {
					if v, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
						out = utf8.AppendRune(out, rune(v))
						i += 6
						continue
					}
				}
			}
		}
		out = append(out, s[i])
		i++
	}
	return out
}

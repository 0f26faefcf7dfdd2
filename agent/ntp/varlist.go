package ntp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Var is one name=value item of a variable list. Value is the text after
// the first '=', trimmed, with surrounding double quotes removed.
type Var struct {
	Name  string
	Value string
}

// VarList is a parsed variable list, in the order the server sent it.
type VarList []Var

// ParseVarList splits a READVAR reply into its items the way ntpq does,
// with one difference for robustness: items are separated by commas
// outside quoted strings; NULs and bytes above 126 are dropped; each item
// is split at its first '='; names and values are trimmed of white space
// (which removes the line breaks between items); a value wholly in double
// quotes loses them.
//
// The difference: a double quote opens a quoted string only where a value
// starts (right after the item's first '=', spaces allowed), as ntpd
// writes strings. ntpq toggles on every quote, and ntpsec 1.2.2 sends
// uninitialised bytes in filtdelay/filtoffset/filtdisp that sometimes
// include one: ntpq then swallows the rest of the reply (srchost with it,
// printing 127.127.1.0 and type 'u' for LOCAL(0)); this parser does not.
// On well-formed text both agree exactly.
//
// It never fails: a mode 6 server's text is best-effort, and callers check
// the variables they need. Items with an empty name are skipped.
func ParseVarList(b []byte) VarList {
	var out VarList
	var cur strings.Builder
	inString := false
	seenEq := false     // the current item has had its '='
	valueStart := false // only spaces since that '=': a quote here opens a string
	flush := func() {
		item := strings.TrimSpace(cur.String())
		cur.Reset()
		seenEq, valueStart = false, false
		if item == "" {
			return
		}
		name, value, _ := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if name == "" {
			return
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		out = append(out, Var{Name: name, Value: value})
	}
	for _, c := range b {
		switch {
		case inString:
			if c == '"' {
				inString = false
			}
			if c > 0 && c < 127 {
				cur.WriteByte(c)
			}
		case c == ',':
			flush()
		case c == 0 || c > 126:
			valueStart = false // dropped; a value starting with binary is no string
		default:
			switch {
			case c == '"' && valueStart:
				inString = true
			case c == '=' && !seenEq:
				seenEq, valueStart = true, true
				cur.WriteByte(c)
				continue
			case c == ' ' || c == '\t':
				cur.WriteByte(c)
				continue
			}
			valueStart = false
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// Get returns the value of the last item called name (ntpq keeps the last
// of duplicated names).
func (l VarList) Get(name string) (string, bool) {
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].Name == name {
			return l[i].Value, true
		}
	}
	return "", false
}

// Int parses an integer value: decimal, or hexadecimal with 0x (reach),
// as ntpq's int(value, 0) does.
func (l VarList) Int(name string) (int64, error) {
	v, ok := l.Get(name)
	if !ok {
		return 0, fmt.Errorf("variable %s missing", name)
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("variable %s=%q: not an integer", name, v)
	}
	return n, nil
}

// Float parses a decimal value (delay, offset, jitter: milliseconds).
func (l VarList) Float(name string) (float64, error) {
	v, ok := l.Get(name)
	if !ok {
		return 0, fmt.Errorf("variable %s missing", name)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("variable %s=%q: not a number", name, v)
	}
	return f, nil
}

// Timestamp parses a hex NTP timestamp value ("0xeeb23291.7c3517a2").
func (l VarList) Timestamp(name string) (Timestamp, error) {
	v, ok := l.Get(name)
	if !ok {
		return 0, fmt.Errorf("variable %s missing", name)
	}
	ts, err := ParseTimestamp(v)
	if err != nil {
		return 0, fmt.Errorf("variable %s: %w", name, err)
	}
	return ts, nil
}

// String renders the list as name=value items separated by ", ", quoting
// values that contain a comma, space or quote.
func (l VarList) String() string {
	var b strings.Builder
	for i, v := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.Name)
		b.WriteByte('=')
		if strings.ContainsAny(v.Value, ", \"") {
			b.WriteString(`"` + v.Value + `"`)
		} else {
			b.WriteString(v.Value)
		}
	}
	return b.String()
}

// Timestamp is a 64-bit NTP timestamp: seconds since the start of an NTP
// era (1900-01-01 for era 0) in the high 32 bits, a binary fraction in the
// low 32. The zero value means "never" to ntpd.
type Timestamp uint64

// ParseTimestamp reads ntpd's hex form "0xSSSSSSSS.FFFFFFFF".
func ParseTimestamp(s string) (Timestamp, error) {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok {
		return 0, fmt.Errorf("timestamp %q: want 0xSSSSSSSS.FFFFFFFF", s)
	}
	sec, frac, ok := strings.Cut(h, ".")
	if !ok || len(sec) == 0 || len(sec) > 8 || len(frac) == 0 || len(frac) > 8 {
		return 0, fmt.Errorf("timestamp %q: want 0xSSSSSSSS.FFFFFFFF", s)
	}
	hi, err1 := strconv.ParseUint(sec, 16, 32)
	lo, err2 := strconv.ParseUint(frac, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("timestamp %q: not hexadecimal", s)
	}
	return Timestamp(hi<<32 | lo), nil
}

// ntpUnixDelta is the seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
const ntpUnixDelta = 2208988800

// TimestampOf converts t to an NTP timestamp (era folded away).
func TimestampOf(t time.Time) Timestamp {
	sec := t.Unix() + ntpUnixDelta
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return Timestamp(uint64(uint32(sec))<<32 | frac)
}

// Time unfolds the timestamp into the NTP era that puts it nearest to
// pivot (within 68 years), as ntpd's lfp_stamp_to_tspec does.
func (ts Timestamp) Time(pivot time.Time) time.Time {
	pivotSec := pivot.Unix() + ntpUnixDelta
	sec := int64(ts >> 32)
	// Bring sec into the era of pivot, then pick the nearer neighbour.
	era := pivotSec >> 32
	sec += era << 32
	if d := sec - pivotSec; d > 1<<31 {
		sec -= 1 << 32
	} else if d < -(1 << 31) {
		sec += 1 << 32
	}
	nsec := (uint64(ts&0xffffffff) * 1e9) >> 32
	return time.Unix(sec-ntpUnixDelta, int64(nsec))
}

// String is ntpd's hex form.
func (ts Timestamp) String() string {
	return fmt.Sprintf("0x%08x.%08x", uint32(ts>>32), uint32(ts))
}

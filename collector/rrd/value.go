package rrd

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

type valueKind uint8

const (
	kindUnknown valueKind = iota
	kindUint
	kindInt
	kindFloat
	kindText // an integer too long for 64 bits, kept as its decimal text
	kindBad  // text that is not a number; refused when an update uses it
)

// Value is one reading for one data source: unknown, an unsigned integer
// (counters, carried exactly), a signed integer (DERIVE) or a float (gauges).
// The zero Value is unknown.
type Value struct {
	kind valueKind
	u    uint64 // the value; an int64 or the bits of a float64 by kind
	text string // the input text when parsed; what rrdtool keeps as last_ds
}

func (v Value) i() int64   { return int64(v.u) }
func (v Value) f() float64 { return math.Float64frombits(v.u) }

// Unknown returns the unknown value ("U").
func Unknown() Value { return Value{} }

// Uint returns an unsigned integer reading (COUNTER, DERIVE, and any other
// type, where it is converted to the nearest float64; above 2^53 that can
// differ in the last bit from rrdtool's own strtod of the same digits, which
// ParseValue reproduces). Counters are diffed exactly.
func Uint(v uint64) Value { return Value{kind: kindUint, u: v} }

// Int returns a signed integer reading (DERIVE; GAUGE and others convert it).
func Int(v int64) Value {
	if v >= 0 {
		return Value{kind: kindUint, u: uint64(v)}
	}
	return Value{kind: kindInt, u: uint64(v)}
}

// Float returns a floating-point reading (GAUGE, ABSOLUTE, DCOUNTER,
// DDERIVE). NaN is unknown. COUNTER and DERIVE refuse floats, as rrdtool
// does.
func Float(v float64) Value {
	if math.IsNaN(v) {
		return Value{}
	}
	return Value{kind: kindFloat, u: math.Float64bits(v)}
}

// ParseValue parses one reading as rrdtool's update does: "U" (or anything
// starting with U) is unknown, digits are an unsigned integer, '-' and
// digits a signed one, anything else a float. The text is kept and stored as
// the data source's last value, as rrdtool does.
func ParseValue(s string) (Value, error) {
	if s == "" {
		return Value{}, fmt.Errorf("empty reading")
	}
	if s[0] == 'U' {
		return Value{}, nil
	}
	if isDigits(s) {
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return Value{kind: kindUint, u: u, text: s}, nil
		}
		return Value{kind: kindText, text: s}, nil
	}
	if s[0] == '-' && isDigits(s[1:]) {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return Value{kind: kindInt, u: uint64(i), text: s}, nil
		}
		return Value{kind: kindText, text: s}, nil
	}
	f, ok := strtodFull(s)
	if !ok {
		return Value{}, fmt.Errorf("cannot convert '%s' to float", s)
	}
	return Value{kind: kindFloat, u: math.Float64bits(f), text: s}, nil
}

// strtodFull converts the whole of s the way rrd_strtodbl does (rrdtool's
// own strtod, which is not correctly rounded, then "nan", "-nan", "inf",
// "-inf"); ok is false when s is not entirely a number.
func strtodFull(s string) (float64, bool) {
	f, n := rrdStrtod(s)
	if n == 0 {
		switch {
		case len(s) >= 4 && strings.EqualFold(s[:4], "-nan"):
			return unknownValue, true
		case len(s) >= 3 && strings.EqualFold(s[:3], "nan"):
			return math.Float64frombits(unknownBits &^ (1 << 63)), true
		case len(s) >= 3 && strings.EqualFold(s[:3], "inf"):
			return math.Inf(1), true
		case len(s) >= 4 && strings.EqualFold(s[:4], "-inf"):
			return math.Inf(-1), true
		}
		return 0, false
	}
	return f, n == len(s)
}

// rrdStrtod is rrd_strtod (rrd_strtod.c): digits accumulated in a double,
// then scaled by powers of ten found by repeated squaring. It returns the
// value and how many bytes were used (0: no number).
func rrdStrtod(s string) (float64, int) {
	p := 0
	for p < len(s) && (s[p] == ' ' || (s[p] >= '\t' && s[p] <= '\r')) {
		p++
	}
	neg := false
	if p < len(s) && (s[p] == '-' || s[p] == '+') {
		neg = s[p] == '-'
		p++
	}
	number := 0.0
	exponent, digits, decimals := 0, 0, 0
	for p < len(s) && s[p] >= '0' && s[p] <= '9' {
		number = number*10 + float64(s[p]-'0')
		p++
		digits++
	}
	if p < len(s) && s[p] == '.' {
		p++
		for p < len(s) && s[p] >= '0' && s[p] <= '9' {
			number = number*10 + float64(s[p]-'0')
			p++
			digits++
			decimals++
		}
		exponent -= decimals
	}
	if digits == 0 {
		return 0, 0
	}
	if neg {
		number = -number
	}
	if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
		p++
		eneg := false
		if p < len(s) && (s[p] == '-' || s[p] == '+') {
			eneg = s[p] == '-'
			p++
		}
		n := 0
		for p < len(s) && s[p] >= '0' && s[p] <= '9' {
			if n < 1<<20 {
				n = n*10 + int(s[p]-'0')
			}
			p++
		}
		if eneg {
			exponent -= n
		} else {
			exponent += n
		}
	}
	if exponent < -1021 || exponent > 1024 {
		return math.Inf(1), p
	}
	p10 := 10.0
	n := exponent
	if n < 0 {
		n = -n
	}
	for n != 0 {
		if n&1 != 0 {
			if exponent < 0 {
				number /= p10
			} else {
				number *= p10
			}
		}
		n >>= 1
		p10 *= p10
	}
	return number, p
}

// TextValue returns the reading s as rrdtool's update takes it: like
// ParseValue, but text that is not a number is kept and refused only when
// an update uses it, with rrdtool's message (a data source whose heartbeat
// has expired never looks at its reading, as in rrdtool).
func TextValue(s string) Value {
	v, err := ParseValue(s)
	if err != nil {
		return Value{kind: kindBad, text: s}
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsUnknown reports whether v is unknown.
func (v Value) IsUnknown() bool { return v.kind == kindUnknown }

// String returns the reading as rrdtool would keep it in last_ds.
func (v Value) String() string {
	if v.text != "" {
		return v.text
	}
	switch v.kind {
	case kindUint:
		return strconv.FormatUint(v.u, 10)
	case kindInt:
		return strconv.FormatInt(v.i(), 10)
	case kindFloat:
		return strconv.FormatFloat(v.f(), 'g', -1, 64)
	default: // unknown, text and bad readings: U
	}
	return "U"
}

// float returns the reading as rrdtool's strtod would read its text.
func (v Value) float() float64 {
	switch v.kind {
	case kindUint:
		if v.text != "" {
			f, _ := rrdStrtod(v.text)
			return f
		}
		return float64(v.u)
	case kindInt:
		if v.text != "" {
			f, _ := rrdStrtod(v.text)
			return f
		}
		return float64(v.i())
	case kindFloat:
		return v.f()
	case kindText:
		f, _ := rrdStrtod(v.text)
		return f
	default: // unknown and bad readings: NaN, below
	}
	return math.NaN()
}

// isInteger reports whether the reading is an integer (COUNTER and DERIVE
// accept nothing else).
func (v Value) isInteger() bool {
	return v.kind == kindUint || v.kind == kindInt || v.kind == kindText
}

// decimalDiff is rrd_diff: new − old computed exactly on the decimal digits
// and rounded once to a double. As in rrdtool, numbers of different signs
// give unknown (NaN), as do more than 30 digits or a missing number.
func decimalDiff(newV Value, old string) float64 {
	oldNeg, oldDigits := splitDecimal(old)
	if oldDigits == "" {
		return math.NaN()
	}
	var newNeg bool
	var newDigits string
	switch newV.kind {
	case kindUint:
		if len(oldDigits) <= 19 {
			o, err := strconv.ParseUint(oldDigits, 10, 64)
			if err == nil {
				if oldNeg { // different signs (even "-0"): rrd_diff gives up
					return math.NaN()
				}
				return subExact(newV.u, o)
			}
		}
		newDigits = strconv.FormatUint(newV.u, 10)
	case kindInt:
		newNeg = true
		newDigits = strconv.FormatUint(uint64(-(newV.i()+1))+1, 10)
	case kindText:
		newNeg, newDigits = splitDecimal(newV.text)
	default:
		return math.NaN()
	}
	if newDigits == "" || newNeg != oldNeg {
		return math.NaN()
	}
	if max(len(newDigits), len(oldDigits)) > lastDSLen {
		return math.NaN()
	}
	a, _ := new(big.Int).SetString(newDigits, 10)
	b, _ := new(big.Int).SetString(oldDigits, 10)
	d := new(big.Int).Sub(a, b)
	f, _ := rrdStrtod(new(big.Int).Abs(d).String())
	if d.Sign() < 0 {
		f = -f
	}
	if newNeg { // both negative: rrd_diff reverses the sign
		f = -f
	}
	return f
}

// subExact returns a − b as rrd_diff does: the exact difference in
// decimal, read back with rrdtool's own strtod (exact below 2^53).
func subExact(a, b uint64) float64 {
	if a >= b {
		return magnitude(a - b)
	}
	return -magnitude(b - a)
}

func magnitude(m uint64) float64 {
	if m < 1<<53 {
		return float64(m)
	}
	f, _ := rrdStrtod(strconv.FormatUint(m, 10))
	return f
}

// splitDecimal finds the sign and the first run of digits the way rrd_diff
// does: skip non-digits (noting any '-'), then take the digits.
func splitDecimal(s string) (neg bool, digits string) {
	i := 0
	for i < len(s) && !(s[i] >= '0' && s[i] <= '9') {
		if s[i] == '-' {
			neg = true
		}
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return neg, s[i:j]
}

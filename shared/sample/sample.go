// Package sample defines what a poller measures: a Point is one value of one
// data source of one attribute of one host, taken at one time.
//
// Pollers in the agent produce Points keyed by name (Key). The uplink turns
// keys into compact series numbers for the wire (package wire), and the
// collector turns them back into keys before it writes the archives.
package sample

import (
	"fmt"
	"strings"
	"time"
)

// Kind is the data-source type of a series, with rrdtool's meaning.
type Kind uint8

// The kinds. The zero value is Gauge.
const (
	Gauge     Kind = 0 // a level: the value itself is stored (Float)
	Counter32 Kind = 1 // a 32-bit counter (Uint); the archive handles wraps at 2^32
	Counter64 Kind = 2 // a 64-bit counter (Uint); the archive handles wraps at 2^64
	Derive    Kind = 3 // a rate of change that may go down (Float, integral values)
	Absolute  Kind = 4 // a count that resets on every read (Uint)
)

var kindNames = [...]string{Gauge: "gauge", Counter32: "counter32", Counter64: "counter64", Derive: "derive", Absolute: "absolute"}

// Valid reports whether k is a defined kind.
func (k Kind) Valid() bool { return int(k) < len(kindNames) }

// String returns the lower-case name used in configs ("counter64").
func (k Kind) String() string {
	if !k.Valid() {
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
	return kindNames[k]
}

// IsInteger reports whether values of this kind travel as unsigned integers (Point.Uint).
func (k Kind) IsInteger() bool { return k == Counter32 || k == Counter64 || k == Absolute }

// DST returns the rrdtool data-source type an archive uses for this kind.
func (k Kind) DST() string {
	switch k {
	case Counter32, Counter64:
		return "COUNTER"
	case Derive:
		return "DERIVE"
	case Absolute:
		return "ABSOLUTE"
	default:
		return "GAUGE"
	}
}

// ParseKind accepts the config spellings: gauge, counter (= counter64), counter32,
// counter64, derive, absolute.
func ParseKind(text string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "gauge":
		return Gauge, nil
	case "counter", "counter64":
		return Counter64, nil
	case "counter32":
		return Counter32, nil
	case "derive":
		return Derive, nil
	case "absolute":
		return Absolute, nil
	}
	return Gauge, fmt.Errorf("unknown data source type %q (want gauge, counter32, counter64, derive or absolute)", text)
}

// Key names a series: a data source (DS) of an attribute (Attr) of a host (Host).
// Host is the host's configured name; Attr is the attribute's stable key
// (see package wire for the conventions); DS is the data-source name inside
// the attribute's archive (at most 19 characters, [a-zA-Z0-9_]).
type Key struct {
	Host string
	Attr string
	DS   string
}

// String renders the key as host/attr/ds for logs.
func (k Key) String() string { return k.Host + "/" + k.Attr + "/" + k.DS }

// Point is one measured value.
type Point struct {
	Key  Key
	Kind Kind
	// Time is when the device answered the poll.
	Time time.Time
	// Uint holds the value for integer kinds (Counter32, Counter64, Absolute).
	Uint uint64
	// Float holds the value for Gauge and Derive.
	Float float64
	// Reset marks a discontinuity before this value (device restart, counter
	// reset, ifCounterDiscontinuityTime changed): the archive must record
	// unknown for the interval that ends here instead of a rate. A Counter32
	// wrap is not a discontinuity and is never flagged.
	Reset bool
}

package snmp

import (
	"math"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// FuzzNeighborIDs feeds arbitrary LLDP/CDP identifiers and table indexes
// to their decoders: chassis and port ids always come out as clean lines
// of at most MaxName bytes, addresses from an index are valid or empty,
// and nothing panics.
func FuzzNeighborIDs(f *testing.F) {
	f.Add(int64(4), []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, "0.3.1.1.4.192.0.2.7")
	f.Add(int64(5), []byte{1, 192, 0, 2, 1}, "2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1")
	f.Add(int64(7), []byte("\x1b]0;pwn\x07core-1"), "1.4.300.1.1.1")
	f.Add(int64(3), []byte(strings.Repeat("\xff", 700)), "")
	f.Fuzz(func(t *testing.T, subtype int64, b []byte, index string) {
		for _, s := range []string{formatChassisID(subtype, b), formatPortID(subtype, b), textOrHex(b)} {
			if !safetext.IsLine(s, safetext.MaxName) {
				t.Fatalf("not a clean line: %q", s)
			}
		}
		idx, ok := parseIndex(index)
		if !ok {
			return
		}
		if len(idx) > maxIndexLen {
			t.Fatalf("index of %d parts", len(idx))
		}
		if indexText(idx) != strings.TrimSpace(indexText(idx)) || indexLess(idx, idx) {
			t.Fatalf("index order broken for %v", idx)
		}
		if a := indexAddress(idx); a != "" && !strings.ContainsAny(a, ".:") {
			t.Fatalf("address %q from %v", a, idx)
		}
	})
}

// FuzzSensorValue: any type, scale, precision and raw value give a finite
// value or a reason, never a panic or an infinite number.
func FuzzSensorValue(f *testing.F) {
	f.Add(int64(9), int64(1), int64(-35))
	f.Add(int64(42), int64(0), int64(30))
	f.Add(int64(17), int64(-8), int64(math.MaxInt32))
	f.Fuzz(func(t *testing.T, scale, precision, raw int64) {
		factor, err := sensorFactor(scale, precision)
		if err != nil {
			return
		}
		if v := float64(raw) * factor; math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("scale %d precision %d raw %d: %v", scale, precision, raw, v)
		}
	})
}

package rrd

import (
	"fmt"
	"math"
	"time"
)

// ParseUpdateTime parses the time of an rrdtool update argument: "N" (now,
// with microseconds), a number of seconds since the epoch with an optional
// fraction, or a negative number (seconds relative to now). Fractions are
// converted the way rrdtool does (through a double, microseconds truncated).
func ParseUpdateTime(s string, now time.Time) (time.Time, error) {
	if s == "N" {
		return now.Truncate(time.Microsecond), nil
	}
	f, n := rrdStrtod(s)
	if n != len(s) || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("expected a number: %q", s)
	}
	if f < 0 {
		f = float64(now.Unix()) + float64(now.Nanosecond()/1000)*float64(float32(1e-6)) + f
	}
	sec := math.Floor(f)
	usec := int64((f - sec) * 1e6)
	return time.Unix(int64(sec), usec*1000), nil
}

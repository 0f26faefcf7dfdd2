package rrd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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

// TimeSpec is a parsed rrdtool time specification (the AT-style subset):
// an absolute time or an offset from now, from the start or from the end.
type TimeSpec struct {
	base   byte // 'a' absolute, 'n' now, 's' start, 'e' end
	abs    time.Time
	offset []timeOffset
}

type timeOffset struct {
	n    int64
	unit string // "s", "m" (months), "y"; anything else is seconds already
}

// ParseTimeSpec parses the time specifications rrdtool accepts for --start
// and --end that Outpost supports: seconds since the epoch ("1700000000"),
// "now", "start"/"s", "end"/"e", each optionally followed by offsets such as
// "-1d", "+2h", "-1w3d" (units s, sec, min, m (minutes), h, d, w, mon, y and
// their long forms), and a bare offset ("-1h", "-3600") relative to now.
func ParseTimeSpec(s string) (TimeSpec, error) {
	orig := s
	var ts TimeSpec
	switch {
	case s == "":
		return ts, fmt.Errorf("empty time specification")
	case strings.HasPrefix(s, "now"):
		ts.base, s = 'n', s[3:]
	case strings.HasPrefix(s, "start"):
		ts.base, s = 's', s[5:]
	case strings.HasPrefix(s, "end"):
		ts.base, s = 'e', s[3:]
	case s[0] == 's' || s[0] == 'e':
		ts.base, s = s[0], s[1:]
	case s[0] == '-' || s[0] == '+':
		ts.base = 'n'
	default:
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return ts, fmt.Errorf("unparsable time: %s", orig)
		}
		v, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return ts, fmt.Errorf("unparsable time: %s", orig)
		}
		ts.base, ts.abs, s = 'a', time.Unix(v, 0), s[i:]
	}
	for s != "" {
		sign := int64(1)
		switch s[0] {
		case '-':
			sign = -1
		case '+':
		default:
			return ts, fmt.Errorf("unparsable time: %s", orig)
		}
		s = s[1:]
		// One or more number+unit pairs after the sign ("-1w3d").
		first := true
		for s != "" && s[0] >= '0' && s[0] <= '9' || first {
			first = false
			i := 0
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			if i == 0 {
				return ts, fmt.Errorf("unparsable time: %s", orig)
			}
			n, err := strconv.ParseInt(s[:i], 10, 64)
			if err != nil {
				return ts, fmt.Errorf("unparsable time: %s", orig)
			}
			s = s[i:]
			j := 0
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			unit := s[:j]
			s = s[j:]
			off, err := makeOffset(sign*n, unit)
			if err != nil {
				return ts, fmt.Errorf("%s: %w", orig, err)
			}
			ts.offset = append(ts.offset, off)
		}
	}
	return ts, nil
}

func makeOffset(n int64, unit string) (timeOffset, error) {
	switch strings.ToLower(unit) {
	case "", "s", "sec", "secs", "second", "seconds":
		return timeOffset{n: n, unit: "s"}, nil
	case "m", "min", "mins", "minute", "minutes":
		return timeOffset{n: n * 60, unit: "s"}, nil
	case "h", "hr", "hrs", "hour", "hours":
		return timeOffset{n: n * 3600, unit: "s"}, nil
	case "d", "day", "days":
		return timeOffset{n: n, unit: "d"}, nil
	case "w", "wk", "week", "weeks":
		return timeOffset{n: 7 * n, unit: "d"}, nil
	case "mon", "month", "months":
		return timeOffset{n: n, unit: "m"}, nil
	case "y", "yr", "year", "years":
		return timeOffset{n: n, unit: "y"}, nil
	}
	return timeOffset{}, fmt.Errorf("unknown time unit %q", unit)
}

func (ts TimeSpec) apply(t time.Time) time.Time {
	for _, o := range ts.offset {
		switch o.unit {
		case "s":
			t = t.Add(time.Duration(o.n) * time.Second)
		case "d":
			t = t.AddDate(0, 0, int(o.n))
		case "m":
			t = t.AddDate(0, int(o.n), 0)
		case "y":
			t = t.AddDate(int(o.n), 0, 0)
		}
	}
	return t
}

// ResolveStartEnd turns --start and --end specifications into times the way
// rrd_proc_start_end does: one may be relative to the other, not both.
func ResolveStartEnd(start, end TimeSpec, now time.Time) (time.Time, time.Time, error) {
	if start.base == 'e' && end.base == 's' {
		return time.Time{}, time.Time{}, fmt.Errorf("the start and end times cannot be specified relative to each other")
	}
	if start.base == 's' {
		return time.Time{}, time.Time{}, fmt.Errorf("the start time cannot be specified relative to itself")
	}
	if end.base == 'e' {
		return time.Time{}, time.Time{}, fmt.Errorf("the end time cannot be specified relative to itself")
	}
	base := func(ts TimeSpec) time.Time {
		if ts.base == 'a' {
			return ts.abs
		}
		return now.Truncate(time.Second)
	}
	var s, e time.Time
	switch {
	case start.base == 'e':
		e = end.apply(base(end))
		s = start.apply(e)
	case end.base == 's':
		s = start.apply(base(start))
		e = end.apply(s)
	default:
		s = start.apply(base(start))
		e = end.apply(base(end))
	}
	return s, e, nil
}

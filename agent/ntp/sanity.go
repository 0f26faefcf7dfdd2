package ntp

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// A server's variables are untrusted text. A number that no NTP server can
// have measured (an offset of -1e20 ms, NaN, a negative delay, stratum 99)
// must not become a sample: Target records it as unknown (a NaN gauge,
// which the archive stores as unknown for the interval) and gives the
// attribute an Alert whose reason names the value.

// Bounds of the values a server reports.
const (
	// maxOffsetMS is the largest offset two NTP timestamps can express: the
	// difference of two 32.32 timestamps of one era is within ±2^31 s
	// (about 68 years).
	maxOffsetMS = (1 << 31) * 1e3
	// maxSpreadMS bounds delay and jitter: 2^16 s, the range of NTP's
	// 16.16 short format in which servers exchange root delay and
	// dispersion. Nothing a working server measures comes near it.
	maxSpreadMS = (1 << 16) * 1e3
	// MaxStratum is the largest stratum (16: unsynchronised).
	MaxStratum = 16
	// maxReach is the largest reach register (8 bits).
	maxReach = 0xff
)

// quantity is a measurement a server reports, in milliseconds, with the
// range a real one lies in.
type quantity struct {
	name     string
	min, max float64
}

var (
	qOffset = quantity{"offset", -maxOffsetMS, maxOffsetMS}
	qDelay  = quantity{"delay", 0, maxSpreadMS}
	qJitter = quantity{"jitter", 0, maxSpreadMS}
)

// read returns the value of the last of names that vars holds (as ntpq
// picks among dispersion and rootdisp): NaN and no reason when none is
// present; the value when it is a number within q's range; NaN and the
// reason ("server reported offset -1e+20 ms, not a valid offset") when it
// is not.
func (q quantity) read(vars VarList, names ...string) (ms float64, bad string) {
	name, best := "", -1
	for _, n := range names {
		if pos := vars.position(n); pos > best {
			name, best = n, pos
		}
	}
	if name == "" {
		return math.NaN(), ""
	}
	raw, _ := vars.Get(name)
	f, ok := pyNumber(raw)
	if !ok {
		return math.NaN(), fmt.Sprintf("server reported %s %s, not a number", q.name, safetext.Line(raw, 32))
	}
	return q.check(f)
}

// check returns ms when it lies in q's range, else NaN and the reason.
func (q quantity) check(ms float64) (float64, string) {
	if math.IsNaN(ms) || ms < q.min || ms > q.max {
		return math.NaN(), fmt.Sprintf("server reported %s %s ms, not a valid %s", q.name, strconv.FormatFloat(ms, 'g', -1, 64), q.name)
	}
	return ms, ""
}

// readStratum returns the "stratum" variable: NaN and no reason when it is
// absent; the stratum when it is an integer 0..16; NaN and the reason when
// it is not.
func readStratum(vars VarList) (float64, string) {
	raw, ok := vars.Get("stratum")
	if !ok {
		return math.NaN(), ""
	}
	f, ok := pyNumber(raw)
	switch {
	case !ok:
		return math.NaN(), fmt.Sprintf("server reported stratum %s, not a number", safetext.Line(raw, 32))
	case f != math.Trunc(f) || f < 0 || f > MaxStratum:
		return math.NaN(), fmt.Sprintf("server reported stratum %s, not a valid stratum (0..%d)", strconv.FormatFloat(f, 'g', -1, 64), MaxStratum)
	}
	return f, ""
}

// readReach returns the "reach" register: 0 when absent (as ntpq shows
// it); the register when it is an integer 0..0377; NaN and the reason when
// it is not.
func readReach(vars VarList) (float64, string) {
	raw, ok := vars.Get("reach")
	if !ok {
		return 0, ""
	}
	f, ok := pyNumber(raw)
	switch {
	case !ok:
		return math.NaN(), fmt.Sprintf("server reported reach %s, not a number", safetext.Line(raw, 32))
	case f != math.Trunc(f) || f < 0 || f > maxReach:
		return math.NaN(), fmt.Sprintf("server reported reach %s, not a valid reach register (0..0377)", safetext.Line(raw, 32))
	}
	return f, ""
}

// peerJitterVars are the variables the jitter column comes from: jitter,
// or (servers that do not send it) the dispersion, as Peer.Row does.
func peerJitterVars(vars VarList) []string {
	if vars.position("jitter") >= 0 {
		return []string{"jitter"}
	}
	return []string{"rootdisp", "dispersion"}
}

// textLine cleans a server's string for an attribute, a property, a key or
// a reason: one line of at most safetext.MaxName bytes.
func textLine(s string) string { return safetext.Line(s, safetext.MaxName) }

// joinReasons joins non-empty reasons with "; ".
func joinReasons(rs ...string) string {
	var out []string
	for _, r := range rs {
		if r != "" {
			out = append(out, r)
		}
	}
	return strings.Join(out, "; ")
}

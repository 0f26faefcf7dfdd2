package chrony

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// The text reports below are laid out exactly as chronyc 4.3 prints them
// with -n (client.c: process_cmd_sources, process_cmd_sourcestats,
// process_cmd_tracking, and the print_report conversions %I, %S, %+S,
// %P, %+P, %O, %F, %L), so an operator can compare them line by line.

// SourcesHeader and SourceStatsHeader are chronyc's header lines.
const (
	SourcesHeader     = "MS Name/IP address         Stratum Poll Reach LastRx Last sample               "
	SourceStatsHeader = "Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev"
)

// clean makes a name one clean line (it is built from an address or a
// reference ID, but is shown on a terminal).
func clean(s string) string { return safetext.Line(s, safetext.MaxName) }

// SourceLine is the source's line of `chronyc -n sources` (no newline).
func (s Source) SourceLine() string {
	return fmt.Sprintf("%c%c %-27s  %2d  %2d   %3o  %s  %s[%s] +/- %s",
		s.Mode.Char(), s.State.Char(), clean(s.Name), s.Stratum, s.Poll, s.Reach,
		Seconds(s.LastRx), SignedNanoseconds(s.Offset), SignedNanoseconds(s.OrigOffset), Nanoseconds(s.Error))
}

// StatsLine is the source's line of `chronyc -n sourcestats` (no newline).
func (s Source) StatsLine() string {
	st := s.Stats
	return fmt.Sprintf("%-25s %3d %3d  %s %s %s  %s  %s",
		clean(st.Name), st.NSamples, st.NRuns, Seconds(st.Span), signedFreqPPM(st.ResidFreqPPM), freqPPM(st.SkewPPM),
		SignedNanoseconds(st.Offset), Nanoseconds(st.StdDev))
}

// WriteSources prints `chronyc -n sources`: the header, its rule and one
// line per source, leaving out unresolved sources as chronyc does without -a.
func WriteSources(w io.Writer, sources []Source) error {
	var b strings.Builder
	header(&b, SourcesHeader)
	for _, s := range sources {
		if !s.IsID {
			b.WriteString(s.SourceLine() + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSourceStats prints `chronyc -n sourcestats`.
func WriteSourceStats(w io.Writer, sources []Source) error {
	var b strings.Builder
	header(&b, SourceStatsHeader)
	for _, s := range sources {
		if !s.IsID {
			b.WriteString(s.StatsLine() + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTracking prints `chronyc -n tracking`.
func WriteTracking(w io.Writer, t Tracking) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Reference ID    : %08X (%s)\n", t.RefID, clean(t.RefName))
	fmt.Fprintf(&b, "Stratum         : %d\n", t.Stratum)
	fmt.Fprintf(&b, "Ref time (UTC)  : %s\n", t.RefTime.UTC().Format("Mon Jan 02 15:04:05 2006"))
	fmt.Fprintf(&b, "System time     : %.9f seconds %s of NTP time\n", math.Abs(t.SystemTime), slowFast(t.SystemTime > 0))
	fmt.Fprintf(&b, "Last offset     : %+.9f seconds\n", t.LastOffset)
	fmt.Fprintf(&b, "RMS offset      : %.9f seconds\n", t.RMSOffset)
	fmt.Fprintf(&b, "Frequency       : %.3f ppm %s\n", math.Abs(t.FreqPPM), slowFast(!(t.FreqPPM > 0)))
	fmt.Fprintf(&b, "Residual freq   : %+.3f ppm\n", t.ResidFreqPPM)
	fmt.Fprintf(&b, "Skew            : %.3f ppm\n", t.SkewPPM)
	fmt.Fprintf(&b, "Root delay      : %.9f seconds\n", t.RootDelay)
	fmt.Fprintf(&b, "Root dispersion : %.9f seconds\n", t.RootDispersion)
	fmt.Fprintf(&b, "Update interval : %.1f seconds\n", t.UpdateInterval)
	fmt.Fprintf(&b, "Leap status     : %s\n", LeapString(t.Leap))
	_, err := io.WriteString(w, b.String())
	return err
}

func slowFast(slow bool) string {
	if slow {
		return "slow"
	}
	return "fast"
}

func header(b *strings.Builder, h string) {
	b.WriteString(h + "\n" + strings.Repeat("=", len(h)) + "\n")
}

// LeapString is chronyc's leap status ("Normal", "Not synchronised"...).
func LeapString(leap int) string {
	switch leap {
	case LeapNormal:
		return "Normal"
	case LeapInsertSecond:
		return "Insert second"
	case LeapDeleteSecond:
		return "Delete second"
	case LeapUnsynchronised:
		return "Not synchronised"
	}
	return "Invalid"
}

// Seconds is chronyc's interval column (%I): seconds up to 1199, then
// minutes, hours, days, years; "-" for never.
func Seconds(s uint32) string {
	switch {
	case s == NoSample:
		return "   -"
	case s < 1200:
		return fmt.Sprintf("%4d", s)
	case s < 36000:
		return fmt.Sprintf("%3dm", s/60)
	case s < 345600:
		return fmt.Sprintf("%3dh", s/3600)
	}
	d := s / 86400
	if d > 999 {
		return fmt.Sprintf("%3dy", d/365)
	}
	return fmt.Sprintf("%3dd", d)
}

// Nanoseconds is chronyc's unsigned offset column (%S): the magnitude
// with a unit from ns to years, 6 characters.
func Nanoseconds(s float64) string {
	s = math.Abs(s)
	switch {
	case s < 9999.5e-9:
		return fmt.Sprintf("%4.0fns", s*1e9)
	case s < 9999.5e-6:
		return fmt.Sprintf("%4.0fus", s*1e6)
	case s < 9999.5e-3:
		return fmt.Sprintf("%4.0fms", s*1e3)
	case s < 999.5:
		return fmt.Sprintf("%5.1fs", s)
	case s < 99999.5:
		return fmt.Sprintf("%5.0fs", s)
	case s < 99999.5*60:
		return fmt.Sprintf("%5.0fm", s/60)
	case s < 99999.5*3600:
		return fmt.Sprintf("%5.0fh", s/3600)
	case s < 99999.5*3600*24:
		return fmt.Sprintf("%5.0fd", s/(3600*24))
	}
	return fmt.Sprintf("%5.0fy", s/(3600*24*365))
}

// SignedNanoseconds is chronyc's signed offset column (%+S), 7 characters.
func SignedNanoseconds(s float64) string {
	x := math.Abs(s)
	switch {
	case x < 9999.5e-9:
		return fmt.Sprintf("%+5.0fns", s*1e9)
	case x < 9999.5e-6:
		return fmt.Sprintf("%+5.0fus", s*1e6)
	case x < 9999.5e-3:
		return fmt.Sprintf("%+5.0fms", s*1e3)
	case x < 999.5:
		return fmt.Sprintf("%+6.1fs", s)
	case x < 99999.5:
		return fmt.Sprintf("%+6.0fs", s)
	case x < 99999.5*60:
		return fmt.Sprintf("%+6.0fm", s/60)
	case x < 99999.5*3600:
		return fmt.Sprintf("%+6.0fh", s/3600)
	case x < 99999.5*3600*24:
		return fmt.Sprintf("%+6.0fd", s/(3600*24))
	}
	return fmt.Sprintf("%+6.0fy", s/(3600*24*365))
}

func freqPPM(f float64) string {
	if math.Abs(f) < 99999.5 {
		return fmt.Sprintf("%10.3f", f)
	}
	return fmt.Sprintf("%10.0f", f)
}

func signedFreqPPM(f float64) string {
	if math.Abs(f) < 99999.5 {
		return fmt.Sprintf("%+10.3f", f)
	}
	return fmt.Sprintf("%+10.0f", f)
}

// ReachString is the reach register in octal, as the sources table shows it.
func ReachString(r uint16) string { return strconv.FormatUint(uint64(r), 8) }

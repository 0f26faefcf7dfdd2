package graph

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// Style is how a graph draws the AVERAGE of each row.
type Style int

// Styles.
const (
	// StyleSteps draws each row as a flat segment over its whole interval,
	// as rrdtool graph does by default.
	StyleSteps Style = iota
	// StyleLines joins the rows' values at the midpoints of their intervals.
	StyleLines
)

// ParseStyle accepts "steps" (also "") and "lines".
func ParseStyle(s string) (Style, error) {
	switch s {
	case "", "steps":
		return StyleSteps, nil
	case "lines":
		return StyleLines, nil
	}
	return 0, fmt.Errorf("style %q: want steps or lines", s)
}

// Image sizes accepted by the renderers.
const (
	MinWidth, MaxWidth   = 200, 4000
	MinHeight, MaxHeight = 120, 2000
)

// Options are the drawing parameters of a PNG or SVG graph.
type Options struct {
	Width, Height int            // whole image, pixels; clamped to the Min/Max constants
	Style         Style          // StyleSteps by default
	Location      *time.Location // time axis zone; nil means UTC
}

// Palette: series i uses colours i mod len; the first series draws its
// AVERAGE as a filled area, the others as lines (MRTG's in/out convention).
var seriesColors = [...]struct{ area, line, max string }{
	{"#8fd08f", "#2e7d32", "#1b5e20"},
	{"", "#1f5fbf", "#0d3c80"},
	{"", "#c2185b", "#880e4f"},
	{"", "#ef6c00", "#a64b00"},
}

const (
	padLeft   = 64
	padRight  = 16
	padTop    = 26
	axisBelow = 18
	legendRow = 15
	charW     = 7 // basicfont 7x13
)

type tick struct {
	pos   float64
	label string
}

// frame is the shared geometry of a PNG and an SVG of the same data.
type frame struct {
	w, h           int
	x0, y0, x1, y1 float64 // plot rectangle
	t0, t1         int64   // ns
	vmin, vmax     float64
	xticks, yticks []tick
	d              *Data
	style          Style
	loc            *time.Location
}

func clampSize(o Options) Options {
	if o.Width == 0 {
		o.Width = 800
	}
	if o.Height == 0 {
		o.Height = 260
	}
	o.Width = min(max(o.Width, MinWidth), MaxWidth)
	o.Height = min(max(o.Height, MinHeight), MaxHeight)
	if o.Location == nil {
		o.Location = time.UTC
	}
	return o
}

func newFrame(d *Data, o Options) *frame {
	o = clampSize(o)
	f := &frame{w: o.Width, h: o.Height, d: d, style: o.Style, loc: o.Location}
	f.x0, f.y0 = padLeft, padTop
	f.x1 = float64(o.Width - padRight)
	f.y1 = float64(o.Height - axisBelow - legendRow*len(d.Series) - 4)
	if f.y1 < f.y0+20 {
		f.y1 = f.y0 + 20
	}
	f.t0, f.t1 = d.RangeStart.UnixNano(), d.RangeEnd.UnixNano()
	lo, hi := 0.0, 0.0
	for _, s := range d.Series {
		for _, arr := range [][]float64{s.Avg, s.Max, {s.P95}} {
			for _, v := range arr {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
	}
	var vals []float64
	f.vmin, f.vmax, vals = yAxis(lo, hi, (f.y1-f.y0)/40)
	for _, v := range vals {
		f.yticks = append(f.yticks, tick{f.y(v), FormatSI(v, "")})
	}
	f.xticks = timeTicks(f.t0, f.t1, f.x0, f.x1, o.Location)
	return f
}

func (f *frame) x(ns int64) float64 {
	return f.x0 + (f.x1-f.x0)*float64(ns-f.t0)/float64(f.t1-f.t0)
}

// y is the pixel row of value v; values beyond the axis (only those
// beyond ±axisLimit can be) are drawn at its edge.
func (f *frame) y(v float64) float64 {
	v = min(max(v, f.vmin), f.vmax)
	return f.y1 - (f.y1-f.y0)*(v-f.vmin)/(f.vmax-f.vmin)
}

type point struct{ x, y float64 }

// runs returns the polylines of vals (one per run of known values),
// clipped to the plot in x.
func (f *frame) runs(vals []float64, style Style) [][]point {
	var out [][]point
	var cur []point
	step := int64(f.d.Step)
	for i, v := range vals {
		end := f.d.Stamps[i].UnixNano()
		start := end - step
		if math.IsNaN(v) || math.IsInf(v, 0) || end <= f.t0 || start >= f.t1 {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		y := f.y(v)
		xl, xr := f.x(max(start, f.t0)), f.x(min(end, f.t1))
		if style == StyleLines {
			cur = append(cur, point{(xl + xr) / 2, y})
			continue
		}
		cur = append(cur, point{xl, y}, point{xr, y})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// area closes a run down to the zero line (or the bottom of the plot).
func (f *frame) area(run []point) []point {
	base := f.y(max(0, f.vmin))
	poly := append([]point{{run[0].x, base}}, run...)
	return append(poly, point{run[len(run)-1].x, base})
}

// maxLabel bounds a text drawn on a graph (title, unit, legend), in bytes.
const maxLabel = 200

// label makes s fit to draw on a graph and to write into SVG: valid UTF-8
// without control characters (shared/safetext: invalid bytes and control
// characters become visible escapes such as \x00), without the two
// characters XML forbids that safetext keeps (U+FFFE, U+FFFF), and cut
// visibly at maxLabel bytes. XML 1.0 allows no control character other
// than tab and newlines, not even escaped as a character reference, so an
// SVG with a NUL in a host name would not parse.
func label(s string) string {
	s = safetext.Line(s, maxLabel)
	if strings.ContainsAny(s, "\uFFFE\uFFFF") {
		s = strings.NewReplacer("\uFFFE", `\ufffe`, "\uFFFF", `\uffff`).Replace(s)
	}
	return s
}

func (f *frame) legend(s Series) string {
	var b strings.Builder
	b.WriteString(label(s.Name))
	last, mx := math.NaN(), math.NaN()
	for i := len(s.Avg) - 1; i >= 0; i-- {
		if !math.IsNaN(s.Avg[i]) {
			last = s.Avg[i]
			break
		}
	}
	for _, v := range s.Max {
		if !math.IsNaN(v) && (math.IsNaN(mx) || v > mx) {
			mx = v
		}
	}
	fmt.Fprintf(&b, "  last %s", FormatSI(last, f.d.Unit))
	if s.Max != nil {
		fmt.Fprintf(&b, "  max %s", FormatSI(mx, f.d.Unit))
	}
	fmt.Fprintf(&b, "  95th %s", FormatSI(s.P95, f.d.Unit))
	return b.String()
}

// Bounds of the y axis. Values beyond ±axisLimit are drawn at the edge
// (the axis must stay finite: its span is computed); spans below
// minAxisSpan (zero, denormals) are drawn as the range 0..1.
const (
	axisLimit   = 1e300
	minAxisSpan = 1e-290
	maxYTicks   = 50
)

// yAxis chooses the range [vmin, vmax] and the tick values of a y axis
// that shows lo..hi and zero with about want (2 to maxYTicks-2) ticks: vmin and vmax
// are multiples of a step of 1, 2, 2.5 or 5 times a power of ten. It is
// total: for any input, including NaN, infinities, denormals and spans
// that float64 cannot step through (-1e17..-1e17+1), the range is finite
// with vmax > vmin, and there are at most maxYTicks+1 ticks, each
// computed from its index (no loop adds a step to a running value).
func yAxis(lo, hi, want float64) (vmin, vmax float64, ticks []float64) {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		lo, hi = 0, 1
	}
	lo = min(max(lo, -axisLimit), 0)
	hi = max(min(hi, axisLimit), 0)
	if hi-lo < minAxisSpan {
		lo, hi = 0, 1
	}
	if !(want >= 2) { // also NaN
		want = 2
	}
	want = min(want, maxYTicks-2)
	step := niceStep((hi - lo) / want)
	vmin = math.Floor(lo/step) * step
	vmax = math.Ceil(hi/step) * step
	n := math.Round((vmax - vmin) / step)
	if !(vmax > vmin) || math.IsInf(vmax-vmin, 0) || !(n >= 1 && n <= maxYTicks) {
		// Unreachable for the inputs above; kept so that the axis is valid
		// whatever rounding does.
		return lo, hi, []float64{lo, hi}
	}
	for i := 0; i <= int(n); i++ {
		v := vmin + float64(i)*step
		if i == int(n) {
			v = vmax
		}
		ticks = append(ticks, v)
	}
	return vmin, vmax, ticks
}

// niceStep rounds raw up to 1, 2, 2.5 or 5 times a power of ten; 1 for a
// raw that is not a positive finite number or whose power of ten does not
// fit a float64.
func niceStep(raw float64) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	if p == 0 || math.IsInf(p, 0) {
		return 1
	}
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// FormatSI formats v with an SI prefix and up to three significant
// digits ("1.5 M", "250 m"), followed by unit; "-" for NaN.
func FormatSI(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	sep := ""
	if unit != "" {
		sep = " "
	}
	if v == 0 {
		return "0" + sep + unit
	}
	prefixes := []struct {
		k float64
		p string
	}{{1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}, {1e-3, "m"}, {1e-6, "µ"}, {1e-9, "n"}}
	a := math.Abs(v)
	if a >= 999.5e15 || a < 0.9995e-9 {
		// Beyond the prefixes: exponent notation, never hundreds of digits.
		return strconv.FormatFloat(v, 'g', 3, 64) + sep + unit
	}
	for _, p := range prefixes {
		if a >= p.k*0.9995 || p.k == 1e-9 {
			s := strconv.FormatFloat(v/p.k, 'g', 3, 64)
			if strings.Contains(s, "e") {
				s = strconv.FormatFloat(v/p.k, 'f', 0, 64)
			}
			if p.p == "" && unit == "" {
				return s
			}
			return s + " " + p.p + unit
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + sep + unit
}

var tickSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 30 * 24 * time.Hour, 91 * 24 * time.Hour,
}

// timeTicks places labelled ticks at least ~90 pixels apart, aligned to
// whole minutes, hours or days of loc.
func timeTicks(t0, t1 int64, x0, x1 float64, loc *time.Location) []tick {
	span := time.Duration(t1 - t0)
	px := x1 - x0
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if px*float64(s)/float64(span) >= 90 {
			step = s
			break
		}
	}
	start := time.Unix(0, t0).In(loc)
	var t time.Time
	if step >= 24*time.Hour {
		t = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
		if step >= 7*24*time.Hour {
			// weeks start on Monday
			t = t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
		}
	} else {
		_, off := start.Zone()
		sec := start.Unix() + int64(off)
		k := int64(step / time.Second)
		t = time.Unix((sec/k)*k-int64(off), 0).In(loc)
	}
	var out []tick
	for ; t.UnixNano() <= t1; t = addStep(t, step) {
		if t.UnixNano() < t0 {
			continue
		}
		var label string
		switch {
		case step >= 24*time.Hour:
			label = t.Format("Jan 02")
		case t.Hour() == 0 && t.Minute() == 0 && span > 24*time.Hour:
			label = t.Format("Mon 02")
		default:
			label = t.Format("15:04")
		}
		x := x0 + px*float64(t.UnixNano()-t0)/float64(t1-t0)
		out = append(out, tick{x, label})
	}
	return out
}

func addStep(t time.Time, step time.Duration) time.Time {
	if step >= 24*time.Hour {
		return t.AddDate(0, 0, int(step/(24*time.Hour)))
	}
	return t.Add(step)
}

package graph

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"math"
	"testing"
	"time"
)

// checkAxis fails unless yAxis's answer for lo, hi is a usable axis: a
// finite range with vmax > vmin holding lo..hi (clamped to ±axisLimit),
// and 2 to maxYTicks+1 increasing ticks from vmin to vmax.
func checkAxis(t *testing.T, lo, hi, want float64) {
	t.Helper()
	vmin, vmax, ticks := yAxis(lo, hi, want)
	if math.IsNaN(vmin) || math.IsNaN(vmax) || math.IsInf(vmin, 0) || math.IsInf(vmax, 0) || !(vmax > vmin) || math.IsInf(vmax-vmin, 0) {
		t.Fatalf("yAxis(%g, %g, %g): range %g..%g", lo, hi, want, vmin, vmax)
	}
	if len(ticks) < 2 || len(ticks) > maxYTicks+1 {
		t.Fatalf("yAxis(%g, %g, %g): %d ticks", lo, hi, want, len(ticks))
	}
	if ticks[0] != vmin || ticks[len(ticks)-1] != vmax {
		t.Fatalf("yAxis(%g, %g, %g): ticks %g..%g, range %g..%g", lo, hi, want, ticks[0], ticks[len(ticks)-1], vmin, vmax)
	}
	for i := 1; i < len(ticks); i++ {
		if !(ticks[i] > ticks[i-1]) {
			t.Fatalf("yAxis(%g, %g, %g): ticks not increasing: %v", lo, hi, want, ticks)
		}
	}
	if !math.IsNaN(lo) && !math.IsNaN(hi) {
		clo, chi := min(max(lo, -axisLimit), 0), max(min(hi, axisLimit), 0)
		if chi-clo >= minAxisSpan && (vmin > clo || vmax < chi) {
			t.Fatalf("yAxis(%g, %g, %g): range %g..%g does not hold the values", lo, hi, want, vmin, vmax)
		}
	}
}

func TestYAxisAnyInput(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range [][2]float64{
		{0, 1}, {0, 7.3e6}, {-3e6, 2e6}, {0, 0}, {-1e17, 0}, {-1e17, -1e17}, {-1e17, -1e17 + 1}, {0, 1e300}, {-1e300, 1e300},
		{-math.MaxFloat64, math.MaxFloat64}, {0, math.MaxFloat64}, {-inf, inf}, {nan, nan}, {0, nan}, {0, 5e-324}, {-5e-324, 0},
		{0, 2.2250738585072014e-308}, {0, 1e-12}, {0, 4.5e-5}, {1e20, 1e20},
	} {
		for _, want := range []float64{0, 2, 4.3, 48, 1e9, nan} {
			checkAxis(t, c[0], c[1], want)
		}
	}
}

// A graph of values that broke the tick loop (an NTP offset of -1e17 s,
// a constant series, overflowing, infinite and denormal values) renders
// as PNG and SVG, quickly.
func TestRenderHostileValues(t *testing.T) {
	inf := math.Inf(1)
	for _, vals := range [][]float64{
		{-1e17, -1e17, -1e17}, {-1e20, 3, nan}, {1e300, 1e300}, {math.MaxFloat64, -math.MaxFloat64}, {inf, -inf, nan},
		{5e-324, 5e-324}, {0, 0, 0}, {42, 42, 42}, {nan, nan, nan}, {-1e17 + 1, -1e17},
	} {
		d := hostileData(vals, vals[0])
		start := time.Now()
		renderBoth(t, d)
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("%v: rendering took %v", vals, el)
		}
	}
}

func hostileData(vals []float64, p95 float64) *Data {
	start := time.Unix(1_700_000_000, 0)
	d := &Data{Start: start, Step: time.Minute, RangeStart: start, RangeEnd: start.Add(time.Duration(len(vals)) * time.Minute),
		Title: "hostile", Unit: "s", Series: []Series{{Name: "offset", Avg: vals, Max: vals, P95: p95}}}
	for i := range vals {
		d.Stamps = append(d.Stamps, start.Add(time.Duration(i+1)*time.Minute))
	}
	return d
}

func renderBoth(t *testing.T, d *Data) {
	t.Helper()
	var pb, sb bytes.Buffer
	for _, style := range []Style{StyleSteps, StyleLines} {
		pb.Reset()
		sb.Reset()
		if err := RenderPNG(&pb, d, Options{Width: 400, Height: 200, Style: style}); err != nil {
			t.Fatalf("png: %v", err)
		}
		if _, err := png.Decode(&pb); err != nil {
			t.Fatalf("png does not decode: %v", err)
		}
		if err := RenderSVG(&sb, d, Options{Width: 400, Height: 200, Style: style}); err != nil {
			t.Fatalf("svg: %v", err)
		}
		if err := xml.Unmarshal(sb.Bytes(), new(struct{})); err != nil {
			t.Fatalf("svg is not XML: %v\n%s", err, sb.Bytes())
		}
		if bytes.Contains(sb.Bytes(), []byte("NaN")) || bytes.Contains(sb.Bytes(), []byte("Inf")) {
			t.Fatalf("svg holds NaN or Inf coordinates:\n%s", sb.Bytes())
		}
	}
}

// FuzzLayout: the y axis of any float range, and a graph of any three
// values, lay out and render within bounds.
func FuzzLayout(f *testing.F) {
	f.Add(-1e17, -1e17, 0.0, 4.3)
	f.Add(0.0, 1e300, 5e-324, 48.0)
	f.Add(math.Inf(-1), math.Inf(1), math.NaN(), 0.0)
	f.Add(-1e17+1, -1e17, 1.0, 2.0)
	f.Add(math.MaxFloat64, -math.MaxFloat64, 0.0, 1e9)
	f.Fuzz(func(t *testing.T, a, b, c, want float64) {
		checkAxis(t, min(a, b, 0), max(a, b, 0), want)
		renderBoth(t, hostileData([]float64{a, b, c}, c))
	})
}

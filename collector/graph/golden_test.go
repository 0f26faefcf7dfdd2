package graph

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed/golden"
)

// goldenData is a fixed two-series graph: 24 ten-minute rows with a gap
// of two unknown rows, bursts in MAX, and the 95th percentiles given.
func goldenData() *Data {
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	d := &Data{Start: start, Step: 10 * time.Minute, RangeStart: start, RangeEnd: start.Add(4 * time.Hour), Unit: "bit/s", Title: "r1 ge-0/0/1", P95Step: time.Minute}
	in, out := Series{Name: "in_octets", P95: 7.5e6}, Series{Name: "out_octets", P95: 2.5e6}
	for i := 0; i < 24; i++ {
		d.Stamps = append(d.Stamps, start.Add(time.Duration(i+1)*d.Step))
		v := 4e6 + 3e6*math.Sin(float64(i)/4)
		if i == 10 || i == 11 {
			v = math.NaN()
		}
		in.Avg = append(in.Avg, v)
		in.Max = append(in.Max, v*1.6)
		out.Avg = append(out.Avg, v/3)
		out.Max = append(out.Max, v/2)
	}
	d.Series = []Series{in, out}
	return d
}

func TestSVGGolden(t *testing.T) {
	for _, c := range []struct {
		name  string
		style Style
	}{{"steps", StyleSteps}, {"lines", StyleLines}} {
		var buf bytes.Buffer
		if err := RenderSVG(&buf, goldenData(), Options{Width: 640, Height: 220, Style: c.style}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "golden-"+c.name+".svg")
		if golden.Update() {
			os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run SVGGolden -update ./collector/graph to create it)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from %s; look at both and run with -update if the change is intended", c.name, path)
		}
	}
}

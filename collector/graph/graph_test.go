package graph

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

var nan = math.NaN()

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func TestReduce(t *testing.T) {
	// 6 one-minute rows stamped 60..360
	base := &Table{Start: time.Unix(0, 0), Step: time.Minute, DS: []string{"a"},
		Rows: [][]float64{{1}, {3}, {nan}, {5}, {nan}, {nan}}}
	tests := []struct {
		name  string
		cf    string
		pixel time.Duration
		step  time.Duration
		start int64
		want  []float64
	}{
		{"finer than a row: unchanged", CFAverage, 30 * time.Second, time.Minute, 0, []float64{1, 3, nan, 5, nan, nan}},
		{"avg pairs", CFAverage, 2 * time.Minute, 2 * time.Minute, 0, []float64{2, 5, nan}},
		{"max pairs", CFMax, 2 * time.Minute, 2 * time.Minute, 0, []float64{3, 5, nan}},
		{"pixel rounds up to whole rows", CFAverage, 90 * time.Second, 2 * time.Minute, 0, []float64{2, 5, nan}},
		{"avg of known only, aligned to epoch", CFAverage, 4 * time.Minute, 4 * time.Minute, 0, []float64{3, nan}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reduce(base, tt.cf, tt.pixel)
			if got.Step != tt.step || got.Start.Unix() != tt.start {
				t.Fatalf("step %v start %d, want %v %d", got.Step, got.Start.Unix(), tt.step, tt.start)
			}
			col := got.Column("a")
			if len(col) != len(tt.want) {
				t.Fatalf("got %v, want %v", col, tt.want)
			}
			for i := range col {
				if !same(col[i], tt.want[i]) {
					t.Fatalf("got %v, want %v", col, tt.want)
				}
			}
		})
	}
	// A start that is not aligned: rows stamped 120..300 with k=2 groups (60,120], (120,240], (240,360].
	off := &Table{Start: time.Unix(60, 0), Step: time.Minute, DS: []string{"a"}, Rows: [][]float64{{2}, {4}, {6}, {8}}}
	got := Reduce(off, CFAverage, 2*time.Minute)
	if got.Start.Unix() != 0 || fmt.Sprint(got.Column("a")) != "[2 5 8]" {
		t.Errorf("unaligned: start %d %v", got.Start.Unix(), got.Column("a"))
	}
}

func TestPercentile(t *testing.T) {
	vals := make([]float64, 0, 101)
	for i := 100; i >= 0; i-- {
		vals = append(vals, float64(i))
	}
	vals = append(vals, nan, nan)
	for _, c := range []struct{ p, want float64 }{{95, 95}, {0, 0}, {100, 100}, {50, 50}} {
		if got := Percentile(vals, c.p); got != c.want {
			t.Errorf("Percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if !math.IsNaN(Percentile([]float64{nan}, 95)) {
		t.Error("percentile of nothing known is not NaN")
	}
}

func TestFormatSI(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{{0, "", "0"}, {1500, "bit/s", "1.5 kbit/s"}, {2.5e9, "bit/s", "2.5 Gbit/s"}, {0.00025, "s", "250 µs"}, {999.9, "", "1 k"}, {-3e6, "", "-3 M"}, {12, "", "12"}, {nan, "s", "-"}} {
		if got := FormatSI(c.v, c.unit); got != c.want {
			t.Errorf("FormatSI(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

// archive creates an interface-like archive with rrdtool: step 60, two
// days of one-minute AVERAGE and MAX rows, 30-minute rows for a month, a
// COUNTER in/out pair, and a 40-minute gap of unknown data.
func archive(t testing.TB, dir string, end int64) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs rrdtool: not in -short")
	}
	rrdtool := testbed.RequireTool(t, "rrdtool")
	path := filepath.Join(dir, "if.rrd")
	start := end - 2*86400
	out, err := exec.Command(rrdtool, "create", path, "--start", strconv.FormatInt(start-60, 10), "--step", "60",
		"DS:in_octets:COUNTER:120:0:U", "DS:out_octets:COUNTER:120:0:U",
		"RRA:AVERAGE:0.5:1:2880", "RRA:MAX:0.5:1:2880", "RRA:AVERAGE:0.5:30:1500", "RRA:MAX:0.5:30:1500").CombinedOutput()
	if err != nil {
		t.Fatalf("rrdtool create: %v %s", err, out)
	}
	var script bytes.Buffer
	var in, outC float64
	for ts := start; ts <= end; ts += 60 {
		i := (ts - start) / 60
		if i > 600 && i < 640 { // gap: no updates for 40 minutes (> heartbeat)
			continue
		}
		rate := 1e6 + 8e5*math.Sin(float64(i)/90)
		if i%97 == 0 {
			rate *= 6 // bursts the MAX archive must keep
		}
		in += rate * 60
		outC += rate * 60 / 3
		fmt.Fprintf(&script, "update %s %d:%d:%d\n", path, ts, int64(in), int64(outC))
	}
	cmd := exec.Command(rrdtool, "-")
	cmd.Stdin = &script
	if out, err := cmd.CombinedOutput(); err != nil || bytes.Contains(out, []byte("ERROR")) {
		t.Fatalf("rrdtool updates: %v %s", err, out[:min(len(out), 400)])
	}
	return path
}

func TestExportsEqualFetch(t *testing.T) {
	dir := t.TempDir()
	end := int64(1_700_000_000) / 60 * 60
	path := archive(t, dir, end)
	ctx := context.Background()
	src := Engine{} // the archive engine the collector serves from
	start := time.Unix(end-6*3600, 0)
	stop := time.Unix(end, 0)

	// Width 0: the export is exactly what the engine fetches.
	d, err := Load(ctx, src, Request{Path: path, Start: start, End: stop})
	if err != nil {
		t.Fatal(err)
	}
	avg, err := src.Fetch(ctx, path, CFAverage, start, stop, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mx, err := src.Fetch(ctx, path, CFMax, start, stop, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d.Step != time.Minute || len(d.Stamps) != len(avg.Rows) {
		t.Fatalf("step %v rows %d, fetch has %v %d", d.Step, len(d.Stamps), avg.Step, len(avg.Rows))
	}
	var csvBuf, jsonBuf bytes.Buffer
	if err := WriteCSV(&csvBuf, d); err != nil {
		t.Fatal(err)
	}
	if err := WriteXportJSON(&jsonBuf, d); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&csvBuf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"time", "in_octets AVERAGE", "in_octets MAX", "out_octets AVERAGE", "out_octets MAX"}; strings.Join(recs[0], "|") != strings.Join(want, "|") {
		t.Fatalf("csv header %v", recs[0])
	}
	var x Xport
	if err := json.Unmarshal(jsonBuf.Bytes(), &x); err != nil {
		t.Fatal(err)
	}
	if x.Meta.Step != 60 || x.Meta.Start != avg.Stamp(0).Unix() || x.Meta.End != avg.End().Unix() || len(x.Data) != len(avg.Rows) || len(x.Meta.Legend) != 4 {
		t.Fatalf("xport meta %+v rows %d", x.Meta, len(x.Data))
	}
	unknown := 0
	for i := range avg.Rows {
		want := []float64{avg.Rows[i][0], mx.Rows[i][0], avg.Rows[i][1], mx.Rows[i][1]}
		rec := recs[i+1]
		if rec[0] != strconv.FormatInt(avg.Stamp(i).Unix(), 10) {
			t.Fatalf("row %d time %s, want %d", i, rec[0], avg.Stamp(i).Unix())
		}
		for j, w := range want {
			cell := rec[j+1]
			jv := x.Data[i][j]
			if math.IsNaN(w) {
				unknown++
				if cell != "" || jv != nil {
					t.Fatalf("row %d col %d: unknown exported as %q / %v", i, j, cell, *jv)
				}
				continue
			}
			got, err := strconv.ParseFloat(cell, 64)
			if err != nil || got != w || jv == nil || *jv != w {
				t.Fatalf("row %d col %d: csv %q json %v, fetch %v", i, j, cell, jv, w)
			}
		}
	}
	if unknown == 0 {
		t.Error("the gap did not export as unknown")
	}

	// The xport JSON has rrdtool's keys: compare the key sets with rrdtool's own output.
	out, err := exec.Command("rrdtool", "xport", "--json", "--start", strconv.FormatInt(start.Unix(), 10), "--end", strconv.FormatInt(stop.Unix(), 10),
		"DEF:a="+path+":in_octets:AVERAGE", "XPORT:a:in").Output()
	if err != nil {
		t.Fatal(err)
	}
	var theirs, ours map[string]any
	if err := json.Unmarshal(out, &theirs); err != nil {
		t.Fatalf("rrdtool xport json: %v", err)
	}
	json.Unmarshal(jsonBuf.Bytes(), &ours)
	for k := range theirs {
		if _, ok := ours[k]; !ok {
			t.Errorf("our xport lacks key %q", k)
		}
	}
	for k := range theirs["meta"].(map[string]any) {
		if _, ok := ours["meta"].(map[string]any)[k]; !ok {
			t.Errorf("our xport meta lacks key %q", k)
		}
	}
}

// TestEngineAgreesWithRRDTool reads an rrdtool-made archive through both
// sources: the native engine must choose the same archive and return the
// same rows as rrdtool fetch.
func TestEngineAgreesWithRRDTool(t *testing.T) {
	dir := t.TempDir()
	end := int64(1_700_000_000) / 60 * 60
	path := archive(t, dir, end)
	ctx := context.Background()
	for _, c := range []struct {
		cf        string
		span, res time.Duration
	}{{CFAverage, 6 * time.Hour, time.Second}, {CFMax, 6 * time.Hour, time.Second}, {CFAverage, 7 * 24 * time.Hour, 30 * time.Minute}, {CFMax, 24 * time.Hour, 10 * time.Minute}} {
		start, stop := time.Unix(end, 0).Add(-c.span), time.Unix(end, 0)
		a, err := Engine{}.Fetch(ctx, path, c.cf, start, stop, c.res)
		if err != nil {
			t.Fatal(err)
		}
		b, err := RRDTool{}.Fetch(ctx, path, c.cf, start, stop, c.res)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Start.Equal(b.Start) || a.Step != b.Step || len(a.Rows) != len(b.Rows) {
			t.Fatalf("%+v: engine %v/%v/%d rows, rrdtool %v/%v/%d", c, a.Start, a.Step, len(a.Rows), b.Start, b.Step, len(b.Rows))
		}
		for i := range a.Rows {
			for j := range a.Rows[i] {
				if !same(a.Rows[i][j], b.Rows[i][j]) {
					t.Fatalf("%+v row %d ds %d: engine %v, rrdtool %v", c, i, j, a.Rows[i][j], b.Rows[i][j])
				}
			}
		}
	}
}

func TestReduceMatchesRRDToolXport(t *testing.T) {
	dir := t.TempDir()
	end := int64(1_700_000_000) / 60 * 60
	path := archive(t, dir, end)
	ctx := context.Background()
	start, stop := time.Unix(end-6*3600, 0), time.Unix(end, 0)
	// 360 one-minute rows onto 72 columns: groups of 5 rows.
	d, err := Load(ctx, RRDTool{}, Request{Path: path, Start: start, End: stop, Width: 72})
	if err != nil {
		t.Fatal(err)
	}
	if d.Step != 5*time.Minute {
		t.Fatalf("step %v", d.Step)
	}
	out, err := exec.Command("rrdtool", "xport", "--json", "--step", "300", "--start", strconv.FormatInt(start.Unix(), 10), "--end", strconv.FormatInt(stop.Unix(), 10),
		"DEF:a="+path+":in_octets:AVERAGE", "DEF:m="+path+":in_octets:MAX", "XPORT:a:avg", "XPORT:m:max").Output()
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		Meta struct{ Start, Step int64 }
		Data [][]*float64
	}
	if err := json.Unmarshal(out, &x); err != nil {
		t.Fatal(err)
	}
	if x.Meta.Step != 300 {
		t.Fatalf("rrdtool xport step %d", x.Meta.Step)
	}
	matched := 0
	for i, row := range x.Data {
		stamp := x.Meta.Start + int64(i)*x.Meta.Step
		j := -1
		for k, s := range d.Stamps {
			if s.Unix() == stamp {
				j = k
			}
		}
		// rrdtool marks the partial groups at both edges of the fetched
		// range unknown; Reduce consolidates the rows it has there.
		if j <= 0 || j == len(d.Stamps)-1 {
			continue
		}
		for c, series := range [][]float64{d.Series[0].Avg, d.Series[0].Max} {
			w := math.NaN()
			if row[c] != nil {
				w = *row[c]
			}
			if !same(series[j], w) && !(math.Abs(series[j]-w) <= 1e-6*math.Abs(w)) {
				t.Errorf("stamp %d col %d: ours %v, rrdtool %v", stamp, c, series[j], w)
			}
		}
		matched++
	}
	if matched < 60 {
		t.Errorf("only %d rows lined up with rrdtool's", matched)
	}
}

func TestRenderSizes(t *testing.T) {
	dir := t.TempDir()
	end := int64(1_700_000_000) / 60 * 60
	path := archive(t, dir, end)
	for _, size := range [][2]int{{800, 260}, {400, 150}, {1200, 400}} {
		for _, style := range []Style{StyleSteps, StyleLines} {
			d, err := Load(context.Background(), RRDTool{}, Request{Path: path, Start: time.Unix(end-86400, 0), End: time.Unix(end, 0),
				Width: size[0] - padLeft - padRight, Scale: 8, Unit: "bit/s", Title: "r1 ge-0/0/1"})
			if err != nil {
				t.Fatal(err)
			}
			var pb, sb bytes.Buffer
			o := Options{Width: size[0], Height: size[1], Style: style}
			if err := RenderPNG(&pb, d, o); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&pb)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != size[0] || b.Dy() != size[1] {
				t.Errorf("png %v, want %v", b, size)
			}
			if err := RenderSVG(&sb, d, o); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				XMLName xml.Name
				Width   int `xml:"width,attr"`
				Height  int `xml:"height,attr"`
				Paths   []struct {
					Class string `xml:"class,attr"`
					D     string `xml:"d,attr"`
				} `xml:"path"`
			}
			if err := xml.Unmarshal(sb.Bytes(), &doc); err != nil {
				t.Fatalf("svg does not parse: %v", err)
			}
			if doc.XMLName.Local != "svg" || doc.Width != size[0] || doc.Height != size[1] {
				t.Errorf("svg %s %dx%d, want %v", doc.XMLName.Local, doc.Width, doc.Height, size)
			}
			subpaths := 0
			for _, p := range doc.Paths {
				if p.Class == "avg" {
					subpaths = strings.Count(p.D, "M")
				}
			}
			// the 40-minute gap splits the in line in two (the day holds it only if it falls inside)
			if subpaths < 1 {
				t.Errorf("no AVERAGE line drawn")
			}
			if os.Getenv("OUTPOST_ARTIFACTS") != "" {
				name := fmt.Sprintf("graph-%dx%d-%d", size[0], size[1], style)
				pb.Reset()
				RenderPNG(&pb, d, o)
				os.WriteFile(filepath.Join(os.Getenv("OUTPOST_ARTIFACTS"), name+".png"), pb.Bytes(), 0o644)
				os.WriteFile(filepath.Join(os.Getenv("OUTPOST_ARTIFACTS"), name+".svg"), sb.Bytes(), 0o644)
			}
		}
	}
}

func TestGapsAreNotZero(t *testing.T) {
	d := &Data{Start: time.Unix(0, 0), Step: time.Minute, RangeStart: time.Unix(0, 0), RangeEnd: time.Unix(300, 0),
		Stamps: []time.Time{time.Unix(60, 0), time.Unix(120, 0), time.Unix(180, 0), time.Unix(240, 0), time.Unix(300, 0)},
		Series: []Series{{Name: "a", Avg: []float64{5, 6, nan, 8, 9}, P95: 9}}}
	f := newFrame(d, Options{Width: 400, Height: 200})
	runs := f.runs(d.Series[0].Avg, StyleSteps)
	if len(runs) != 2 || len(runs[0]) != 4 || len(runs[1]) != 4 {
		t.Fatalf("steps runs %v", runs)
	}
	if runs := f.runs(d.Series[0].Avg, StyleLines); len(runs) != 2 || len(runs[0]) != 2 {
		t.Fatalf("lines runs %v", runs)
	}
	c := ChartOf(d)
	if c.Series[0].Avg[2] != nil || *c.Series[0].Avg[3] != 8 {
		t.Errorf("chart json gap: %v", c.Series[0].Avg)
	}
}

func FuzzParseFetch(f *testing.F) {
	f.Add([]byte("                             in                 out\n\n1700000040: -nan -nan\n1700000100: 1.0000000000e+02 5.0000000000e+00\n"), int64(60))
	f.Add([]byte("a\n\n1: 1\n"), int64(0))
	f.Add([]byte("a b\n\n10: 1\n5: 2 3\n"), int64(1))
	f.Fuzz(func(t *testing.T, b []byte, step int64) {
		tab, err := ParseFetch(b, time.Duration(step))
		if err != nil {
			return
		}
		if tab.Step <= 0 || len(tab.Rows) == 0 {
			t.Fatalf("accepted a table with step %v and %d rows", tab.Step, len(tab.Rows))
		}
		for _, r := range tab.Rows {
			if len(r) != len(tab.DS) {
				t.Fatal("ragged row accepted")
			}
		}
	})
}

func TestParseTimeAndDefaultView(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		in   string
		want int64
	}{{"now", 1_700_000_000}, {"1699990000", 1_699_990_000}, {"-1d", 1_700_000_000 - 86400}, {"now-6h", 1_700_000_000 - 21600},
		{"-5m", 1_700_000_000 - 300}, {"-1mon", 1_700_000_000 - 30*86400}, {"2023-11-14T22:13:20Z", 1_700_000_000}} {
		got, err := ParseTime(c.in, now)
		if err != nil || got.Unix() != c.want {
			t.Errorf("ParseTime(%q) = %v, %v; want %d", c.in, got.Unix(), err, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-1x", "+1d"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
	if ds, k, u := DefaultView([]string{"in_octets", "out_octets", "in_errors"}); len(ds) != 2 || k != 8 || u != "bit/s" {
		t.Errorf("interface view %v %v %q", ds, k, u)
	}
	if ds, k, u := DefaultView([]string{"offset", "jitter"}); len(ds) != 2 || k != 1 || u != "s" {
		t.Errorf("ntp view %v %v %q", ds, k, u)
	}
	if ds, _, u := DefaultView([]string{"offset", "delay", "jitter", "reach"}); len(ds) != 3 || u != "s" {
		t.Errorf("ntp peer view %v %q", ds, u)
	}
	if ds, _, u := DefaultView([]string{"value"}); len(ds) != 1 || u != "" {
		t.Errorf("oid view %v %q", ds, u)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now", "-1d", "now-6h", "1700000000", "2023-11-14T22:13:20Z", "-99999999999y", "now-"} {
		f.Add(s)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, now)
		if err == nil && strings.HasPrefix(strings.TrimSpace(s), "-") && got.After(now) {
			t.Fatalf("relative %q went forward: %v", s, got)
		}
	})
}

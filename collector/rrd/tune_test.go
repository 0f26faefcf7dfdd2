package rrd

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestTuneMatchesRrdtool: Tune changes a file exactly as `rrdtool tune
// --minimum/--maximum` changes a copy of it (the same bytes), rrdtool reads
// the new limits with `rrdtool info`, and the updates that follow store a
// rate beyond the new maximum as unknown, as rrdtool's do.
func TestTuneMatchesRrdtool(t *testing.T) {
	testbed.RequireTool(t, "rrdtool")
	nan := math.NaN()
	cases := []struct {
		name   string
		limits []Limit
		args   []string // rrdtool tune arguments
	}{
		{"maximum", []Limit{{DS: "in", Max: true, Value: 1.25e8}}, []string{"--maximum", "in:1.25e8"}},
		{"minimum", []Limit{{DS: "load", Value: -5}}, []string{"--minimum", "load:-5"}},
		{"remove maximum", []Limit{{DS: "load", Max: true, Value: nan}}, []string{"--maximum", "load:U"}},
		{"both, several", []Limit{{DS: "in", Max: true, Value: 1e3}, {DS: "out", Max: true, Value: 2.5e9}, {DS: "out", Value: 1}},
			[]string{"--maximum", "in:1e3", "--maximum", "out:2.5e9", "--minimum", "out:1"}},
		{"maximum below minimum, as rrdtool allows", []Limit{{DS: "load", Max: true, Value: -1}}, []string{"--maximum", "load:-1"}},
	}
	start := time.Unix(1_800_000_000, 0)
	spec := Spec{Step: 60, Start: start, DS: []DS{
		{Name: "in", Type: "COUNTER", Heartbeat: 120, Min: 0, Max: nan},
		{Name: "out", Type: "COUNTER", Heartbeat: 120, Min: 0, Max: nan},
		{Name: "load", Type: "GAUGE", Heartbeat: 120, Min: 0, Max: 100},
	}, RRAs: []RRA{{CF: "AVERAGE", XFF: 0.5, Steps: 1, Rows: 20}, {CF: "MAX", XFF: 0.5, Steps: 1, Rows: 20}}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ours, theirs := filepath.Join(dir, "ours.rrd"), filepath.Join(dir, "theirs.rrd")
			if err := Create(ours, spec); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(ours)
			if err := os.WriteFile(theirs, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := Tune(ours, c.limits...); err != nil {
				t.Fatal(err)
			}
			if out, err := runRRDtool(t, append([]string{"tune", theirs}, c.args...)...); err != nil {
				t.Fatalf("rrdtool tune: %v %s", err, out)
			}
			a, _ := os.ReadFile(ours)
			b, _ = os.ReadFile(theirs)
			if !bytes.Equal(a, b) {
				t.Errorf("files differ after tune (first difference at byte %d)", firstDiff(a, b))
			}
			infoOurs, _ := runRRDtool(t, "info", ours)
			infoTheirs, _ := runRRDtool(t, "info", theirs)
			if strings.ReplaceAll(infoOurs, "ours.rrd", "") != strings.ReplaceAll(infoTheirs, "theirs.rrd", "") {
				t.Errorf("rrdtool info differs:\n%s\n---\n%s", infoOurs, infoTheirs)
			}
			// Updates after the tune: a step of 2e5 bytes/s passes a 1e3
			// maximum nowhere, 500 bytes/s does.
			var ups []Update
			var args []string
			for i, in := range []uint64{0, 30000, 12030000, 12060000, 12090000} {
				at := start.Add(time.Duration(60*(i+1)) * time.Second)
				ups = append(ups, Update{Time: at, Values: []Value{Uint(in), Uint(in * 2), Float(float64(i*40) - 3)}})
				args = append(args, fmt.Sprintf("%d:%d:%d:%g", at.Unix(), in, in*2, float64(i*40)-3))
			}
			if err := UpdateFile(ours, ups); err != nil {
				t.Fatal(err)
			}
			if out, err := runRRDtool(t, append([]string{"update", theirs}, args...)...); err != nil {
				t.Fatalf("rrdtool update: %v %s", err, out)
			}
			for _, cf := range []string{"AVERAGE", "MAX"} {
				fo, _ := runRRDtool(t, "fetch", ours, cf, "--start", fmt.Sprint(start.Unix()), "--end", fmt.Sprint(start.Unix()+360))
				ft, _ := runRRDtool(t, "fetch", theirs, cf, "--start", fmt.Sprint(start.Unix()), "--end", fmt.Sprint(start.Unix()+360))
				if fo != ft {
					t.Errorf("%s after tune and updates:\nours\n%s\nrrdtool\n%s", cf, fo, ft)
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestTuneErrors: an unknown data source changes nothing; a missing file
// is an error.
func TestTuneErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.rrd")
	if err := Create(p, Spec{Step: 60, Start: time.Unix(1_800_000_000, 0), DS: []DS{{Name: "in", Type: "COUNTER", Heartbeat: 120, Min: 0, Max: math.NaN()}},
		RRAs: []RRA{{CF: "AVERAGE", XFF: 0.5, Steps: 1, Rows: 5}}}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	err := Tune(p, Limit{DS: "in", Max: true, Value: 5}, Limit{DS: "zz", Max: true, Value: 1})
	if err == nil || !strings.Contains(err.Error(), "unknown data source name 'zz'") {
		t.Errorf("err %v", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Error("a failed tune changed the file")
	}
	if err := Tune(filepath.Join(dir, "missing.rrd"), Limit{DS: "in", Max: true, Value: 1}); err == nil {
		t.Error("tune of a missing file succeeded")
	}
	in, err := ReadInfo(p)
	if err != nil || !math.IsNaN(in.DS[0].Max) {
		t.Errorf("max %v, %v", in.DS[0].Max, err)
	}
	if err := Tune(p, Limit{DS: "in", Max: true, Value: 1.25e8}); err != nil {
		t.Fatal(err)
	}
	if in, _ := ReadInfo(p); in.DS[0].Max != 1.25e8 {
		t.Errorf("ReadInfo after Tune: max %v", in.DS[0].Max)
	}
}

// TestTuneWithCache: updates queued in the Cache before a Tune are
// flushed with the new limits, and the Cache keeps working after it.
func TestTuneWithCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.rrd")
	start := time.Unix(1_800_000_000, 0)
	if err := Create(p, Spec{Step: 60, Start: start, DS: []DS{{Name: "in", Type: "COUNTER", Heartbeat: 120, Min: 0, Max: math.NaN()}},
		RRAs: []RRA{{CF: "AVERAGE", XFF: 0.5, Steps: 1, Rows: 10}}}); err != nil {
		t.Fatal(err)
	}
	c := NewCache(CacheOptions{})
	defer c.Close(t.Context())
	for i, v := range []uint64{0, 6000, 12000 + 60*1e6} { // 100 B/s, then a 1e6 B/s spike
		if err := c.Update(p, start.Add(time.Duration(60*(i+1))*time.Second), []Value{Uint(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Tune(p, Limit{DS: "in", Max: true, Value: 1000}); err != nil {
		t.Fatal(err)
	}
	if err := c.FlushAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, err := c.Fetch(p, "AVERAGE", start.Add(60*time.Second), start.Add(180*time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	var vals []float64
	for _, row := range res.Rows {
		vals = append(vals, row[0])
	}
	// Rows for the steps ending at +120 s (100 B/s) and +180 s (the spike).
	if len(vals) < 2 || vals[0] != 100 || !math.IsNaN(vals[1]) {
		t.Errorf("rows %v: want 100 then unknown (the spike is over the tuned maximum)", vals)
	}
}

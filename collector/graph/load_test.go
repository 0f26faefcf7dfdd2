package graph

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/rrd"
)

// layoutArchive creates an archive of nds GAUGE data sources in the
// collector's default layout at a 10 s step (two days of 10 s rows, then
// 5 min, 30 min, 2 h, 1 day), updated for the hour before end.
func layoutArchive(t testing.TB, dir string, nds int, end time.Time) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("a%d.rrd", nds))
	var ds []rrd.DS
	for i := 0; i < nds; i++ {
		ds = append(ds, rrd.DS{Name: fmt.Sprintf("d%d", i), Type: rrd.Gauge, Heartbeat: 20, Min: math.NaN(), Max: math.NaN()})
	}
	start := end.Add(-time.Hour)
	if err := rrd.Create(path, rrd.Spec{Step: 10, Start: start, DS: ds, RRAs: rrd.DefaultLayout(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	var ups []rrd.Update
	for ts := start.Add(10 * time.Second); !ts.After(end); ts = ts.Add(10 * time.Second) {
		vals := make([]rrd.Value, nds)
		for i := range vals {
			vals[i] = rrd.Float(float64(ts.Unix()%600 + int64(i)))
		}
		ups = append(ups, rrd.Update{Time: ts, Values: vals})
	}
	if err := rrd.UpdateFile(path, ups); err != nil {
		t.Fatal(err)
	}
	return path
}

// countingSource records the resolutions Load asks for.
type countingSource struct {
	Source
	asked []time.Duration
}

func (c *countingSource) Fetch(ctx context.Context, path, cf string, start, end time.Time, res time.Duration) (*Table, error) {
	c.asked = append(c.asked, res)
	return c.Source.Fetch(ctx, path, cf, start, end, res)
}

// The requests of issue 22 item 3: an export (no width) from a day ago to
// a year ahead on a 10 s archive used to read the finest archive for the
// whole year (3.15 M rows). Load now asks for a resolution derived from the
// whole range and stays within MaxRows; an ordinary day's export is still
// at the archive's finest step.
func TestLoadStaysWithinTheRowBudget(t *testing.T) {
	end := time.Unix(1_700_000_000, 0).Truncate(time.Minute)
	path := layoutArchive(t, t.TempDir(), 12, end)
	ctx := context.Background()
	for _, c := range []struct {
		name       string
		start, end time.Time
		width      int
		wantStep   time.Duration // 0: any
	}{
		{"a day's export", end.Add(-24 * time.Hour), end, 0, 10 * time.Second},
		{"a day ago to a year ahead, export", end.Add(-24 * time.Hour), end.Add(365 * 24 * time.Hour), 0, 0},
		{"a day ago to a year ahead, chart", end.Add(-24 * time.Hour), end.Add(365 * 24 * time.Hour), 1000, 0},
		{"twenty years, export", end.Add(-20 * 365 * 24 * time.Hour), end, 0, 0},
	} {
		src := &countingSource{Source: Engine{}}
		d, err := Load(ctx, src, Request{Path: path, Start: c.start, End: c.end, Width: c.width, DS: []string{"d0", "d1"}})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(d.Stamps) > MaxRows || len(d.Series[0].Avg) != len(d.Stamps) {
			t.Errorf("%s: %d rows (at most %d)", c.name, len(d.Stamps), MaxRows)
		}
		if rows := c.end.Sub(c.start) / d.P95Step; rows > MaxRows {
			t.Errorf("%s: the percentile read %d rows at %v", c.name, rows, d.P95Step)
		}
		if c.wantStep != 0 && d.Step != c.wantStep {
			t.Errorf("%s: step %v, want %v", c.name, d.Step, c.wantStep)
		}
		for _, r := range src.asked {
			if r < c.end.Sub(c.start)/MaxRows {
				t.Errorf("%s: asked for a %v resolution, finer than the range allows", c.name, r)
			}
		}
	}
}

// An archive whose only resolution exceeds MaxValues for the range (1,100
// data sources x 2,000 rows) is refused with ErrTooLarge, not read; half
// the range is read.
func TestLoadTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wide.rrd")
	var ds []rrd.DS
	for i := 0; i < 1100; i++ {
		ds = append(ds, rrd.DS{Name: fmt.Sprintf("d%d", i), Type: rrd.Gauge, Heartbeat: 20, Min: math.NaN(), Max: math.NaN()})
	}
	end := time.Unix(1_700_000_000, 0)
	if err := rrd.Create(path, rrd.Spec{Step: 10, Start: end, DS: ds, RRAs: []rrd.RRA{{CF: rrd.Average, XFF: 0.5, Steps: 1, Rows: 2000}}}); err != nil {
		t.Fatal(err)
	}
	req := Request{Path: path, Start: end.Add(-19990 * time.Second), End: end, DS: []string{"d0"}}
	if _, err := Load(context.Background(), Engine{}, req); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("2,000 rows x 1,100 data sources: %v, want ErrTooLarge", err)
	}
	req.Start = end.Add(-10000 * time.Second)
	d, err := Load(context.Background(), Engine{}, req)
	if err != nil || len(d.Stamps) < 1000 || len(d.Stamps) > 1001 {
		t.Fatalf("1,000 rows x 1,100 data sources: %v", err)
	}
}

package rrd

import (
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"
)

// FetchBounded refuses an answer beyond its limits before reading it (also
// rows outside the archive, which Fetch pads with unknown values), and
// otherwise answers exactly what Fetch answers.
func TestFetchBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.rrd")
	start := time.Unix(1_700_000_000, 0)
	nan := math.NaN()
	if err := Create(path, Spec{Step: 10, Start: start, DS: []DS{{Name: "a", Type: Gauge, Heartbeat: 20, Min: nan, Max: nan}, {Name: "b", Type: Gauge, Heartbeat: 20, Min: nan, Max: nan}},
		RRAs: []RRA{{CF: Average, XFF: 0.5, Steps: 1, Rows: 100}, {CF: Average, XFF: 0.5, Steps: 60, Rows: 100}}}); err != nil {
		t.Fatal(err)
	}
	var ups []Update
	for i := int64(1); i <= 200; i++ {
		ups = append(ups, Update{Time: start.Add(time.Duration(i*10) * time.Second), Values: []Value{Float(float64(i)), Float(-float64(i))}})
	}
	if err := UpdateFile(path, ups); err != nil {
		t.Fatal(err)
	}
	end := start.Add(2000 * time.Second)
	// A year ahead at the 10 s step: 3.15 M rows, refused before anything is read.
	_, err := FetchBounded(path, Average, end.Add(-500*time.Second), end.Add(365*24*time.Hour), time.Second, FetchLimits{MaxRows: 100_000})
	if !errors.Is(err, ErrFetchTooLarge) {
		t.Fatalf("a year of 10 s rows: %v, want ErrFetchTooLarge", err)
	}
	if _, err := FetchBounded(path, Average, end.Add(-500*time.Second), end, time.Second, FetchLimits{MaxValues: 100}); !errors.Is(err, ErrFetchTooLarge) {
		t.Fatalf("51 rows x 2 values under a 100-value limit: %v", err)
	}
	want, err := Fetch(path, Average, end.Add(-500*time.Second), end, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := FetchBounded(path, Average, end.Add(-500*time.Second), end, time.Second, FetchLimits{MaxRows: 51, MaxValues: 102})
	if err != nil {
		t.Fatalf("within the limits: %v", err)
	}
	if got.Step != want.Step || !got.Start.Equal(want.Start) || len(got.Rows) != len(want.Rows) || len(got.Rows) != 51 {
		t.Fatalf("bounded %v %v %d rows, unbounded %v %v %d", got.Start, got.Step, len(got.Rows), want.Start, want.Step, len(want.Rows))
	}
	for i := range got.Rows {
		for j := range got.Rows[i] {
			if a, b := got.Rows[i][j], want.Rows[i][j]; a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Fatalf("row %d ds %d: %v, want %v", i, j, a, b)
			}
		}
	}
}

// Package graph turns round-robin archive data into what people look at:
// the JSON series of the interactive charts, PNG and SVG images, and CSV
// and xport-JSON exports. All of them go through the same two steps:
//
//  1. Fetch, choosing the archive the way rrdtool fetch does (the source
//     does this: the resolution asked for is the width of one pixel);
//  2. Reduce to the pixel grid, consolidating groups of whole archive rows
//     (average of the known values for AVERAGE, maximum for MAX, as
//     rrdtool graph's reduce step does).
//
// Invariants: unknown data stays NaN (JSON null, an empty CSV cell, a gap
// in a drawing) and is never turned into zero; a reduced row is known when
// any row it consolidates is known. The 95th percentile is always computed
// on the finest archive that covers the range, never on plotted bins.
package graph

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/rrd"
)

// What one fetch may materialise: MaxRows rows and MaxValues values (rows
// x data sources of the archive; 16 MiB of float64). Load keeps every
// request within them by asking for a coarser resolution; they bound the
// memory of any one graph or export, whatever range is asked for.
const (
	MaxRows   = 100_000
	MaxValues = 2 << 20
)

// ErrTooLarge is wrapped by a Source refusing a fetch beyond MaxRows or
// MaxValues, and by Load when even the coarsest resolution does not fit.
var ErrTooLarge = errors.New("more data than one request may read")

// Consolidation functions the graphs use.
const (
	CFAverage = "AVERAGE"
	CFMax     = "MAX"
)

// Table is data fetched from one archive. Row i covers the interval
// (Start+i*Step, Start+(i+1)*Step] and is stamped at its end; Rows[i][j]
// is the value of data source DS[j], NaN when unknown.
type Table struct {
	Start time.Time
	Step  time.Duration
	DS    []string
	Rows  [][]float64
}

// Stamp is the end time of row i.
func (t *Table) Stamp(i int) time.Time { return t.Start.Add(time.Duration(i+1) * t.Step) }

// End is the end of the last row.
func (t *Table) End() time.Time { return t.Stamp(len(t.Rows) - 1) }

// Column returns the values of data source ds, or nil when the table has none.
func (t *Table) Column(ds string) []float64 {
	j := slices.Index(t.DS, ds)
	if j < 0 {
		return nil
	}
	out := make([]float64, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = r[j]
	}
	return out
}

// Source fetches archive data, as `rrdtool fetch` does: it picks the
// archive of consolidation function cf whose resolution is closest to
// resolution among those reaching back to start (the finest such one when
// resolution is at most the archive step). It refuses an answer of more
// than MaxRows rows or MaxValues values with an error wrapping ErrTooLarge,
// before reading or allocating it.
type Source interface {
	Fetch(ctx context.Context, path, cf string, start, end time.Time, resolution time.Duration) (*Table, error)
}

// Reduce consolidates t so that no row is narrower than pixel: groups of
// k = ceil(pixel/Step) consecutive rows, aligned so each group ends on a
// multiple of k*Step since the epoch, become one row holding the average
// (cf AVERAGE) or the maximum (cf MAX) of their known values. A table
// already at least as coarse as pixel is returned unchanged. Unlike
// rrdtool graph, which marks the partial groups at both edges of the
// fetched range unknown, Reduce consolidates the rows those groups have,
// so the newest column of a live graph is not blank.
func Reduce(t *Table, cf string, pixel time.Duration) *Table {
	if t.Step <= 0 || pixel <= t.Step || len(t.Rows) == 0 {
		return t
	}
	k := int64((pixel + t.Step - 1) / t.Step)
	newStep := time.Duration(k) * t.Step
	ns := int64(newStep)
	// The first group ends at the first multiple of newStep at or after the first row's stamp.
	firstEnd := t.Stamp(0).UnixNano()
	if r := firstEnd % ns; r != 0 {
		firstEnd += ns - r
	}
	out := &Table{Start: time.Unix(0, firstEnd-ns), Step: newStep, DS: t.DS}
	nds := len(t.DS)
	sum := make([]float64, nds)
	cnt := make([]int, nds)
	groupEnd := firstEnd
	flush := func() {
		row := make([]float64, nds)
		for j := range row {
			switch {
			case cnt[j] == 0:
				row[j] = math.NaN()
			case cf == CFMax:
				row[j] = sum[j]
			default:
				row[j] = sum[j] / float64(cnt[j])
			}
			sum[j], cnt[j] = 0, 0
		}
		out.Rows = append(out.Rows, row)
	}
	for i, r := range t.Rows {
		stamp := t.Stamp(i).UnixNano()
		for stamp > groupEnd {
			flush()
			groupEnd += ns
		}
		for j, v := range r {
			if math.IsNaN(v) {
				continue
			}
			if cf == CFMax {
				if cnt[j] == 0 || v > sum[j] {
					sum[j] = v
				}
			} else {
				sum[j] += v
			}
			cnt[j]++
		}
	}
	flush()
	return out
}

// Percentile returns the p-th percentile (0-100) of the known values, as
// rrdtool's VDEF PERCENTNAN does (rrd.Percentile); NaN when none is known.
func Percentile(values []float64, p float64) float64 { return rrd.Percentile(values, p) }

// Request says what to draw or export.
type Request struct {
	Path  string    // archive path as the Source understands it
	Start time.Time // range start (exclusive, as rrdtool)
	End   time.Time // range end
	Width int       // pixel columns of the plot; 0: no reduction (exports at archive resolution)
	// DS selects and orders the data sources; nil means all of the archive.
	DS []string
	// Scale multiplies every value (8 turns octets per second into bits per second); 0 means 1.
	Scale float64
	Unit  string // unit label of the values ("bit/s", "s"...)
	Title string
}

// Series is one data source over the reduced grid.
type Series struct {
	Name string
	Avg  []float64 // AVERAGE per row (or AvgCF); NaN unknown
	// AvgCF names the consolidation Avg holds when it is not AVERAGE
	// (CFMax for a request that keeps only MAX); exports label it.
	AvgCF string
	Max   []float64 // MAX per row, nil when the archive has no MAX archive
	P95   float64   // 95th percentile of the finest AVERAGE archive covering the range; NaN unknown
}

// Data is what Load returns: series on a common time grid.
type Data struct {
	Start  time.Time     // start of the first row's interval
	Step   time.Duration // row width
	Stamps []time.Time   // end of each row
	Series []Series
	Unit   string
	Title  string
	// Range is the range asked for (the data may cover slightly more, whole rows).
	RangeStart, RangeEnd time.Time
	// P95Step is the step of the archive the percentiles were computed on.
	P95Step time.Duration
}

// Load fetches AVERAGE and MAX (when present) and the finest AVERAGE
// archive for the percentile, and reduces them to req.Width columns.
//
// The resolution asked of the source derives from the whole range, as
// rrdtool graph and xport derive their step (max(step, (end-start)/width)):
// one pixel, and at least (End-Start)/MaxRows (so also an export, Width
// 0, reads at most about MaxRows rows). A source may still choose a finer
// archive (the closest step, among those reaching back to Start); when its
// answer would exceed MaxRows or MaxValues it refuses, and Load asks again
// at twice the resolution. The error wraps ErrTooLarge only when even a
// resolution of the whole range does not fit (an archive with very many
// data sources).
func Load(ctx context.Context, src Source, req Request) (*Data, error) {
	if !req.End.After(req.Start) {
		return nil, fmt.Errorf("graph %s: end %v is not after start %v", req.Path, req.End, req.Start)
	}
	span := req.End.Sub(req.Start)
	pixel := time.Duration(0)
	if req.Width > 0 {
		pixel = span / time.Duration(req.Width)
	}
	floor := max(span/MaxRows, time.Second)
	avgT, res, err := fetchWithin(ctx, src, req, CFAverage, max(pixel, floor))
	if err != nil {
		return nil, err
	}
	avgT = Reduce(avgT, CFAverage, pixel)
	// A missing MAX archive is not an error: the graph draws AVERAGE only.
	maxT, _, err := fetchWithin(ctx, src, req, CFMax, res)
	if errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	if err != nil {
		maxT = nil
	} else {
		maxT = Reduce(maxT, CFMax, max(pixel, avgT.Step))
	}
	fine, _, err := fetchWithin(ctx, src, req, CFAverage, floor)
	if err != nil {
		return nil, fmt.Errorf("finest archive: %w", err)
	}
	names := req.DS
	if names == nil {
		names = avgT.DS
	}
	scale := req.Scale
	if scale == 0 {
		scale = 1
	}
	d := &Data{Start: avgT.Start, Step: avgT.Step, Unit: req.Unit, Title: req.Title,
		RangeStart: req.Start, RangeEnd: req.End, P95Step: fine.Step}
	d.Stamps = make([]time.Time, len(avgT.Rows))
	for i := range avgT.Rows {
		d.Stamps[i] = avgT.Stamp(i)
	}
	for _, name := range names {
		avg := avgT.Column(name)
		if avg == nil {
			return nil, fmt.Errorf("graph %s: no data source %q (have %v)", req.Path, name, avgT.DS)
		}
		s := Series{Name: name, Avg: scaled(avg, scale), P95: Percentile(fine.Column(name), 95) * scale}
		if maxT != nil {
			if col := maxT.Column(name); col != nil {
				s.Max = alignTo(maxT, col, d.Stamps, scale)
			}
		}
		d.Series = append(d.Series, s)
	}
	return d, nil
}

// fetchWithin fetches req's range from src at resolution res, doubling res
// while the source refuses the answer as too large, up to the whole range.
// It returns the table and the resolution it was fetched at.
func fetchWithin(ctx context.Context, src Source, req Request, cf string, res time.Duration) (*Table, time.Duration, error) {
	span := req.End.Sub(req.Start)
	for {
		t, err := src.Fetch(ctx, req.Path, cf, req.Start, req.End, res)
		if err == nil {
			return t, res, nil
		}
		if !errors.Is(err, ErrTooLarge) || res >= span {
			return nil, res, fmt.Errorf("graph %s %s: %w", req.Path, cf, err)
		}
		res = min(2*res, span)
	}
}

// scaled multiplies v by k in place (v is a column copy) and returns it.
func scaled(v []float64, k float64) []float64 {
	if k != 1 {
		for i := range v {
			v[i] *= k
		}
	}
	return v
}

// alignTo maps a column of table t onto stamps: each stamp takes the row
// of t whose interval contains it (NaN outside t).
func alignTo(t *Table, col []float64, stamps []time.Time, k float64) []float64 {
	out := make([]float64, len(stamps))
	for i, s := range stamps {
		// row r covers (Start+r*Step, Start+(r+1)*Step]
		d := s.Sub(t.Start)
		r := int((d+t.Step-1)/t.Step) - 1
		if d <= 0 || r < 0 || r >= len(col) {
			out[i] = math.NaN()
			continue
		}
		out[i] = col[r] * k
	}
	return out
}

var relTime = regexp.MustCompile(`^(now)?-(\d+)(s|min|m|h|d|w|mon|y)$`)

// ParseTime reads a time parameter: Unix seconds, RFC 3339, "now", or
// "-N<unit>" / "now-N<unit>" relative to now (units s, min, h, d, w, mon
// (30 d), y (365 d); "m" is minutes as in rrdtool's "-5m").
func ParseTime(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "now" {
		return now, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if m := relTime.FindStringSubmatch(v); m != nil {
		n, err := strconv.ParseInt(m[2], 10, 64)
		unit := map[string]time.Duration{"s": time.Second, "min": time.Minute, "m": time.Minute, "h": time.Hour,
			"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "mon": 30 * 24 * time.Hour, "y": 365 * 24 * time.Hour}[m[3]]
		// at most 200 years back, so the product cannot overflow
		if err != nil || n > int64(200*365*24*time.Hour/unit) {
			return time.Time{}, fmt.Errorf("time %q: too far back", v)
		}
		return now.Add(-time.Duration(n) * unit), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want Unix seconds, RFC 3339, now or -N[s|min|h|d|w|mon|y]", v)
}

// DefaultView picks what a graph of an attribute with these data sources
// draws: interface octet counters (in_octets and out_octets) in bits per
// second; else the data sources that are times (offset, jitter, delay,
// rtt) in seconds, when there are any (an NTP peer's reach or a host's
// reachable flag would flatten them); else every data source, unscaled.
func DefaultView(ds []string) (names []string, scale float64, unit string) {
	if slices.Contains(ds, "in_octets") && slices.Contains(ds, "out_octets") {
		return []string{"in_octets", "out_octets"}, 8, "bit/s"
	}
	var times []string
	for _, n := range ds {
		switch n {
		case "offset", "jitter", "delay", "rtt":
			times = append(times, n)
		}
	}
	if len(times) > 0 {
		return times, 1, "s"
	}
	return ds, 1, ""
}

package rrd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// FetchResult is the answer of Fetch: rows of the chosen archive between
// Start and End (both multiples of Step). Rows[i] covers the interval
// (Start+i*Step, Start+(i+1)*Step] and is stamped with its end, as rrdtool
// fetch prints it; each row has one value per DS in file order, NaN for
// unknown.
type FetchResult struct {
	Start, End time.Time
	Step       time.Duration
	DS         []string
	Rows       [][]float64
}

// ErrNoMatchingRRA is wrapped when no archive can answer the asked CF.
var ErrNoMatchingRRA = errors.New("the RRD does not contain an RRA matching the chosen CF")

// maxFetchValues bounds one fetch's answer (rows x data sources).
const maxFetchValues = 64 << 20

// ErrFetchTooLarge is wrapped by the fetch functions when the answer would
// hold more rows or values than the caller allows; nothing was read.
var ErrFetchTooLarge = errors.New("fetch too large")

// FetchLimits bound what one fetch may allocate. A zero field means the
// package's own bound (64 Mi values, no row bound of its own).
type FetchLimits struct {
	MaxRows   int64 // rows of the answer
	MaxValues int64 // rows x data sources
}

func fetchCF(cf string) bool { return isCF(cf) }

// chooseRRA picks the archive the way rrd_fetch_fn does: among the archives
// of the asked CF (and, when the CF is AVERAGE, MIN, MAX or LAST, every
// one-step archive of those four) those that reach back to start, the one
// whose step is closest to the resolution; if none reaches start, the one
// covering most of [start, end], ties to the closest step.
func chooseRRA(h *header, cf string, start, end int64, resolution int64) (int, error) {
	bestFull, bestPart := -1, -1
	var bestFullDiff, bestPartDiff, bestMatch int64
	for i, a := range h.rra {
		if !(a.cf == cf || (a.pdpCnt == 1 && fetchCF(cf))) {
			continue
		}
		rraStep := int64(h.step * a.pdpCnt)
		calEnd := h.lastUp - h.lastUp%rraStep
		calStart := calEnd - rraStep*int64(a.rows)
		diff := resolution - rraStep
		if diff < 0 {
			diff = -diff
		}
		if calStart <= start {
			if bestFull < 0 || diff < bestFullDiff {
				bestFull, bestFullDiff = i, diff
			}
		} else {
			match := (end - start) - (calStart - start)
			if bestPart < 0 || bestMatch < match || (bestMatch == match && diff < bestPartDiff) {
				bestPart, bestMatch, bestPartDiff = i, match, diff
			}
		}
	}
	switch {
	case bestFull >= 0:
		return bestFull, nil
	case bestPart >= 0:
		return bestPart, nil
	}
	return 0, ErrNoMatchingRRA
}

// Fetch reads consolidated data from the archive at path like `rrdtool
// fetch path CF --start S --end E --resolution R`: the archive is chosen as
// chooseRRA describes (resolution 0 means the finest), start is rounded
// down and end up to the archive's step (end moves a whole step when it is
// already aligned), and rows outside the archive are unknown. Times are
// taken in whole seconds.
func Fetch(path, cf string, start, end time.Time, resolution time.Duration) (*FetchResult, error) {
	return FetchBounded(path, cf, start, end, resolution, FetchLimits{})
}

// FetchBounded is Fetch that refuses an answer beyond lim before reading or
// allocating it, with an error wrapping ErrFetchTooLarge. The archive is
// chosen as Fetch chooses it; a caller that gets the error can ask again
// with a coarser resolution.
func FetchBounded(path, cf string, start, end time.Time, resolution time.Duration, lim FetchLimits) (*FetchResult, error) {
	f, h, err := openHeader(path)
	if err != nil {
		return nil, fmt.Errorf("fetch %w", err)
	}
	defer f.Close()
	res, err := fetchOpen(f, h, cf, start.Unix(), end.Unix(), int64(resolution/time.Second), lim)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", path, err)
	}
	return res, nil
}

func fetchOpen(f *os.File, h *header, cf string, start, end, resolution int64, lim FetchLimits) (*FetchResult, error) {
	if end < start {
		return nil, fmt.Errorf("start (%d) should be less than end (%d)", start, end)
	}
	if resolution < 1 {
		resolution = 1
	}
	ri, err := chooseRRA(h, cf, start, end, resolution)
	if err != nil {
		return nil, err
	}
	a := h.rra[ri]
	step := int64(h.step * a.pdpCnt)
	start -= start % step
	end += step - end%step
	nds := len(h.ds)
	n := (end - start) / step
	maxValues := int64(maxFetchValues)
	if lim.MaxValues > 0 {
		maxValues = min(maxValues, lim.MaxValues)
	}
	if n*int64(nds) > maxValues || (lim.MaxRows > 0 && n > lim.MaxRows) {
		return nil, fmt.Errorf("%w: %d rows x %d data sources at a %d s step", ErrFetchTooLarge, n, nds, step)
	}
	rraEnd := h.lastUp - h.lastUp%step
	rraStart := rraEnd - step*int64(a.rows-1)
	startOff := (start + step - rraStart) / step
	rows := int64(a.rows)
	// Read the archive's part that is needed, at most the whole ring.
	first, last := max(startOff, 0), min(startOff+n, rows)
	var ring []byte
	if first < last {
		ring = make([]byte, rows*int64(nds)*8)
		if _, err := f.ReadAt(ring, h.rraStart[ri]); err != nil {
			return nil, fmt.Errorf("read archive %d: %w", ri, err)
		}
	}
	out := &FetchResult{
		Start: time.Unix(start, 0), End: time.Unix(end, 0),
		Step: time.Duration(step) * time.Second,
		Rows: make([][]float64, n),
	}
	for _, d := range h.ds {
		out.DS = append(out.DS, d.name)
	}
	vals := make([]float64, n*int64(nds))
	for k := int64(0); k < n; k++ {
		row := vals[k*int64(nds) : (k+1)*int64(nds)]
		i := startOff + k
		if i < 0 || i >= rows {
			for d := range row {
				row[d] = unknownValue
			}
		} else {
			p := (int64(h.curRow[ri]) + 1 + i) % rows
			for d := range row {
				row[d] = math.Float64frombits(le.Uint64(ring[(p*int64(nds)+int64(d))*8:]))
			}
		}
		out.Rows[k] = row
	}
	return out, nil
}

// LastUpdate returns the time of the archive's last update (rrdtool last).
func LastUpdate(path string) (time.Time, error) {
	f, h, err := openHeader(path)
	if err != nil {
		return time.Time{}, fmt.Errorf("last %w", err)
	}
	f.Close()
	return time.Unix(h.lastUp, h.lastUsec*1000), nil
}

// First returns the time of the first row of archive rraIndex (rrdtool
// first --rraindex N): the oldest row the archive can hold given its last
// update.
func First(path string, rraIndex int) (time.Time, error) {
	f, h, err := openHeader(path)
	if err != nil {
		return time.Time{}, fmt.Errorf("first %w", err)
	}
	f.Close()
	if rraIndex < 0 || rraIndex >= len(h.rra) {
		return time.Time{}, fmt.Errorf("first %s: invalid rraindex number", path)
	}
	step := int64(h.step * h.rra[rraIndex].pdpCnt)
	t := h.lastUp - h.lastUp%step - int64(h.rra[rraIndex].rows-1)*step
	return time.Unix(t, 0), nil
}

// WriteText writes the result in `rrdtool fetch`'s output format: a line of
// DS names right-aligned in 20 columns after 11 spaces, an empty line, then
// "TIME: v v" with values as %0.10e and unknown as -nan.
func (r *FetchResult) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("           ")
	for _, n := range r.DS {
		fmt.Fprintf(bw, "%20s", n)
	}
	bw.WriteString("\n\n")
	step := int64(r.Step / time.Second)
	for i, row := range r.Rows {
		fmt.Fprintf(bw, "%10d:", r.Start.Unix()+int64(i+1)*step)
		for _, v := range row {
			bw.WriteByte(' ')
			bw.WriteString(CFormatE(v))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

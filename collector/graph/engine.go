package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/outpost-nms/outpost/collector/rrd"
)

// Engine is a Source over Outpost's own archive engine (collector/rrd).
// With Cache set it reads through the write-back cache, so updates still
// queued in memory are seen; without, it reads the files.
type Engine struct {
	Cache *rrd.Cache
}

// Fetch reads like `rrdtool fetch` (see rrd.Fetch) within MaxRows and
// MaxValues (rrd.FetchBounded: a larger answer is refused before it is
// read, with an error wrapping ErrTooLarge); ctx is checked before the
// read, which is not interruptible.
func (e Engine) Fetch(ctx context.Context, path, cf string, start, end time.Time, resolution time.Duration) (*Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var r *rrd.FetchResult
	var err error
	lim := rrd.FetchLimits{MaxRows: MaxRows, MaxValues: MaxValues}
	if e.Cache != nil {
		r, err = e.Cache.FetchBounded(path, cf, start, end, resolution, lim)
	} else {
		r, err = rrd.FetchBounded(path, cf, start, end, resolution, lim)
	}
	if errors.Is(err, rrd.ErrFetchTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	if err != nil {
		return nil, err
	}
	return &Table{Start: r.Start, Step: r.Step, DS: r.DS, Rows: r.Rows}, nil
}

package graph

import (
	"context"
	"time"

	"github.com/outpost-nms/outpost/collector/rrd"
)

// Engine is a Source over Outpost's own archive engine (collector/rrd).
// With Cache set it reads through the write-back cache, so updates still
// queued in memory are seen; without, it reads the files.
type Engine struct {
	Cache *rrd.Cache
}

// Fetch reads like `rrdtool fetch` (see rrd.Fetch); ctx is checked before
// the read, which is not interruptible.
func (e Engine) Fetch(ctx context.Context, path, cf string, start, end time.Time, resolution time.Duration) (*Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var r *rrd.FetchResult
	var err error
	if e.Cache != nil {
		r, err = e.Cache.Fetch(path, cf, start, end, resolution)
	} else {
		r, err = rrd.Fetch(path, cf, start, end, resolution)
	}
	if err != nil {
		return nil, err
	}
	return &Table{Start: r.Start, Step: r.Step, DS: r.DS, Rows: r.Rows}, nil
}

package rrd_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/outpost-nms/outpost/collector/rrd"
)

// An interface counter archive: create, feed through the write-back cache,
// read back.
func Example() {
	dir, _ := os.MkdirTemp("", "rrd-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ifInOctets.rrd")
	start := time.Unix(1_700_000_040, 0) // a multiple of the 60 s step
	err := rrd.Create(path, rrd.Spec{
		Step:  60,
		Start: start,
		DS:    []rrd.DS{{Name: "in", Type: rrd.Counter, Heartbeat: 120, Min: 0, Max: math.NaN()}},
		RRAs:  rrd.DefaultLayout(time.Minute),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := rrd.NewCache(rrd.CacheOptions{FlushInterval: time.Minute})
	for k := 1; k <= 5; k++ {
		// 6,000 octets a minute: 100 octets/s.
		c.Update(path, start.Add(time.Duration(k)*time.Minute), []rrd.Value{rrd.Uint(uint64(6000 * k))})
	}
	if err := c.Close(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	r, err := rrd.Fetch(path, rrd.Average, start, start.Add(5*time.Minute), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, row := range r.Rows {
		fmt.Println(r.Start.Add(time.Duration(i+1)*r.Step).Unix(), rrd.BitsPerSecond(row[0]))
	}
	// Output:
	// 1700000100 NaN
	// 1700000160 800
	// 1700000220 800
	// 1700000280 800
	// 1700000340 800
	// 1700000400 NaN
}

package rrd

import (
	"fmt"
	"math"
)

// Limit sets one limit of a data source, as `rrdtool tune --minimum DS:V`
// and `--maximum DS:V` do: a rate outside [min, max] is stored as unknown
// by the updates that follow. Value NaN removes the limit (rrdtool's "U").
// Like rrdtool tune, Tune does not check that the minimum stays below the
// maximum.
type Limit struct {
	DS    string
	Max   bool // true: the maximum; false: the minimum
	Value float64
}

// Offsets of ds_def.par[DS_min_val] and par[DS_max_val] in a DS definition.
const (
	dsMinOff = 48
	dsMaxOff = 56
)

// Tune changes data source limits of the archive at path, as `rrdtool
// tune --minimum/--maximum` do; nothing else of the file changes. It takes
// the writers' exclusive lock (so it waits for a flush of the Cache in
// progress, and the Cache's next flush reads the new limits: updates still
// queued then are applied with them), recovers a pending journal first,
// and makes the change durable (fsync) before it returns. Each limit is one
// aligned 8-byte write into the DS definitions, which the per-file journal
// never rewrites, so a crash leaves each limit old or new, never torn. An
// unknown data source name is an error and changes nothing.
func Tune(path string, limits ...Limit) error {
	w, err := openForWrite(path)
	if err != nil {
		return fmt.Errorf("tune %w", err)
	}
	defer w.close()
	type write struct {
		off int64
		v   float64
	}
	var writes []write
	for _, l := range limits {
		i := -1
		for k := range w.h.ds {
			if w.h.ds[k].name == l.DS {
				i = k
				break
			}
		}
		if i < 0 {
			return fmt.Errorf("tune %s: unknown data source name '%s'", path, l.DS)
		}
		off := int64(statHeadSize) + int64(i)*dsDefSize + dsMinOff
		if l.Max {
			off = int64(statHeadSize) + int64(i)*dsDefSize + dsMaxOff
		}
		v := l.Value
		if math.IsNaN(v) {
			v = unknownValue // rrdtool's DNAN
		}
		writes = append(writes, write{off, v})
	}
	var b [8]byte
	for _, wr := range writes {
		le.PutUint64(b[:], math.Float64bits(wr.v))
		if _, err := w.f.WriteAt(b[:], wr.off); err != nil {
			return fmt.Errorf("tune %s: %w", path, err)
		}
	}
	if len(writes) > 0 {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("tune %s: %w", path, err)
		}
	}
	return nil
}

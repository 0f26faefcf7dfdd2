package ingest

import (
	"math"

	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Data source limits follow the agent's description.
//
// An archive is created with the minimum and maximum of each data source as
// the agent described them then. Some limits change with the device: an
// interface's counters have a maximum derived from its speed (see
// agent/snmp), so a port that goes from 1 Gb/s to 10 Gb/s needs ten times
// the maximum, or its real traffic would be stored as unknown; a port whose
// speed becomes unknown needs none. Every inventory the agent sends
// (rediscovery, and NTP servers on every poll) is compared with the limits
// the archive has, and a difference is applied to the file with rrd.Tune
// (rrdtool tune --minimum/--maximum), logged with the old and new values.
// The archive's queued updates are flushed first, so the samples measured
// before the new description keep the old limits, and those of the batch
// that brings it (applied after its inventory) get the new ones.
// The limits each archive has are remembered after the first look (one
// header read per archive and collector start), so an unchanged
// description costs a map lookup.

// dsLimits are an archive's data source limits, by name.
type dsLimits map[string][2]float64 // min, max

// tuneLimits applies the agent's limits in want to the archive of st (it
// must exist: ensureArchive first). Data sources the file does not have
// are ignored. A failure is logged and counted; the next description
// tries again.
func (a *Applier) tuneLimits(st *archiveState, host, attr string, want []wire.DSDef) {
	if !st.have || len(want) == 0 {
		return
	}
	have, ok := a.limits[st.path]
	if !ok {
		info, err := rrd.ReadInfo(st.path)
		if err != nil {
			a.m.ApplyErrors.Inc()
			a.log.Error("read archive limits", "path", st.path, "err", err)
			return
		}
		have = dsLimits{}
		for _, d := range info.DS {
			have[d.Name] = [2]float64{d.Min, d.Max}
		}
		a.limits[st.path] = have
	}
	var changes []rrd.Limit
	for _, d := range want {
		cur, ok := have[d.Name]
		if !ok {
			continue
		}
		if !sameLimit(cur[0], d.Min) {
			changes = append(changes, rrd.Limit{DS: d.Name, Value: d.Min})
		}
		if !sameLimit(cur[1], d.Max) {
			changes = append(changes, rrd.Limit{DS: d.Name, Max: true, Value: d.Max})
		}
	}
	if len(changes) == 0 {
		return
	}
	// Updates queued before this description were measured under the old
	// limits: write them first (the cache would apply the file's limits
	// of flush time to them).
	if f, ok := a.archives.(interface{ Flush(path string) error }); ok {
		if err := f.Flush(st.path); err != nil {
			a.m.ApplyErrors.Inc()
			a.log.Error("flush archive before tuning its limits", "host", host, "attr", attr, "path", st.path, "err", err)
			return
		}
	}
	if err := rrd.Tune(st.path, changes...); err != nil {
		a.m.ApplyErrors.Inc()
		a.log.Error("tune archive limits", "host", host, "attr", attr, "path", st.path, "err", err)
		return
	}
	for _, c := range changes {
		lim := have[c.DS]
		old := lim[0]
		which := "min"
		if c.Max {
			old, which = lim[1], "max"
			lim[1] = c.Value
		} else {
			lim[0] = c.Value
		}
		have[c.DS] = lim
		a.log.Info("archive limit changed to the agent's description", "host", host, "attr", attr, "ds", c.DS,
			"limit", which, "old", old, "new", c.Value)
	}
}

// sameLimit compares two limits; NaN (no limit) equals NaN.
func sameLimit(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

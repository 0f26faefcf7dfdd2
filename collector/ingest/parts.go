package ingest

import (
	"time"

	"github.com/outpost-nms/outpost/shared/wire"
)

// A host inventory too large for one frame arrives in parts, in
// consecutive batches (wire.HostPart). The Applier remembers when a host's
// first part was applied; the last part (Complete) then marks gone every
// attribute of the host not upserted since, i.e. seen in none of the
// parts. If the sequence is broken (a part missing, dropped by the agent's
// spool; the collector restarted between parts and replayed only the
// later ones), the last part does not sweep: no attribute is marked gone
// on partial knowledge, and the next complete inventory sweeps.

// partState is a host inventory in progress.
type partState struct {
	start time.Time // when part 0 was applied
	next  uint32    // the part expected next
	count uint32
}

// maxPartsInProgress bounds the hosts tracked at once (a hostile agent
// could announce first parts forever).
const maxPartsInProgress = 100_000

// hostParts returns the hosts of rec to upsert (the last part of a broken
// sequence loses its Complete flag), the sweep times of completed
// sequences, and the time to apply them at (never before a sequence's
// start, so a clock stepping back cannot make an upserted attribute look
// older than the sweep).
func (a *Applier) hostParts(rec *Record, now time.Time) ([]wire.Host, map[string]time.Time, time.Time) {
	if len(rec.Parts) == 0 {
		return rec.Hosts, nil, now
	}
	var sweep map[string]time.Time
	broken := map[string]bool{}
	for _, p := range rec.Parts {
		st, ok := a.parts[p.Name]
		switch {
		case p.Index == 0:
			if len(a.parts) >= maxPartsInProgress {
				clear(a.parts)
			}
			a.parts[p.Name] = partState{start: now, next: 1, count: p.Count}
			continue
		case !ok || st.next != p.Index || st.count != p.Count:
			delete(a.parts, p.Name)
			broken[p.Name] = true
			continue
		}
		if st.start.After(now) {
			now = st.start
		}
		if p.Index == p.Count-1 {
			delete(a.parts, p.Name)
			if sweep == nil {
				sweep = map[string]time.Time{}
			}
			sweep[p.Name] = st.start
			continue
		}
		st.next++
		a.parts[p.Name] = st
	}
	hosts := rec.Hosts
	if len(broken) > 0 {
		hosts = append([]wire.Host(nil), rec.Hosts...)
		for i := range hosts {
			if broken[hosts[i].Name] && hosts[i].Complete {
				hosts[i].Complete = false
				a.log.Warn("inventory parts incomplete; attributes not marked gone until the next complete inventory",
					"agent", rec.Agent, "host", hosts[i].Name, "seq", rec.Seq)
			}
		}
	}
	return hosts, sweep, now
}

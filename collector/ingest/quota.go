package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Quotas bound what one agent can make the collector create (issue 22):
// without them one message of about 1 KB created a 99.5 MB archive, and a
// simulated device yielded 40,000 interfaces in under a second. The
// Applier enforces them on what is new (a host, an attribute, an archive)
// when it applies a record; what exceeds a quota is left out of the
// record, counted (outpost_collector_rejected_total{kind="quota"}) and
// recorded for the agent's row on the Agents page, while the rest of the
// record (the agent's other hosts and attributes) is applied. Existing
// hosts and attributes are never removed by a lower quota.
type Quotas struct {
	HostsPerAgent           int   // distinct hosts an agent may write
	AttributesPerHost       int   // attributes of one host (at most MaxAttributesPerHost)
	DataSourcesPerAttribute int   // data sources in one attribute's archive
	ArchiveBytesPerAttr     int64 // estimated size of one archive
	ArchiveBytesPerAgent    int64 // estimated size of all of an agent's archives
	EntitiesPerHost         int   // hardware entities kept per host (at most wire.MaxEntities)
	NeighborsPerHost        int   // neighbours kept per host (at most wire.MaxNeighbors)
}

// MaxAttributesPerHost is the highest AttributesPerHost allowed (a bound on
// one host's inventory in memory; the inventory binds a host's attribute
// list as one JSON array, so SQLite's variable limit does not apply).
const MaxAttributesPerHost = 1 << 20

// DefaultQuotas lets a real 10,000-interface device through with room to
// spare and stops runaway growth well before the disk fills.
func DefaultQuotas() Quotas {
	return Quotas{
		HostsPerAgent:           10_000,
		AttributesPerHost:       20_000,
		DataSourcesPerAttribute: 64,
		ArchiveBytesPerAttr:     64 << 20,
		ArchiveBytesPerAgent:    512 << 30,
		EntitiesPerHost:         wire.MaxEntities,
		NeighborsPerHost:        wire.MaxNeighbors,
	}
}

func (q *Quotas) fill() {
	d := DefaultQuotas()
	if q.HostsPerAgent <= 0 {
		q.HostsPerAgent = d.HostsPerAgent
	}
	if q.AttributesPerHost <= 0 || q.AttributesPerHost > MaxAttributesPerHost {
		q.AttributesPerHost = min(max(q.AttributesPerHost, 0), MaxAttributesPerHost)
		if q.AttributesPerHost == 0 {
			q.AttributesPerHost = d.AttributesPerHost
		}
	}
	if q.DataSourcesPerAttribute <= 0 {
		q.DataSourcesPerAttribute = d.DataSourcesPerAttribute
	}
	if q.ArchiveBytesPerAttr <= 0 {
		q.ArchiveBytesPerAttr = d.ArchiveBytesPerAttr
	}
	if q.ArchiveBytesPerAgent <= 0 {
		q.ArchiveBytesPerAgent = d.ArchiveBytesPerAgent
	}
	if q.EntitiesPerHost <= 0 || q.EntitiesPerHost > wire.MaxEntities {
		q.EntitiesPerHost = d.EntitiesPerHost
	}
	if q.NeighborsPerHost <= 0 || q.NeighborsPerHost > wire.MaxNeighbors {
		q.NeighborsPerHost = d.NeighborsPerHost
	}
}

// ArchiveBytes estimates the size of an archive of n data sources with the
// default layout for step (what ensureArchive creates).
func ArchiveBytes(step time.Duration, n int) int64 {
	if step < time.Second {
		step = time.Second
	}
	var rows int64
	rras := rrd.DefaultLayout(step)
	for _, r := range rras {
		rows += int64(r.Rows)
	}
	// header: static + per DS (def, pdp prep) + per RRA (def, cdp prep per DS, pointer)
	head := int64(1024) + int64(n)*(120+112) + int64(len(rras))*(120+8+int64(n)*80)
	return head + rows*int64(n)*8
}

// quotaState is what the Applier knows of each agent's usage; loaded from
// the inventory the first time an agent's record needs it.
type quotaState struct {
	hosts map[string]bool // the agent's hosts
	bytes int64           // estimated archive bytes
	attrs map[string]int  // attributes per host (of this agent), counted when first needed
	seen  map[[2]string]struct{}
}

// remember notes an attribute known to exist, so it is not looked up again.
func (st *quotaState) remember(host, attr string) {
	if len(st.seen) >= 1<<20 {
		clear(st.seen) // bounded; lookups resume
	}
	st.seen[[2]string{host, attr}] = struct{}{}
}

// screenQuotas removes from rec what is new and over a quota and records
// the refusals in rec.Refusals. Only the applying goroutine calls it.
func (a *Applier) screenQuotas(ctx context.Context, rec *Record) {
	q := a.cfg.Quotas
	st, err := a.quotaOf(ctx, rec.Agent)
	if err != nil {
		a.log.Warn("quota state unavailable; record applied without quota checks", "agent", rec.Agent, "err", err)
		return
	}
	var refused []Refusal
	refuse := func(unit string, n int, format string, args ...any) {
		refused = refuseIn(refused, wire.RejectQuota, unit, uint64(n), fmt.Sprintf(format, args...))
	}

	// Hosts per agent.
	over := map[string]bool{}
	checkHost := func(h string) bool {
		if h == "" || st.hosts[h] {
			return true
		}
		if over[h] {
			return false
		}
		if len(st.hosts) >= q.HostsPerAgent {
			over[h] = true
			return false
		}
		st.hosts[h] = true
		return true
	}
	for _, h := range rec.HostNames() {
		checkHost(h)
	}
	if len(over) > 0 {
		var first string
		for h := range over {
			if first == "" || h < first {
				first = h
			}
		}
		screenHosts(rec, func(h string) bool { return !over[h] }, rec.Agent)
		// screenHosts named them "host" refusals; they are quota refusals.
		kept := rec.Refusals[:0]
		for _, r := range rec.Refusals {
			if r.Kind == wire.RejectHost {
				refused = refuseIn(refused, wire.RejectQuota, r.Unit, r.Count,
					fmt.Sprintf("agent %s already writes %d hosts (quotas.hosts_per_agent): host %q refused", rec.Agent, q.HostsPerAgent, first))
				continue
			}
			kept = append(kept, r)
		}
		rec.Refusals = kept
	}

	// Attributes: data sources, archive size, attributes per host, agent bytes.
	type key struct{ host, attr string }
	decided := map[key]bool{} // new attribute → accepted
	newAttr := func(host, attr string, step time.Duration, nDS int) bool {
		k := key{host, attr}
		if ok, seen := decided[k]; seen {
			return ok
		}
		if _, ok := st.seen[[2]string{host, attr}]; ok || a.specs[[2]string{host, attr}] != nil || a.attrExists(ctx, host, attr) {
			st.remember(host, attr)
			decided[k] = true
			return true
		}
		ok := false
		size := ArchiveBytes(step, nDS)
		n, err := a.attrCount(ctx, st, host)
		switch {
		case err != nil:
			a.log.Warn("count attributes", "host", host, "err", err)
			ok = true
		case nDS > q.DataSourcesPerAttribute:
			refuse("attribute", 1, "%s/%s has %d data sources (quotas.data_sources_per_attribute %d)", host, attr, nDS, q.DataSourcesPerAttribute)
		case a.archives != nil && size > q.ArchiveBytesPerAttr:
			refuse("attribute", 1, "%s/%s would need an archive of %s (quotas.archive_bytes_per_attribute %s)", host, attr, sizeText(size), sizeText(q.ArchiveBytesPerAttr))
		case n >= q.AttributesPerHost:
			refuse("attribute", 1, "host %s already has %d attributes (quotas.attributes_per_host)", host, q.AttributesPerHost)
		case a.archives != nil && st.bytes+size > q.ArchiveBytesPerAgent:
			refuse("attribute", 1, "agent %s's archives would exceed %s (quotas.archive_bytes_per_agent)", rec.Agent, sizeText(q.ArchiveBytesPerAgent))
		default:
			ok = true
			st.attrs[host] = n + 1
			st.bytes += size
			st.remember(host, attr)
		}
		decided[k] = ok
		return ok
	}
	for i := range rec.Hosts {
		h := &rec.Hosts[i]
		kept := h.Attrs[:0]
		for _, at := range h.Attrs {
			if newAttr(h.Name, at.Key, time.Duration(at.Interval)*time.Second, len(at.DS)) {
				kept = append(kept, at)
			}
		}
		h.Attrs = kept
	}
	keptU := rec.Updates[:0]
	for _, u := range rec.Updates {
		if !newAttr(u.Host, u.Attr, a.cfg.DefaultInterval, len(u.Values)) {
			refused = refuseIn(refused, wire.RejectQuota, UnitSample, uint64(len(u.Values)), "samples of an attribute refused by a quota")
			continue
		}
		keptU = append(keptU, u)
	}
	rec.Updates = keptU
	keptS := rec.Statuses[:0]
	for _, s := range rec.Statuses {
		if !newAttr(s.Host, s.Attr, a.cfg.DefaultInterval, 1) {
			refused = refuseIn(refused, wire.RejectQuota, UnitStatus, 1, "status of an attribute refused by a quota")
			continue
		}
		keptS = append(keptS, s)
	}
	rec.Statuses = keptS
	for i := range rec.Devices {
		f := &rec.Devices[i]
		if n := len(f.Entities) - q.EntitiesPerHost; n > 0 {
			refuse("entity", n, "host %s reports %d hardware entities (quotas.entities_per_host %d)", f.Host, len(f.Entities), q.EntitiesPerHost)
			f.Entities = f.Entities[:q.EntitiesPerHost]
		}
		if n := len(f.Neighbors) - q.NeighborsPerHost; n > 0 {
			refuse("neighbor", n, "host %s reports %d neighbours (quotas.neighbors_per_host %d)", f.Host, len(f.Neighbors), q.NeighborsPerHost)
			f.Neighbors = f.Neighbors[:q.NeighborsPerHost]
		}
	}
	if len(refused) > 0 {
		for _, r := range refused {
			a.m.Rejected.WithLabelValues(r.Kind, r.Unit).Add(float64(r.Count))
		}
		a.recordRefusals(ctx, &Record{Agent: rec.Agent, Received: rec.Received, Refusals: refused})
		if ok, quiet := a.quotaLog.allow(rec.Agent, wire.RejectQuota, a.cfg.Now()); ok {
			a.log.Warn("refused by a quota", "agent", rec.Agent, "seq", rec.Seq, "reason", refused[0].Reason, "not_logged_since_last", quiet)
		}
	}
}

// quotaOf returns the agent's usage, loading it on first use.
func (a *Applier) quotaOf(ctx context.Context, agent string) (*quotaState, error) {
	if st := a.quota[agent]; st != nil {
		return st, nil
	}
	st := &quotaState{hosts: map[string]bool{}, attrs: map[string]int{}, seen: map[[2]string]struct{}{}}
	rows, err := a.db.Reader().QueryContext(ctx, `SELECT h.name, a.interval_s, a.ds FROM hosts h LEFT JOIN attributes a ON a.host_id = h.id WHERE h.agent = ?`, agent)
	if err != nil {
		return nil, fmt.Errorf("quota usage of agent %s: %w", agent, err)
	}
	defer rows.Close()
	for rows.Next() {
		var host string
		var interval sql.NullInt64
		var ds sql.NullString
		if err := rows.Scan(&host, &interval, &ds); err != nil {
			return nil, fmt.Errorf("quota usage of agent %s: %w", agent, err)
		}
		st.hosts[host] = true
		if ds.Valid {
			var list []inventory.DSInfo
			_ = json.Unmarshal([]byte(ds.String), &list)
			st.bytes += ArchiveBytes(time.Duration(interval.Int64)*time.Second, len(list))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("quota usage of agent %s: %w", agent, err)
	}
	if len(a.quota) > 100_000 {
		clear(a.quota)
	}
	a.quota[agent] = st
	return st, nil
}

// attrCount returns how many attributes host has (cached per agent).
func (a *Applier) attrCount(ctx context.Context, st *quotaState, host string) (int, error) {
	if n, ok := st.attrs[host]; ok {
		return n, nil
	}
	var n int
	err := a.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = ?`, host).Scan(&n)
	if err != nil {
		return 0, err
	}
	st.attrs[host] = n
	return n, nil
}

// attrExists reports whether the inventory has the attribute.
func (a *Applier) attrExists(ctx context.Context, host, attr string) bool {
	var one int
	err := a.db.Reader().QueryRowContext(ctx, `SELECT 1 FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = ? AND a.key = ?`, host, attr).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		a.log.Warn("look up attribute", "host", host, "attr", attr, "err", err)
	}
	return err == nil
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

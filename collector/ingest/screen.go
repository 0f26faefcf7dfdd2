package ingest

import (
	"fmt"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/wire"
)

// This file holds what makes one bad frame unable to wedge an agent's
// stream (issue 15): every string an agent sends is cleaned as the agent
// itself would have cleaned it (so spools written before the agent cleaned
// device strings drain, showing `\xff` where a device sent byte 0xff), and
// what still cannot be used is refused for good (recorded in the journal,
// counted, answered with wire.Reject) instead of ending the session, which
// made the agent resend the same frame forever.

// Refusal is a part of a batch the collector refused for good. Records
// carry them (Record.Refusals) so the refusal is durable with the batch:
// the Applier counts it in the inventory (agent_refusals) when it applies
// the record.
type Refusal struct {
	Kind   string `cbor:"1,keyasint"`           // wire.Reject* kind
	Unit   string `cbor:"2,keyasint"`           // what Count counts: "batch", "sample", "status", "host", "trap"
	Count  uint64 `cbor:"3,keyasint"`           // how many
	Reason string `cbor:"4,keyasint,omitempty"` // the first reason (cleaned; may quote device strings)
	// Ahead is, for clock-skew refusals, how far (milliseconds) the
	// furthest refused sample was ahead of the collector's clock.
	Ahead int64 `cbor:"5,keyasint,omitempty"`
}

// Units of Refusal.Count.
const (
	UnitBatch  = "batch"
	UnitSample = "sample"
	UnitStatus = "status"
	UnitHost   = "host"
	UnitTrap   = "trap"
)

// refuseIn adds n units of kind to refusals, keeping the first reason.
func refuseIn(refusals []Refusal, kind, unit string, n uint64, reason string) []Refusal {
	if n == 0 {
		return refusals
	}
	for i := range refusals {
		if refusals[i].Kind == kind && refusals[i].Unit == unit {
			refusals[i].Count += n
			return refusals
		}
	}
	return append(refusals, Refusal{Kind: kind, Unit: unit, Count: n, Reason: safetext.Line(reason, safetext.MaxText)})
}

// inventoryKind maps a refusal kind to the inventory's.
func inventoryKind(kind string) inventory.RefusalKind { return inventory.RefusalKind(kind) }

// Cleaning bounds. Keys and names are cleaned as lines with room for what
// agents send (cleaning is the identity on text already clean within the
// bound, so keys an agent cleaned itself stay the same); free text keeps
// its line feeds.
const (
	cleanKey  = safetext.MaxText
	cleanText = 4 * safetext.MaxText
)

func line(s string) string { return safetext.Line(s, cleanKey) }
func text(s string) string { return safetext.Text(s, cleanText) }

// cleanDef cleans a series definition's names.
func cleanDef(d *wire.SeriesDef) {
	d.Host, d.Attr, d.DS = line(d.Host), line(d.Attr), line(d.DS)
}

// cleanBatch cleans every string of a decoded batch in place.
func cleanBatch(b *wire.Batch) {
	for i := range b.Statuses {
		s := &b.Statuses[i]
		s.Host, s.Attr, s.Reason = line(s.Host), line(s.Attr), text(s.Reason)
	}
	for i := range b.Hosts {
		h := &b.Hosts[i]
		h.Name, h.Address, h.SysName, h.SysObjectID = line(h.Name), line(h.Address), line(h.SysName), line(h.SysObjectID)
		h.SysDescr, h.Location, h.Contact = text(h.SysDescr), line(h.Location), line(h.Contact)
		for j := range h.Attrs {
			a := &h.Attrs[j]
			a.Key, a.Kind, a.Name, a.Descr = line(a.Key), line(a.Kind), line(a.Name), text(a.Descr)
			if len(a.Props) > 0 {
				props := make(map[string]string, len(a.Props))
				for k, v := range a.Props {
					props[line(k)] = line(v)
				}
				a.Props = props
			}
			for k := range a.DS {
				a.DS[k].Name = line(a.DS[k].Name)
			}
		}
	}
	for i := range b.Parts {
		b.Parts[i].Name = line(b.Parts[i].Name)
	}
	for i := range b.Devices {
		cleanFacts(&b.Devices[i])
	}
	for i := range b.Traps {
		t := &b.Traps[i]
		t.Host, t.Source, t.From = line(t.Host), line(t.Source), line(t.From)
		t.OID, t.User, t.Enterprise = line(t.OID), line(t.User), line(t.Enterprise)
		for j := range t.VarBinds {
			v := &t.VarBinds[j]
			v.OID, v.Value = line(v.OID), text(v.Value)
		}
	}
}

// cleanFacts cleans a host's device facts. Device strings are names: one
// line each, at most safetext.MaxName bytes (what the agent sends).
func cleanFacts(f *wire.DeviceFacts) {
	name := func(s *string) { *s = safetext.Line(*s, safetext.MaxName) }
	f.Host = line(f.Host)
	for i := range f.Entities {
		e := &f.Entities[i]
		for _, s := range []*string{&e.Class, &e.Descr, &e.Name, &e.Model, &e.Serial, &e.HardwareRev, &e.FirmwareRev, &e.SoftwareRev, &e.Vendor} {
			name(s)
		}
	}
	for i := range f.Neighbors {
		n := &f.Neighbors[i]
		for _, s := range []*string{&n.LocalPort, &n.ChassisID, &n.SysName, &n.PortID, &n.PortDescr, &n.Platform, &n.MgmtAddr} {
			name(s)
		}
	}
	for i := range f.ChassisIDs {
		name(&f.ChassisIDs[i])
	}
	for i := range f.MgmtAddrs {
		name(&f.MgmtAddrs[i])
	}
}

// screenHosts removes from rec what names a host the agent may not write
// and returns the refusals: the rest of the batch (the agent's other
// hosts) is kept.
func screenHosts(rec *Record, may func(host string) bool, agent string) {
	cache := map[string]bool{}
	ok := func(h string) bool {
		v, seen := cache[h]
		if !seen {
			v = may(h)
			cache[h] = v
		}
		return v
	}
	var first string
	note := func(h string) {
		if first == "" {
			first = h
		}
	}
	var samples, statuses, hosts, traps uint64
	rec.Updates = drop(rec.Updates, func(u AttrUpdate) bool {
		if ok(u.Host) {
			return false
		}
		note(u.Host)
		samples += uint64(len(u.Values))
		return true
	})
	rec.Statuses = drop(rec.Statuses, func(s wire.AttrStatus) bool {
		if ok(s.Host) {
			return false
		}
		note(s.Host)
		statuses++
		return true
	})
	rec.Hosts = drop(rec.Hosts, func(h wire.Host) bool {
		if ok(h.Name) {
			return false
		}
		note(h.Name)
		hosts++
		return true
	})
	rec.Devices = drop(rec.Devices, func(f wire.DeviceFacts) bool {
		if ok(f.Host) {
			return false
		}
		note(f.Host)
		hosts++
		return true
	})
	rec.Traps = drop(rec.Traps, func(t wire.Trap) bool {
		if t.Host == "" || ok(t.Host) {
			return false
		}
		note(t.Host)
		traps++
		return true
	})
	if first == "" {
		return
	}
	reason := fmt.Sprintf("batch %d names host %q, which agent %s is not assigned", rec.Seq, first, agent)
	rec.Refusals = refuseIn(rec.Refusals, wire.RejectHost, UnitSample, samples, reason)
	rec.Refusals = refuseIn(rec.Refusals, wire.RejectHost, UnitStatus, statuses, reason)
	rec.Refusals = refuseIn(rec.Refusals, wire.RejectHost, UnitHost, hosts, reason)
	rec.Refusals = refuseIn(rec.Refusals, wire.RejectHost, UnitTrap, traps, reason)
}

// screenClock removes samples and statuses timed more than maxAhead after
// the collector's clock (now): one sample a hundred years ahead would
// otherwise move an archive's last update there and freeze it.
func screenClock(rec *Record, now time.Time, maxAhead time.Duration) {
	if maxAhead <= 0 {
		return
	}
	limit := now.Add(maxAhead).UnixMilli()
	var samples, statuses uint64
	var ahead int64
	rec.Updates = drop(rec.Updates, func(u AttrUpdate) bool {
		if u.Time <= limit {
			return false
		}
		samples += uint64(len(u.Values))
		ahead = max(ahead, u.Time-now.UnixMilli())
		return true
	})
	rec.Statuses = drop(rec.Statuses, func(s wire.AttrStatus) bool {
		if s.Time <= limit {
			return false
		}
		statuses++
		ahead = max(ahead, s.Time-now.UnixMilli())
		return true
	})
	if samples+statuses == 0 {
		return
	}
	reason := fmt.Sprintf("batch %d: timestamps up to %s ahead of the collector's clock (limit %s): the agent's clock is wrong",
		rec.Seq, (time.Duration(ahead) * time.Millisecond).Round(time.Second), maxAhead)
	for _, u := range []struct {
		unit string
		n    uint64
	}{{UnitSample, samples}, {UnitStatus, statuses}} {
		rec.Refusals = refuseIn(rec.Refusals, wire.RejectClockSkew, u.unit, u.n, reason)
		if u.n > 0 {
			rec.Refusals[len(rec.Refusals)-1].Ahead = max(rec.Refusals[len(rec.Refusals)-1].Ahead, ahead)
		}
	}
}

// rejectLog logs refusals at most once per interval per agent and kind,
// saying how many were not logged meanwhile: a hostile or broken agent
// cannot flood the log.
type rejectLog struct {
	every time.Duration
	mu    sync.Mutex
	last  map[[2]string]time.Time
	quiet map[[2]string]uint64
}

func newRejectLog(every time.Duration) *rejectLog {
	return &rejectLog{every: every, last: map[[2]string]time.Time{}, quiet: map[[2]string]uint64{}}
}

// allow reports whether a refusal of kind by agent is logged now, and how
// many were suppressed since the last one logged.
func (l *rejectLog) allow(agent, kind string, now time.Time) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{agent, kind}
	if t, ok := l.last[k]; ok && now.Sub(t) < l.every {
		l.quiet[k]++
		return false, 0
	}
	if len(l.last) > 4096 { // bounded: forget everything rather than grow
		clear(l.last)
		clear(l.quiet)
	}
	l.last[k] = now
	n := l.quiet[k]
	delete(l.quiet, k)
	return true, n
}

// drop removes in place the elements for which refused is true.
func drop[T any](s []T, refused func(T) bool) []T {
	kept := s[:0]
	for _, x := range s {
		if !refused(x) {
			kept = append(kept, x)
		}
	}
	return kept
}

// Package latest keeps the last two readings of each attribute's data
// sources in memory, for alert rules that compare values and rates with
// thresholds without reading archives.
//
// The ingest Applier calls Observe for every attribute update it applies;
// the alerting engine asks for the attributes its rules select with Ensure
// and reads them with Entry.Read. Memory is bounded: the table holds at
// most its limit of attributes (new ones beyond it are refused and
// counted), each with at most MaxDS data sources, and only the data
// sources named in the wanted set (what the rules read) are kept.
package latest

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outpost-nms/outpost/shared/sample"
)

// DefaultLimit is the default number of attributes a Table holds.
const DefaultLimit = 4 << 20

// MaxDS bounds the data sources kept per attribute.
const MaxDS = 16

// Value is one data source's reading as ingest applies it.
type Value struct {
	DS    string
	Kind  sample.Kind
	Uint  uint64  // integer kinds
	Float float64 // Gauge, Derive
	Reset bool    // a discontinuity: no rate across it
}

// Reading is what Read returns for one data source.
type Reading struct {
	Value float64 // the last reading (a counter's raw value)
	Rate  float64 // per second from the previous reading; NaN without one
}

type point struct {
	name  string
	kind  sample.Kind
	cur   float64
	prev  float64
	curU  uint64
	prevU uint64
	rate  float64
}

// Entry is one attribute's latest readings. Safe for concurrent use.
type Entry struct {
	mu  sync.Mutex
	t   int64 // Unix ms of the last reading; 0: none yet
	pts []point
}

// Read returns the reading of data source ds and when it was taken; ok is
// false when the attribute has no reading of ds.
func (e *Entry) Read(ds string) (r Reading, at time.Time, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.pts {
		if e.pts[i].name == ds {
			return Reading{Value: e.pts[i].cur, Rate: e.pts[i].rate}, time.UnixMilli(e.t), true
		}
	}
	return Reading{Rate: math.NaN()}, time.Time{}, false
}

// Sample is one data source's reading in a Snapshot.
type Sample struct {
	DS string
	Reading
}

// Snapshot appends the attribute's readings to buf[:0] under one lock and
// returns them with the time of the last reading (zero: none yet).
func (e *Entry) Snapshot(buf []Sample) ([]Sample, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	buf = buf[:0]
	for i := range e.pts {
		buf = append(buf, Sample{DS: e.pts[i].name, Reading: Reading{Value: e.pts[i].cur, Rate: e.pts[i].rate}})
	}
	if e.t == 0 {
		return buf, time.Time{}
	}
	return buf, time.UnixMilli(e.t)
}

// Last returns when the attribute last had a reading (zero: never since
// the collector started).
func (e *Entry) Last() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.t == 0 {
		return time.Time{}
	}
	return time.UnixMilli(e.t)
}

type key struct{ host, attr string }

// Table is the latest readings by attribute. The zero value is not
// usable; create with New.
type Table struct {
	limit   int
	mu      sync.RWMutex
	m       map[key]*Entry
	wanted  atomic.Pointer[map[string]bool]
	refused atomic.Uint64
}

// New returns a table of at most limit attributes (DefaultLimit if
// limit <= 0). Until SetWanted is called no data source is kept.
func New(limit int) *Table {
	if limit <= 0 {
		limit = DefaultLimit
	}
	t := &Table{limit: limit, m: map[key]*Entry{}}
	t.wanted.Store(&map[string]bool{})
	return t
}

// SetWanted names the data sources to keep (the rules' needs). Others
// are ignored from the next Observe on.
func (t *Table) SetWanted(ds map[string]bool) {
	cp := make(map[string]bool, len(ds))
	for k, v := range ds {
		if v {
			cp[k] = true
		}
	}
	t.wanted.Store(&cp)
}

// Refused counts the attributes refused because the table was full.
func (t *Table) Refused() uint64 { return t.refused.Load() }

// Len returns the number of attributes held.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// Ensure returns the attribute's entry, adding an empty one; nil when the
// table is full.
func (t *Table) Ensure(host, attr string) *Entry {
	k := key{host, attr}
	t.mu.RLock()
	e := t.m[k]
	t.mu.RUnlock()
	if e != nil {
		return e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e = t.m[k]; e != nil {
		return e
	}
	if len(t.m) >= t.limit {
		t.refused.Add(1)
		return nil
	}
	e = &Entry{}
	t.m[k] = e
	return e
}

// Retain drops every attribute for which keep is false (those no rule
// selects any more).
func (t *Table) Retain(keep func(host, attr string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.m {
		if !keep(k.host, k.attr) {
			delete(t.m, k)
		}
	}
}

// Observe records an attribute's readings at time at (Unix ms). Only
// attributes already in the table (Ensure) are recorded, and only their
// wanted data sources; an update not newer than the last is ignored.
func (t *Table) Observe(host, attr string, at int64, values []Value) {
	t.mu.RLock()
	e := t.m[key{host, attr}]
	t.mu.RUnlock()
	if e == nil {
		return
	}
	wanted := *t.wanted.Load()
	e.mu.Lock()
	defer e.mu.Unlock()
	if at <= e.t {
		return
	}
	hadTime := e.t != 0
	dt := float64(at-e.t) / 1000
	e.t = at
	for _, v := range values {
		if !wanted[v.DS] {
			continue
		}
		i := -1
		for j := range e.pts {
			if e.pts[j].name == v.DS {
				i = j
				break
			}
		}
		had := i >= 0
		if !had {
			if len(e.pts) >= MaxDS {
				continue
			}
			e.pts = append(e.pts, point{name: v.DS, kind: v.Kind})
			i = len(e.pts) - 1
		}
		p := &e.pts[i]
		had = had && p.kind == v.Kind
		p.kind = v.Kind
		p.prev, p.prevU = p.cur, p.curU
		p.curU = v.Uint
		switch v.Kind {
		case sample.Counter32, sample.Counter64, sample.Absolute:
			p.cur = float64(v.Uint)
		default:
			p.cur = v.Float
		}
		p.rate = math.NaN()
		switch {
		case v.Reset || !hadTime:
		case v.Kind == sample.Absolute:
			p.rate = p.cur / dt
		case had:
			p.rate = rate(v.Kind, p.prevU, p.curU, p.prev, p.cur, dt)
		}
	}
}

// rate is rrdtool's per-second rate of a data source between two
// readings: counters wrap at their width, Derive may fall, Gauge gives
// its change per second.
func rate(k sample.Kind, prevU, curU uint64, prev, cur, dt float64) float64 {
	switch k {
	case sample.Counter32:
		d := curU - prevU
		if curU < prevU {
			d = curU + (1 << 32) - prevU
			if prevU >= 1<<32 || curU >= 1<<32 {
				return math.NaN()
			}
		}
		return float64(d) / dt
	case sample.Counter64:
		return float64(curU-prevU) / dt // unsigned: wraps at 2^64
	default:
		return (cur - prev) / dt
	}
}

package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wal"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Registry maps series keys to the uint32 numbers the wire uses. A number
// is assigned once, appended to series.log and never reused, so batches in
// the spool stay decodable across restarts. Safe for concurrent use.
//
// series.log uses the segment record format: seq = id+1, samples = kind,
// payload = host, attr and ds, each prefixed by its uvarint length. A
// corrupt record loses its id (the id is never reassigned; Defs skips it).
//
// # Memory
//
// The agent keeps the registry for its whole run, and it holds every
// series ever polled (about 110 per SNMP target), so it is laid out
// compactly rather than as a map of key structs: each distinct host,
// attribute and data source name is stored once (interned; the same
// attribute and data source names recur on every host), a series is three
// name numbers and a kind (13 bytes), and the key → id index is an
// open-addressing table of ids (4 bytes a slot, at most 3/4 full) hashed
// on those numbers. That is about 20 bytes a series instead of about 150.
type Registry struct {
	mu    sync.Mutex
	f     *wal.Segment
	names nameTable
	ents  []seriesEnt   // by id; host 0 marks a lost id
	kinds []sample.Kind // by id
	index []uint32      // open addressing on (host, attr, ds, kind): id+1, 0 = empty
	live  int           // ids in index
	dirty bool
	buf   []byte
}

// seriesEnt is a series' key as name numbers (see nameTable).
type seriesEnt struct{ host, attr, ds uint32 }

// nameTable interns strings: number 0 is "", the others are given in
// order of first use.
type nameTable struct {
	byName map[string]uint32
	names  []string
}

// lookup returns the number of s, or 0 when s was never interned.
func (t *nameTable) lookup(s string) uint32 { return t.byName[s] }

// intern returns the number of s, giving it one on first use. s is
// copied, so the table never keeps a larger string alive.
func (t *nameTable) intern(s string) uint32 {
	if n, ok := t.byName[s]; ok {
		return n
	}
	if t.byName == nil {
		t.byName = map[string]uint32{}
		t.names = []string{""}
	}
	s = strings.Clone(s)
	n := uint32(len(t.names))
	t.names = append(t.names, s)
	t.byName[s] = n
	return n
}

// ErrTooManySeries is returned when all 2^32 numbers are used.
var ErrTooManySeries = errors.New("series registry full")

func openRegistry(path string) (*Registry, int, error) {
	r := &Registry{}
	var index []indexEntry
	accept := scanAccept(&index)
	decode := func(off int, rec wal.Rec) bool {
		if !accept(off, rec) {
			return false
		}
		e := index[len(index)-1]
		id := e.seq - 1
		if id > 1<<32-1 {
			return true // indexed, never assigned
		}
		for uint64(len(r.ents)) < id {
			r.appendLost()
		}
		def, ok := decodeDef(rec.Data, sample.Kind(e.samples))
		if !ok {
			r.appendLost()
			return true
		}
		r.add(r.names.intern(def.Host), r.names.intern(def.Attr), r.names.intern(def.DS), def.Kind)
		return true
	}
	f, res, err := wal.OpenSegment(path, format, decode)
	if errors.Is(err, os.ErrNotExist) {
		f, err = wal.CreateSegment(path)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("series registry: %w", err)
	}
	if res.ValidTo < f.Size() {
		if err := f.Truncate(res.ValidTo); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("series registry torn tail: %w", err)
		}
	}
	r.f = f
	return r, res.Corrupt, nil
}

func decodeDef(p []byte, kind sample.Kind) (wire.SeriesDef, bool) {
	var parts [3]string
	for i := range parts {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return wire.SeriesDef{}, false
		}
		parts[i] = string(p[k : k+int(n)])
		p = p[k+int(n):]
	}
	if len(p) != 0 || !kind.Valid() || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return wire.SeriesDef{}, false
	}
	return wire.SeriesDef{Host: parts[0], Attr: parts[1], DS: parts[2], Kind: kind}, true
}

// hashEnt mixes a series' name numbers and kind (a 64-bit finaliser, so
// that nearby numbers spread over the whole table).
func hashEnt(e seriesEnt, kind sample.Kind) uint64 {
	h := uint64(e.host)*0x9e3779b97f4a7c15 ^ uint64(e.attr)<<32 ^ uint64(e.ds)<<8 ^ uint64(kind)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// find returns the id of a series, if it has one.
func (r *Registry) find(e seriesEnt, kind sample.Kind) (uint32, bool) {
	if len(r.index) == 0 {
		return 0, false
	}
	mask := uint64(len(r.index) - 1)
	for i := hashEnt(e, kind) & mask; ; i = (i + 1) & mask {
		slot := r.index[i]
		if slot == 0 {
			return 0, false
		}
		if id := slot - 1; r.ents[id] == e && r.kinds[id] == kind {
			return id, true
		}
	}
}

// appendLost gives the next id to nothing (a lost record).
func (r *Registry) appendLost() {
	r.ents = append(r.ents, seriesEnt{})
	r.kinds = append(r.kinds, 0)
}

// add gives the next id to a series and indexes it. A series that
// already has an id (series.log could only hold it twice after a failed
// write) is found by its newest id from then on.
func (r *Registry) add(host, attr, ds uint32, kind sample.Kind) uint32 {
	id := uint32(len(r.ents))
	r.ents = append(r.ents, seriesEnt{host: host, attr: attr, ds: ds})
	r.kinds = append(r.kinds, kind)
	if (r.live+1)*4 > len(r.index)*3 {
		r.grow()
	}
	r.insert(id)
	return id
}

// insert indexes id, in place of an older id of the same series. The
// index has a free slot.
func (r *Registry) insert(id uint32) {
	e, kind := r.ents[id], r.kinds[id]
	mask := uint64(len(r.index) - 1)
	i := hashEnt(e, kind) & mask
	for ; r.index[i] != 0; i = (i + 1) & mask {
		if old := r.index[i] - 1; r.ents[old] == e && r.kinds[old] == kind {
			r.index[i] = id + 1
			return
		}
	}
	r.index[i] = id + 1
	r.live++
}

// grow doubles the index and re-indexes every id, oldest first.
func (r *Registry) grow() {
	n := 2 * len(r.index)
	if n < 1024 {
		n = 1024
	}
	r.index = make([]uint32, n)
	r.live = 0
	for id := range r.ents {
		if r.ents[id].host != 0 {
			r.insert(uint32(id))
		}
	}
}

// ID returns the number of the series, assigning and persisting a new one
// on first use. The new entry is written at once and fsynced with the next
// spool sync (before any segment data).
func (r *Registry) ID(k sample.Key, kind sample.Kind) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := seriesEnt{host: r.names.lookup(k.Host), attr: r.names.lookup(k.Attr), ds: r.names.lookup(k.DS)}
	if e.host != 0 && e.attr != 0 && e.ds != 0 {
		if id, ok := r.find(e, kind); ok {
			return id, nil
		}
	}
	if uint64(len(r.ents)) > 1<<32-1 {
		return 0, ErrTooManySeries
	}
	if k.Host == "" || k.Attr == "" || k.DS == "" {
		return 0, fmt.Errorf("series %s: empty host, attribute or data source", k)
	}
	id := uint32(len(r.ents))
	p := r.buf[:0]
	for _, s := range []string{k.Host, k.Attr, k.DS} {
		p = binary.AppendUvarint(p, uint64(len(s)))
		p = append(p, s...)
	}
	rec := appendRecord(nil, uint64(id)+1, uint32(kind), p)
	r.buf = p
	if err := r.f.Append(rec); err != nil {
		return 0, fmt.Errorf("append series %s: %w", k, err)
	}
	r.dirty = true
	return r.add(r.names.intern(k.Host), r.names.intern(k.Attr), r.names.intern(k.DS), kind), nil
}

// Len is one above the highest id assigned.
func (r *Registry) Len() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return uint32(len(r.ents))
}

// Defs returns the definitions of ids from, from+1, ... up to max entries,
// as Series messages: consecutive runs, split around lost ids.
func (r *Registry) Defs(from uint32, max int) []wire.Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []wire.Series
	n := 0
	for id := uint64(from); id < uint64(len(r.ents)) && n < max; id++ {
		e := r.ents[id]
		if e.host == 0 {
			continue
		}
		if len(out) == 0 || uint64(out[len(out)-1].First)+uint64(len(out[len(out)-1].Defs)) != id {
			out = append(out, wire.Series{First: uint32(id)})
		}
		nm := r.names.names
		out[len(out)-1].Defs = append(out[len(out)-1].Defs, wire.SeriesDef{Host: nm[e.host], Attr: nm[e.attr], DS: nm[e.ds], Kind: r.kinds[id]})
		n++
	}
	return out
}

func (r *Registry) sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.dirty {
		return nil
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("series registry: %w", err)
	}
	r.dirty = false
	return nil
}

func (r *Registry) close() error {
	if err := r.sync(); err != nil {
		r.f.Close()
		return err
	}
	return r.f.Close()
}

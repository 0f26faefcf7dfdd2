package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// SeriesKey identifies a series in the registry.
type SeriesKey struct {
	Key  sample.Key
	Kind sample.Kind
}

// Registry maps series keys to the uint32 numbers the wire uses. A number
// is assigned once, appended to series.log and never reused, so batches in
// the spool stay decodable across restarts. Safe for concurrent use.
//
// series.log uses the segment record format: seq = id+1, samples = kind,
// payload = host, attr and ds, each prefixed by its uvarint length. A
// corrupt record loses its id (the id is never reassigned; Defs skips it).
type Registry struct {
	mu    sync.Mutex
	f     *os.File
	ids   map[SeriesKey]uint32
	defs  []wire.SeriesDef // by id; a zero Host marks a lost id
	dirty bool
	buf   []byte
}

// ErrTooManySeries is returned when all 2^32 numbers are used.
var ErrTooManySeries = errors.New("series registry full")

func openRegistry(path string) (*Registry, int, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("read series registry: %w", err)
	}
	res := scanRecords(data)
	r := &Registry{ids: make(map[SeriesKey]uint32, len(res.index))}
	for _, e := range res.index {
		rec, _, _ := parseRecord(data[e.off:])
		def, ok := decodeDef(rec.Payload, sample.Kind(rec.Samples))
		id := rec.Seq - 1
		if id > 1<<32-1 {
			continue
		}
		for uint64(len(r.defs)) < id {
			r.defs = append(r.defs, wire.SeriesDef{}) // lost id
		}
		if !ok {
			r.defs = append(r.defs, wire.SeriesDef{})
			continue
		}
		r.defs = append(r.defs, def)
		r.ids[SeriesKey{Key: sample.Key{Host: def.Host, Attr: def.Attr, DS: def.DS}, Kind: def.Kind}] = uint32(id)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open series registry: %w", err)
	}
	if res.validTo < int64(len(data)) {
		if err := f.Truncate(res.validTo); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("truncate series registry torn tail: %w", err)
		}
	}
	if _, err := f.Seek(res.validTo, 0); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("seek series registry: %w", err)
	}
	r.f = f
	return r, res.corrupt, nil
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

// ID returns the number of the series, assigning and persisting a new one
// on first use. The new entry is written at once and fsynced with the next
// spool sync (before any segment data).
func (r *Registry) ID(k sample.Key, kind sample.Kind) (uint32, error) {
	sk := SeriesKey{Key: k, Kind: kind}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.ids[sk]; ok {
		return id, nil
	}
	if uint64(len(r.defs)) > 1<<32-1 {
		return 0, ErrTooManySeries
	}
	if k.Host == "" || k.Attr == "" || k.DS == "" {
		return 0, fmt.Errorf("series %s: empty host, attribute or data source", k)
	}
	id := uint32(len(r.defs))
	p := r.buf[:0]
	for _, s := range []string{k.Host, k.Attr, k.DS} {
		p = binary.AppendUvarint(p, uint64(len(s)))
		p = append(p, s...)
	}
	rec := appendRecord(nil, uint64(id)+1, uint32(kind), p)
	r.buf = p
	if _, err := r.f.Write(rec); err != nil {
		return 0, fmt.Errorf("append series %s: %w", k, err)
	}
	r.dirty = true
	r.defs = append(r.defs, wire.SeriesDef{Host: k.Host, Attr: k.Attr, DS: k.DS, Kind: kind})
	r.ids[sk] = id
	return id, nil
}

// Len is one above the highest id assigned.
func (r *Registry) Len() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return uint32(len(r.defs))
}

// Defs returns the definitions of ids from, from+1, ... up to max entries,
// as Series messages: consecutive runs, split around lost ids.
func (r *Registry) Defs(from uint32, max int) []wire.Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []wire.Series
	n := 0
	for id := uint64(from); id < uint64(len(r.defs)) && n < max; id++ {
		d := r.defs[id]
		if d.Host == "" {
			continue
		}
		if len(out) == 0 || uint64(out[len(out)-1].First)+uint64(len(out[len(out)-1].Defs)) != id {
			out = append(out, wire.Series{First: uint32(id)})
		}
		out[len(out)-1].Defs = append(out[len(out)-1].Defs, d)
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
		return fmt.Errorf("fsync series registry: %w", err)
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

package ingest

import (
	"errors"
	"fmt"
	"math"

	"github.com/fxamacker/cbor/v2"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Record kinds.
const (
	// RecordBatch is a batch an agent sent, resolved against its series dictionary.
	RecordBatch uint8 = 1
	// RecordGap declares batches an agent dropped: the stream's acked seq
	// jumps to Seq.
	RecordGap uint8 = 2
	// RecordRejected is a batch refused as a whole (it could not be
	// decoded): the stream's acked seq moves to Seq, Refusals say why.
	RecordRejected uint8 = 3
)

// Record is one journal entry. It never refers to a connection's state:
// series numbers are resolved to keys before it is written.
//
// Records are CBOR maps with integer keys, so later versions add fields
// that this one skips; the keys are fixed forever. Journals written before
// (an array of the first ten fields, recordV1) stay readable.
type Record struct {
	Kind     uint8             `cbor:"1,keyasint"`
	Agent    string            `cbor:"2,keyasint"`
	Epoch    uint64            `cbor:"3,keyasint"`
	Seq      uint64            `cbor:"4,keyasint"` // the batch's seq; for a gap, the seq the stream now stands at
	Received int64             `cbor:"5,keyasint"` // Unix milliseconds, when the collector journaled it
	Updates  []AttrUpdate      `cbor:"6,keyasint,omitempty"`
	Statuses []wire.AttrStatus `cbor:"7,keyasint,omitempty"`
	Hosts    []wire.Host       `cbor:"8,keyasint,omitempty"`
	Dropped  wire.Drops        `cbor:"9,keyasint"`            // the agent's cumulative drop counters
	Gap      uint64            `cbor:"10,keyasint,omitempty"` // for RecordGap: number of batches declared dropped
	Traps    []wire.Trap       `cbor:"11,keyasint,omitempty"` // SNMP notifications the agent received
	// Devices are the hardware entities and neighbours of hosts
	// (wire.DeviceFacts), applied after Hosts.
	Devices []wire.DeviceFacts `cbor:"12,keyasint,omitempty"`
	// Refusals are the parts of the batch refused for good (screen.go).
	Refusals []Refusal `cbor:"13,keyasint,omitempty"`
	// Parts marks host inventories split over several batches (wire.HostPart).
	Parts []wire.HostPart `cbor:"14,keyasint,omitempty"`
}

// recordV1 is a Record as journals before the map form hold it.
type recordV1 struct {
	_        struct{} `cbor:",toarray"`
	Kind     uint8
	Agent    string
	Epoch    uint64
	Seq      uint64
	Received int64
	Updates  []AttrUpdate
	Statuses []wire.AttrStatus
	Hosts    []wire.Host
	Dropped  wire.Drops
	Gap      uint64
}

// AttrUpdate is every sample of one attribute at one time: one archive update.
type AttrUpdate struct {
	_      struct{} `cbor:",toarray"`
	Host   string
	Attr   string
	Time   int64 // Unix milliseconds
	Values []DSValue
}

// DSValue is one data source's reading.
type DSValue struct {
	_     struct{} `cbor:",toarray"`
	DS    string
	Kind  sample.Kind
	Uint  uint64  // integer kinds
	Float float64 // Gauge, Derive
	Reset bool    // discontinuity: the archive records unknown at this time
}

// Samples counts the values in the record.
func (r *Record) Samples() int {
	n := 0
	for i := range r.Updates {
		n += len(r.Updates[i].Values)
	}
	return n
}

// recordCodec encodes journal records. The journal is the collector's own
// file, but it is still decoded under limits: a damaged record that passes
// the CRC by chance must not exhaust memory.
type recordCodec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newRecordCodec() (*recordCodec, error) {
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return nil, fmt.Errorf("record encoder: %w", err)
	}
	dec, err := cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: 1 << 22,
		MaxMapPairs:      4096,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
	}.DecMode()
	if err != nil {
		return nil, fmt.Errorf("record decoder: %w", err)
	}
	return &recordCodec{enc: enc, dec: dec}, nil
}

func (c *recordCodec) marshal(r *Record) ([]byte, error) {
	b, err := c.enc.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode journal record: %w", err)
	}
	return b, nil
}

func (c *recordCodec) unmarshal(b []byte) (*Record, error) {
	r := new(Record)
	if wire.IsArrayForm(b) {
		var v1 recordV1
		if err := c.dec.Unmarshal(b, &v1); err != nil {
			return nil, fmt.Errorf("decode journal record (array form): %w", err)
		}
		*r = Record{Kind: v1.Kind, Agent: v1.Agent, Epoch: v1.Epoch, Seq: v1.Seq, Received: v1.Received,
			Updates: v1.Updates, Statuses: v1.Statuses, Hosts: v1.Hosts, Dropped: v1.Dropped, Gap: v1.Gap}
	} else if err := c.dec.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("decode journal record: %w", err)
	}
	if r.Kind != RecordBatch && r.Kind != RecordGap && r.Kind != RecordRejected {
		return nil, fmt.Errorf("decode journal record: unknown kind %d", r.Kind)
	}
	return r, nil
}

// Dictionary is a connection's series dictionary: number → definition.
// Names are cleaned as they are defined (cleanDef); a definition that is
// unusable (wire.SeriesDef.Check) is remembered as such, so the samples
// of that number are refused while the agent's other series keep flowing.
type Dictionary struct {
	defs     map[uint32]wire.SeriesDef
	bad      map[uint32]string // number → why its definition is unusable
	max      int
	maxBytes int
	bytes    int    // names held
	overflow uint64 // definitions not kept because the dictionary was full
}

// ErrDictionaryFull names, in refusal reasons, a dictionary at its bounds.
var ErrDictionaryFull = errors.New("series dictionary full")

// NewDictionary returns an empty dictionary holding at most max entries
// and maxBytes bytes of names (0: no byte bound).
func NewDictionary(max int) *Dictionary {
	return &Dictionary{defs: map[uint32]wire.SeriesDef{}, bad: map[uint32]string{}, max: max}
}

// Define adds (or redefines) the numbers a Series message carries. A
// definition that would take the dictionary over its bounds is not kept
// (counted in overflow): the samples of that number are then refused as
// over quota, and the connection goes on, because ending it would only
// make the agent send the same definitions again.
func (d *Dictionary) Define(s *wire.Series) error {
	for i, def := range s.Defs {
		id := s.First + uint32(i)
		old, known := d.defs[id]
		_, knownBad := d.bad[id]
		cleanDef(&def)
		size := len(def.Host) + len(def.Attr) + len(def.DS) + 64
		if !known && !knownBad && (d.Len() >= d.max || d.maxBytes > 0 && d.bytes+size > d.maxBytes) {
			d.overflow++
			continue
		}
		if known {
			d.bytes -= len(old.Host) + len(old.Attr) + len(old.DS) + 64
		}
		if err := def.Check(); err != nil {
			delete(d.defs, id)
			d.bad[id] = fmt.Sprintf("series %d: %v", id, err)
			continue
		}
		delete(d.bad, id)
		d.defs[id] = def
		d.bytes += size
	}
	return nil
}

// Len returns the number of defined series (usable or not).
func (d *Dictionary) Len() int { return len(d.defs) + len(d.bad) }

// ErrUnknownSeries names, in refusal reasons, a series number never defined.
var ErrUnknownSeries = errors.New("unknown series number")

// Resolve turns a screened batch into a journal record: series numbers
// become keys, and the samples of one attribute at one time are gathered
// into one AttrUpdate (in first-seen order, so resolution is deterministic).
// Samples of a number never defined on the connection, or defined
// unusably, are left out and counted in rec.Refusals (kind frame): the
// agent sends every definition before the first batch that uses it, so a
// missing one is not going to arrive.
func Resolve(b *wire.Batch, dict *Dictionary, agent string, epoch uint64, received int64) (*Record, error) {
	rec := &Record{Kind: RecordBatch, Agent: agent, Epoch: epoch, Seq: b.Seq, Received: received,
		Statuses: b.Statuses, Hosts: b.Hosts, Dropped: b.Dropped, Traps: b.Traps, Parts: b.Parts, Devices: b.Devices}
	type attrKey struct{ host, attr string }
	var unknown, unusable uint64
	var unknownWhy, unusableWhy string
	for gi := range b.Groups {
		g := &b.Groups[gi]
		index := map[attrKey]int{}
		// where[id] locates a series' value in this group, for Resets.
		where := map[uint32][2]int{}
		add := func(id uint32, v DSValue) {
			def, ok := dict.defs[id]
			if !ok {
				if why, bad := dict.bad[id]; bad {
					unusable++
					if unusableWhy == "" {
						unusableWhy = fmt.Sprintf("batch %d: %s", b.Seq, why)
					}
				} else {
					unknown++
					if unknownWhy == "" {
						unknownWhy = fmt.Sprintf("batch %d: %v %d", b.Seq, ErrUnknownSeries, id)
					}
				}
				return
			}
			v.DS, v.Kind = def.DS, def.Kind
			k := attrKey{def.Host, def.Attr}
			i, ok := index[k]
			if !ok {
				i = len(rec.Updates)
				index[k] = i
				rec.Updates = append(rec.Updates, AttrUpdate{Host: def.Host, Attr: def.Attr, Time: g.Time})
			}
			where[id] = [2]int{i, len(rec.Updates[i].Values)}
			rec.Updates[i].Values = append(rec.Updates[i].Values, v)
		}
		for j := 0; j+1 < len(g.Ints); j += 2 {
			if g.Ints[j] > math.MaxUint32 {
				return nil, fmt.Errorf("batch %d: series id %d out of range", b.Seq, g.Ints[j])
			}
			add(uint32(g.Ints[j]), DSValue{Uint: g.Ints[j+1]})
		}
		for j, id := range g.FloatIDs {
			if j >= len(g.Floats) {
				return nil, fmt.Errorf("batch %d: float ids and values do not pair", b.Seq)
			}
			add(id, DSValue{Float: g.Floats[j]})
		}
		for _, id := range g.Resets {
			if w, ok := where[id]; ok {
				rec.Updates[w[0]].Values[w[1]].Reset = true
				continue
			}
			add(id, DSValue{Reset: true})
		}
	}
	rec.Refusals = refuseIn(rec.Refusals, wire.RejectFrame, UnitSample, unusable, unusableWhy)
	if dict.overflow > 0 {
		rec.Refusals = refuseIn(rec.Refusals, wire.RejectQuota, UnitSample, unknown,
			fmt.Sprintf("batch %d: %v: %d series definitions not kept on this connection (quotas.series_per_connection %d, quotas.series_bytes_per_connection %d)",
				b.Seq, ErrDictionaryFull, dict.overflow, dict.max, dict.maxBytes))
	} else {
		rec.Refusals = refuseIn(rec.Refusals, wire.RejectFrame, UnitSample, unknown, unknownWhy)
	}
	return rec, nil
}

// HostNames returns every host name a record writes: samples, statuses and inventory.
func (r *Record) HostNames() []string {
	seen := map[string]bool{}
	var out []string
	note := func(h string) {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for i := range r.Updates {
		note(r.Updates[i].Host)
	}
	for i := range r.Statuses {
		note(r.Statuses[i].Host)
	}
	for i := range r.Hosts {
		note(r.Hosts[i].Name)
	}
	for i := range r.Devices {
		note(r.Devices[i].Host)
	}
	for i := range r.Traps {
		if r.Traps[i].Host != "" { // "" is an unknown source: the agent's own, no host
			note(r.Traps[i].Host)
		}
	}
	return out
}

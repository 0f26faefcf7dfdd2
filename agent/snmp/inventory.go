package snmp

import (
	"math"
	"strconv"
	"time"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// inventory describes the host as last discovered: system group, the host
// attribute, the selected interfaces, storage, processors and user OIDs.
// The list is the host's whole attribute list (Complete).
func (t *Target) inventory() *wire.Host {
	d := t.dev
	interval := uint32(t.Interval().Round(1e9) / 1e9)
	nan := math.NaN()
	h := &wire.Host{
		Name: t.name, Address: t.address,
		SysName: d.System.Name, SysDescr: d.System.Descr, SysObjectID: d.System.ObjectID,
		Location: d.System.Location, Contact: d.System.Contact,
		Complete: true,
	}
	h.Attrs = append(h.Attrs, t.hostAttr(d.System.Descr))
	var shared [][]wire.DSDef // distinct interface DS lists of this host
	for _, s := range t.ifs {
		name := s.Name
		if name == "" {
			name = s.Descr
		}
		descr := s.Alias
		if descr == "" {
			descr = s.Descr
		}
		width := "32"
		if s.HC {
			width = "64"
		}
		props := map[string]string{
			"ifIndex": strconv.FormatUint(uint64(s.Index), 10),
			"ifDescr": s.Descr,
			"ifType":  strconv.Itoa(s.Type),
			"speed":   strconv.FormatUint(s.Speed, 10),
			"counter": width,
		}
		if s.Name != "" {
			props["ifName"] = s.Name
		}
		if s.Alias != "" {
			props["ifAlias"] = s.Alias
		}
		if s.PhysAddress != "" {
			props["mac"] = s.PhysAddress
		}
		a := wire.Attr{Key: keyPrefixInterface + s.Identity, Kind: wire.KindInterface, Name: name, Descr: descr, Props: props, Interval: interval}
		// Interfaces of one counter width and speed have the same data
		// sources: they share one slice (read-only) instead of 12
		// definitions each, a large part of the inventory the agent keeps
		// per target.
		ds := make([]wire.DSDef, 0, len(counterDefs))
		for i := range counter(numCounters) {
			_, kind, ok := counterOID(s.Interface, i)
			if !ok {
				kind = sample.Counter32
			}
			ds = append(ds, wire.DSDef{Name: counterDefs[i].ds, Kind: kind, Min: 0, Max: counterMax(i, s.Speed, s.Type)})
		}
		found := false
		for _, prev := range shared {
			if sameDS(prev, ds) {
				ds, found = prev, true
				break
			}
		}
		if !found {
			shared = append(shared, ds)
		}
		a.DS = ds
		h.Attrs = append(h.Attrs, a)
	}
	for _, s := range d.Storage {
		h.Attrs = append(h.Attrs, wire.Attr{
			Key: keyPrefixStorage + s.Descr, Kind: wire.KindStorage, Name: s.Descr,
			Props:    map[string]string{"hrStorageIndex": strconv.FormatUint(uint64(s.Index), 10), "hrStorageType": s.Type, "units": strconv.FormatUint(s.Units, 10)},
			Interval: interval,
			DS:       []wire.DSDef{{Name: "size", Kind: sample.Gauge, Min: 0, Max: nan}, {Name: "used", Kind: sample.Gauge, Min: 0, Max: nan}},
		})
	}
	for _, p := range d.Processors {
		idx := strconv.FormatUint(uint64(p), 10)
		h.Attrs = append(h.Attrs, wire.Attr{
			Key: keyPrefixCPU + idx, Kind: wire.KindProcessor, Name: "CPU " + idx,
			Props:    map[string]string{"hrDeviceIndex": idx},
			Interval: interval,
			DS:       []wire.DSDef{{Name: "load", Kind: sample.Gauge, Min: 0, Max: 100}},
		})
	}
	for i := range d.Health {
		h.Attrs = append(h.Attrs, healthAttr(&d.Health[i], interval))
	}
	for _, o := range t.oids {
		minV, maxV := nan, nan
		if o.spec.Min != nil {
			minV = *o.spec.Min
		}
		if o.spec.Max != nil {
			maxV = *o.spec.Max
		}
		h.Attrs = append(h.Attrs, wire.Attr{
			Key: keyPrefixOID + o.spec.Name, Kind: wire.KindOID, Name: o.spec.Name, Descr: o.spec.OID,
			Props:    map[string]string{"oid": o.oid},
			Interval: interval,
			DS:       []wire.DSDef{{Name: "value", Kind: o.kind, Min: minV, Max: maxV}},
		})
	}
	return h
}

// hostAttr describes the host attribute (reachability and round-trip time).
func (t *Target) hostAttr(descr string) wire.Attr {
	return wire.Attr{
		Key: "host", Kind: wire.KindHost, Name: t.name, Descr: descr,
		Props:    map[string]string{"address": t.sess.addr, "version": t.set.Version},
		Interval: uint32(t.Interval().Round(time.Second) / time.Second),
		DS: []wire.DSDef{
			{Name: "rtt", Kind: sample.Gauge, Min: 0, Max: math.NaN()},
			{Name: "reachable", Kind: sample.Gauge, Min: 0, Max: 1},
		},
	}
}

// undiscovered is the inventory of a device that has never answered: the
// host attribute only, not Complete (nothing is known to be gone), so the
// collector creates the host's archive with the right step from the first
// failed poll on.
func (t *Target) undiscovered() *wire.Host {
	return &wire.Host{Name: t.name, Address: t.address, Attrs: []wire.Attr{t.hostAttr("")}}
}

// sameDS reports whether two data source lists have the same names, kinds
// and limits (NaN, no limit, equals NaN; so the structs cannot be compared
// with ==).
func sameDS(a, b []wire.DSDef) bool {
	if len(a) != len(b) {
		return false
	}
	same := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Kind != b[i].Kind || !same(a[i].Min, b[i].Min) || !same(a[i].Max, b[i].Max) {
			return false
		}
	}
	return true
}

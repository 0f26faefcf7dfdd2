package snmp

import (
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Device features (issue 18): hardware entities, sensors, CPU, memory and
// neighbours. Discovery reads each feature's tables behind its own gate
// (table.go): a table that is absent costs one request, one that times
// out is skipped for a growing number of polls while the rest of the
// discovery and the polls carry on. Sensors, CPU and memory are
// attributes polled with Gets of their known instances, table by table;
// entities and neighbours are facts sent with each discovery
// (wire.DeviceFacts).

// Attribute key prefixes of device health.
const (
	keyPrefixSensor = "sensor:"
	keyPrefixMemory = "mem:"
	keyLoad         = "load"
)

// enabledFeatures returns the features a target polls: all but those its
// disable list names.
func enabledFeatures(tc config.SNMPTarget) map[string]bool {
	m := map[string]bool{}
	for _, f := range config.DeviceFeatures {
		m[f] = !tc.Disabled(f)
	}
	return m
}

// discoverDevices reads the enabled features into dev. Only the poll's
// context ending is an error: a failing table is backed off and missing
// from this discovery.
func (t *Target) discoverDevices(dev *Device) error {
	f := t.features
	any := false
	for _, on := range f {
		any = any || on
	}
	if !any {
		return nil
	}
	if err := t.probeTables(); err != nil {
		return err
	}
	if f[config.FeatureEntities] || f[config.FeatureSensors] || f[config.FeatureCPU] || f[config.FeatureMemory] {
		// Sensors, CPUs and pools are named after their entities.
		ok, err := t.guarded(tblEntities, func() error { return t.discoverEntities(dev) })
		if err != nil {
			return err
		}
		dev.HasEntities = f[config.FeatureEntities] && ok
	}
	if err := t.discoverHealth(dev); err != nil {
		return err
	}
	if !f[config.FeatureEntities] {
		dev.Entities = nil
	}
	all := true
	if f[config.FeatureLLDP] {
		ok, err := t.guarded(tblLLDP, func() error { return t.discoverLLDP(dev) })
		if err != nil {
			return err
		}
		all = all && ok
	}
	if f[config.FeatureCDP] {
		ok, err := t.guarded(tblCDP, func() error { return t.discoverCDP(dev) })
		if err != nil {
			return err
		}
		all = all && ok
	}
	dev.HasNeighbors = all && (f[config.FeatureLLDP] || f[config.FeatureCDP])
	if len(dev.Neighbors) > wire.MaxNeighbors {
		dev.Neighbors = dev.Neighbors[:wire.MaxNeighbors]
	}
	sortNeighbors(dev.Neighbors)
	return nil
}

// tableRoots are the subtrees whose presence one GetNext tells, per table.
var tableRoots = []struct{ table, root string }{
	{tblEntities, oidEntPhysicalEntry}, {tblEntSensors, oidEntPhySensorEntry}, {tblCiscoSensors, oidCiscoSensorEntry},
	{tblEnvMon, "1.3.6.1.4.1.9.9.13.1"}, {tblCPM, oidCPMEntry}, {tblEnhMemPool, oidCempEntry}, {tblMemPool, oidMemPoolEntry},
	{tblUCD, "1.3.6.1.4.1.2021"}, {tblJuniper, oidJnxOperatingEntry}, {tblLLDP, "1.0.8802.1.1.2.1"}, {tblCDP, oidCDPCacheEntry},
}

// probeTables asks, in one GetNext, which device tables exist: a table
// whose root's next object lies outside it is absent and not walked, so a
// device without vendor MIBs costs one request, not one per table. When
// the probe gets no usable answer every table is tried.
func (t *Target) probeTables() error {
	t.absent = map[string]bool{}
	var oids []string
	var tables []string
	for _, r := range tableRoots {
		oids = append(oids, r.root)
		tables = append(tables, r.table)
	}
	if len(oids) > t.sess.proto.MaxOids || t.sess.version == gosnmp.Version1 {
		return nil // v1 answers noSuchName for the first root past the end: not worth the round trips
	}
	pkt, err := t.sess.g.GetNext(oids)
	if err != nil {
		if ctxErr := t.sess.ctx.Err(); ctxErr != nil {
			return err
		}
		return nil
	}
	if pkt.Error != gosnmp.NoError || len(pkt.Variables) != len(oids) {
		return nil
	}
	for i, v := range pkt.Variables {
		if v.Type == gosnmp.EndOfMibView || !strings.HasPrefix(v.Name, "."+oids[i]+".") {
			t.absent[tables[i]] = true
		}
	}
	return nil
}

// facts returns the device facts of the last discovery, or nil when no
// feature gave any.
func (t *Target) facts() *wire.DeviceFacts {
	d := t.dev
	if d == nil || (!d.HasEntities && !d.HasNeighbors && len(d.ChassisIDs) == 0) {
		return nil
	}
	f := &wire.DeviceFacts{Host: t.name, Time: t.discoveredAt.UnixMilli(), HasEntities: d.HasEntities, HasNeighbors: d.HasNeighbors,
		ChassisIDs: d.ChassisIDs, MgmtAddrs: d.MgmtAddrs}
	if d.HasEntities {
		f.Entities = d.Entities
	}
	if d.HasNeighbors {
		f.Neighbors = d.Neighbors
	}
	if len(f.ChassisIDs) > 16 {
		f.ChassisIDs = f.ChassisIDs[:16]
	}
	if len(f.MgmtAddrs) > 64 {
		f.MgmtAddrs = f.MgmtAddrs[:64]
	}
	return f
}

// healthValues is what one poll read of the health objects, and the
// tables it skipped (backed off or failed) with the reason.
type healthValues struct {
	got     map[string]*gosnmp.SnmpPDU
	skipped map[string]string
}

// readHealth gets the health objects table by table, each behind its gate.
func (t *Target) readHealth() (*healthValues, error) {
	hv := &healthValues{got: map[string]*gosnmp.SnmpPDU{}, skipped: map[string]string{}}
	if t.dev == nil || len(t.dev.Health) == 0 {
		return hv, nil
	}
	byTable := map[string][]*Health{}
	var tables []string
	for i := range t.dev.Health {
		h := &t.dev.Health[i]
		if byTable[h.table] == nil {
			tables = append(tables, h.table)
		}
		byTable[h.table] = append(byTable[h.table], h)
	}
	for _, tbl := range tables {
		oids := healthOIDs(byTable[tbl])
		if len(oids) == 0 {
			continue
		}
		ok, err := t.guarded(tbl, func() error {
			return t.getPacked(oids, func(i int, v *gosnmp.SnmpPDU) { hv.got[oids[i]] = v })
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			hv.skipped[tbl] = t.backedOff(tbl)
		}
	}
	return hv, nil
}

// emitHealth adds the health points and statuses of one poll.
func (t *Target) emitHealth(rep *poll.Report, hv *healthValues, when time.Time) {
	at := when.UnixMilli()
	if t.dev == nil || hv == nil {
		return
	}
	for i := range t.dev.Health {
		h := &t.dev.Health[i]
		if why, skipped := hv.skipped[h.table]; skipped {
			if why == "" {
				why = h.table + " did not answer"
			}
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: t.name, Attr: h.Key, Status: status.Unknown, Reason: why, Time: at})
			continue
		}
		vals, st, reason := h.evaluate(hv.got)
		for j, v := range vals {
			rep.Points = append(rep.Points, sample.Point{Key: sample.Key{Host: t.name, Attr: h.Key, DS: h.DS[j].Name},
				Kind: sample.Gauge, Time: when, Float: v})
		}
		rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: t.name, Attr: h.Key, Status: st, Reason: reason, Time: at})
	}
}

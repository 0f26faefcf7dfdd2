package snmp

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Health is one sensor, processor or memory pool found by discovery: an
// attribute whose data sources are linear combinations of device objects
// (scaled sensor values, used + free), read with Gets on every poll.
type Health struct {
	Key     string     `json:"key"`    // attribute key: "sensor:…", "cpu:…", "mem:…", "load"
	Kind    string     `json:"kind"`   // wire.KindSensor, KindProcessor, KindMemory, KindLoad
	Name    string     `json:"name"`   // clean line
	Source  string     `json:"source"` // the MIB table it comes from
	Unit    string     `json:"unit,omitempty"`
	Entity  uint32     `json:"entity_index,omitempty"` // entPhysicalIndex it describes
	IfIndex uint32     `json:"ifindex,omitempty"`      // the interface it belongs to (optical levels)
	DS      []HealthDS `json:"data_sources"`
	// Thresholds the device itself reports (CISCO-ENTITY-SENSOR-MIB,
	// CISCO-ENVMON-MIB), in the value's unit.
	Thresholds []Threshold `json:"thresholds,omitempty"`
	// StateOID is read on every poll; its value maps to a status through
	// the source's states (sensor operational status, envmon state).
	StateOID string `json:"state_oid,omitempty"`
	states   func(int64) (status.Status, string)
	// Bad says why the item cannot be measured (an unsupported scale):
	// it is reported Unknown with this reason and no value.
	Bad string `json:"problem,omitempty"`

	table string // gate
}

// HealthDS is one data source: Σ coef × object. Value is what discovery read.
type HealthDS struct {
	Name  string   `json:"name"`
	Terms []term   `json:"-"`
	Min   float64  `json:"-"`
	Max   float64  `json:"-"`
	Value *float64 `json:"value,omitempty"`
}

type term struct {
	oid  string
	coef float64
}

// Threshold is a device-set limit: beyond a warning one the item is Alert,
// beyond a critical one Down.
type Threshold struct {
	Severity string  `json:"severity"` // "warning" or "critical"
	Relation string  `json:"relation"` // "<", "<=", ">", ">=", "==", "!="
	Value    float64 `json:"value"`
}

// crossed reports whether v is beyond the threshold.
func (th Threshold) crossed(v float64) bool {
	switch th.Relation {
	case "<":
		return v < th.Value
	case "<=":
		return v <= th.Value
	case ">":
		return v > th.Value
	case ">=":
		return v >= th.Value
	case "==":
		return v == th.Value
	case "!=":
		return v != th.Value
	}
	return false
}

func ds(name string, min, max float64, terms ...term) HealthDS {
	return HealthDS{Name: name, Terms: terms, Min: min, Max: max}
}

func tm(oid string, coef float64) term { return term{oid: oid, coef: coef} }

// Object identifiers of the health tables.
const (
	oidEntPhySensorEntry   = "1.3.6.1.2.1.99.1.1.1"        // .1 type .2 scale .3 precision .4 value .5 operStatus
	oidCiscoSensorEntry    = "1.3.6.1.4.1.9.9.91.1.1.1.1"  // same columns, .5 status
	oidCiscoThresholdEntry = "1.3.6.1.4.1.9.9.91.1.2.1.1"  // .2 severity .3 relation .4 value .5 evaluation
	oidEnvTempEntry        = "1.3.6.1.4.1.9.9.13.1.3.1"    // .2 descr .3 value .4 threshold .6 state
	oidEnvFanEntry         = "1.3.6.1.4.1.9.9.13.1.4.1"    // .2 descr .3 state
	oidEnvSupplyEntry      = "1.3.6.1.4.1.9.9.13.1.5.1"    // .2 descr .3 state
	oidJnxOperatingEntry   = "1.3.6.1.4.1.2636.3.1.13.1"   // .5 descr .6 state .7 temp .8 cpu .11 buffer .15 memory MB
	oidCPMEntry            = "1.3.6.1.4.1.9.9.109.1.1.1.1" // .2 physicalIndex .7 1minRev .8 5minRev
	oidMemPoolEntry        = "1.3.6.1.4.1.9.9.48.1.1.1"    // .2 name .4 valid .5 used .6 free
	oidCempEntry           = "1.3.6.1.4.1.9.9.221.1.1.1.1" // .3 name .7 used .8 free .18 HCused .20 HCfree
	oidUCDLoadInt          = "1.3.6.1.4.1.2021.10.1.5"     // .1 .2 .3: load × 100
	oidUCDMemory           = "1.3.6.1.4.1.2021.4"          // .3 totalSwap .4 availSwap .5 totalReal .6 availReal .14 buffer .15 cached (kB)
)

// sensorTypes: ENTITY-SENSOR-MIB EntitySensorDataType (and Cisco's, which
// adds dBm): unit names; "" types are not measurements (truthvalue,
// specialEnum) and are left out.
var sensorTypes = map[int64]string{1: "other", 2: "unknown", 3: "voltsAC", 4: "voltsDC", 5: "amperes", 6: "watts",
	7: "hertz", 8: "celsius", 9: "percentRH", 10: "rpm", 11: "cmm", 14: "dBm"}

// sensorFactor converts a raw sensor value: 10^(3(scale-9)-precision).
// Scale is 1 (yocto) .. 17 (yotta), precision -8..9; anything else is not
// a value the agent can interpret.
func sensorFactor(scale, precision int64) (float64, error) {
	if scale < 1 || scale > 17 {
		return 0, fmt.Errorf("unsupported scale %d", scale)
	}
	if precision < -8 || precision > 9 {
		return 0, fmt.Errorf("unsupported precision %d", precision)
	}
	return math.Pow10(int(3*(scale-9) - precision)), nil
}

// sensorStates maps EntitySensorStatus (ok, unavailable, nonoperational).
func sensorStates(n int64) (status.Status, string) {
	switch n {
	case 1:
		return status.Up, "ok"
	case 2:
		return status.Unknown, "sensor unavailable"
	case 3:
		return status.Down, "sensor nonoperational"
	}
	return status.Unknown, fmt.Sprintf("sensor status %d", n)
}

// envStates maps CISCO-ENVMON-MIB CiscoEnvMonState.
func envStates(n int64) (status.Status, string) {
	switch n {
	case 1:
		return status.Up, "normal"
	case 2:
		return status.Alert, "warning"
	case 3:
		return status.Down, "critical"
	case 4:
		return status.Down, "shutdown"
	case 5:
		return status.Unknown, "not present"
	case 6:
		return status.Down, "not functioning"
	}
	return status.Unknown, fmt.Sprintf("state %d", n)
}

// jnxStates maps jnxOperatingState.
func jnxStates(n int64) (status.Status, string) {
	switch n {
	case 2, 3, 5:
		return status.Up, map[int64]string{2: "running", 3: "ready", 5: "running at full speed"}[n]
	case 4:
		return status.Alert, "reset"
	case 6:
		return status.Down, "down"
	case 7:
		return status.Up, "standby"
	}
	return status.Unknown, fmt.Sprintf("state %d", n)
}

// discoverHealth finds the sensors, processors and memory of the enabled
// features. Each table has its own gate: one that fails is skipped (and
// its items are missing from this discovery) while the others are read.
func (t *Target) discoverHealth(dev *Device) error {
	ents := indexEntities(dev.Entities)
	type step struct {
		feature, table string
		fn             func() error
	}
	steps := []step{
		{config.FeatureSensors, tblEntSensors, func() error { return t.entitySensors(dev, ents, oidEntPhySensorEntry, "ent", tblEntSensors) }},
		{config.FeatureSensors, tblCiscoSensors, func() error {
			return t.entitySensors(dev, ents, oidCiscoSensorEntry, "cisco", tblCiscoSensors)
		}},
		{config.FeatureSensors, tblEnvMon, func() error { return t.envMon(dev) }},
		{config.FeatureCPU, tblCPM, func() error { return t.ciscoCPU(dev, ents) }},
		{config.FeatureMemory, tblEnhMemPool, func() error { return t.ciscoEnhancedMemory(dev, ents) }},
		{config.FeatureMemory, tblMemPool, func() error { return t.ciscoMemory(dev) }},
		{"", tblUCD, func() error { return t.ucd(dev) }},
		{"", tblJuniper, func() error { return t.juniper(dev) }},
	}
	for _, s := range steps {
		if s.feature != "" && !t.features[s.feature] {
			continue
		}
		if _, err := t.guarded(s.table, s.fn); err != nil {
			return err
		}
	}
	return nil
}

// entitySensors reads entPhySensorTable or Cisco's entSensorValueTable
// (same columns), with Cisco's thresholds.
func (t *Target) entitySensors(dev *Device, ents entityIndex, entry, src, table string) error {
	type row struct {
		typ, scale, prec, st    int64
		hasType, hasScale, hasV bool
		value                   float64
	}
	rows := map[uint32]*row{}
	var order []uint32
	cols := []string{entry + ".1", entry + ".2", entry + ".3", entry + ".4", entry + ".5"}
	err := t.walkTable(cols, maxHealth, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
		if len(idx) != 1 {
			return
		}
		r := rows[idx[0]]
		if r == nil {
			r = &row{scale: 9}
			rows[idx[0]] = r
			order = append(order, idx[0])
		}
		n, ok := asInt(v)
		switch col {
		case 0:
			r.typ, r.hasType = n, ok
		case 1:
			r.scale, r.hasScale = n, ok
		case 2:
			r.prec = n
		case 3:
			r.value, r.hasV = float64(n), ok
		case 4:
			r.st = n
		}
	})
	if err != nil {
		return err
	}
	thresholds := map[uint32][]rawThreshold{}
	if src == "cisco" && len(rows) > 0 {
		tcols := []string{oidCiscoThresholdEntry + ".2", oidCiscoThresholdEntry + ".3", oidCiscoThresholdEntry + ".4"}
		cur := map[string]*rawThreshold{}
		err := t.walkTable(tcols, 4*maxHealth, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
			if len(idx) != 2 {
				return
			}
			k := indexText(idx)
			th := cur[k]
			if th == nil {
				th = &rawThreshold{sensor: idx[0]}
				cur[k] = th
			}
			n, _ := asInt(v)
			switch col {
			case 0:
				th.severity = n
			case 1:
				th.relation = n
			case 2:
				th.value, th.has = n, true
			}
		})
		if err != nil {
			return err
		}
		for _, th := range cur {
			thresholds[th.sensor] = append(thresholds[th.sensor], *th)
		}
	}
	for _, idx := range order {
		r := rows[idx]
		unit, ok := sensorTypes[r.typ]
		if !r.hasType || !ok {
			continue // not a measurement (truthvalue, specialEnum) or no type at all
		}
		i := strconv.FormatUint(uint64(idx), 10)
		h := Health{
			Key: keyPrefixSensor + src + "." + i, Kind: wire.KindSensor, Source: table, Unit: unit, Entity: idx,
			IfIndex: ents.ifIndex(idx), table: table,
			StateOID: entry + ".5." + i, states: sensorStates,
		}
		h.Name = ents.name(idx)
		if h.Name == "" {
			h.Name = unit + " sensor " + i
		}
		factor, err := sensorFactor(r.scale, r.prec)
		if err != nil {
			h.Bad = err.Error()
			h.DS = []HealthDS{ds("value", math.NaN(), math.NaN())}
		} else {
			d := ds("value", math.NaN(), math.NaN(), tm(entry+".4."+i, factor))
			if r.hasV {
				v := r.value * factor
				d.Value = &v
			}
			h.DS = []HealthDS{d}
			for _, th := range thresholds[idx] {
				if c, ok := th.convert(factor); ok {
					h.Thresholds = append(h.Thresholds, c)
				}
			}
		}
		t.addHealth(dev, h)
	}
	return nil
}

type rawThreshold struct {
	sensor             uint32
	severity, relation int64
	value              int64
	has                bool
}

// convert gives the threshold in the sensor's unit; severities other,
// minor and major are warnings, critical is critical (CISCO-ENTITY-SENSOR-MIB
// CatalystSensorThresholdSeverity 1, 10, 20, 30).
func (r rawThreshold) convert(factor float64) (Threshold, bool) {
	rel := map[int64]string{1: "<", 2: "<=", 3: ">", 4: ">=", 5: "==", 6: "!="}[r.relation]
	if !r.has || rel == "" {
		return Threshold{}, false
	}
	sev := "warning"
	if r.severity == 30 {
		sev = "critical"
	}
	return Threshold{Severity: sev, Relation: rel, Value: float64(r.value) * factor}, true
}

// envMon reads CISCO-ENVMON-MIB temperatures, fans and supplies.
func (t *Target) envMon(dev *Device) error {
	type row struct {
		descr      string
		value, thr int64
		hasV, hasT bool
	}
	read := func(entry string, cols []string, kind string) error {
		rows := map[uint32]*row{}
		var order []uint32
		err := t.walkTable(cols, maxHealth, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
			if len(idx) != 1 {
				return
			}
			r := rows[idx[0]]
			if r == nil {
				r = &row{}
				rows[idx[0]] = r
				order = append(order, idx[0])
			}
			n, ok := asInt(v)
			switch col {
			case 0:
				r.descr = lineOf(v, safetext.MaxName)
			case 1:
				r.value, r.hasV = n, ok
			case 2:
				r.thr, r.hasT = n, ok
			}
		})
		if err != nil {
			return err
		}
		for _, idx := range order {
			r := rows[idx]
			i := strconv.FormatUint(uint64(idx), 10)
			h := Health{Key: keyPrefixSensor + "envmon-" + kind + "." + i, Kind: wire.KindSensor, Source: tblEnvMon,
				Name: r.descr, table: tblEnvMon, states: envStates}
			if h.Name == "" {
				h.Name = kind + " " + i
			}
			switch kind {
			case "temp":
				h.Unit, h.StateOID = "celsius", entry+".6."+i
				d := ds("value", math.NaN(), math.NaN(), tm(entry+".3."+i, 1))
				if r.hasV {
					v := float64(r.value)
					d.Value = &v
				}
				h.DS = []HealthDS{d}
				if r.hasT {
					h.Thresholds = []Threshold{{Severity: "critical", Relation: ">=", Value: float64(r.thr)}}
				}
			default: // fan, supply: a state only, recorded as its number
				h.Unit, h.StateOID = "state", entry+".3."+i
				d := ds("state", 1, 6, tm(entry+".3."+i, 1))
				if r.hasV {
					v := float64(r.value)
					d.Value = &v
				}
				h.DS = []HealthDS{d}
			}
			t.addHealth(dev, h)
		}
		return nil
	}
	if err := read(oidEnvTempEntry, []string{oidEnvTempEntry + ".2", oidEnvTempEntry + ".3", oidEnvTempEntry + ".4"}, "temp"); err != nil {
		return err
	}
	if err := read(oidEnvFanEntry, []string{oidEnvFanEntry + ".2", oidEnvFanEntry + ".3"}, "fan"); err != nil {
		return err
	}
	return read(oidEnvSupplyEntry, []string{oidEnvSupplyEntry + ".2", oidEnvSupplyEntry + ".3"}, "supply")
}

// ciscoCPU reads cpmCPUTotalTable: the 1-minute and 5-minute loads.
func (t *Target) ciscoCPU(dev *Device, ents entityIndex) error {
	type row struct {
		phys       uint32
		m1, m5     int64
		has1, has5 bool
	}
	rows := map[uint32]*row{}
	var order []uint32
	cols := []string{oidCPMEntry + ".2", oidCPMEntry + ".7", oidCPMEntry + ".8"}
	err := t.walkTable(cols, maxHealth, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
		if len(idx) != 1 {
			return
		}
		r := rows[idx[0]]
		if r == nil {
			r = &row{}
			rows[idx[0]] = r
			order = append(order, idx[0])
		}
		n, ok := asInt(v)
		switch col {
		case 0:
			r.phys = uint32(max(n, 0))
		case 1:
			r.m1, r.has1 = n, ok
		case 2:
			r.m5, r.has5 = n, ok
		}
	})
	if err != nil {
		return err
	}
	for _, idx := range order {
		r := rows[idx]
		if !r.has1 && !r.has5 {
			continue // a device without the Rev objects (IOS before 12.2(3.5)) is not read
		}
		i := strconv.FormatUint(uint64(idx), 10)
		h := Health{Key: keyPrefixCPU + "cpm." + i, Kind: wire.KindProcessor, Source: tblCPM, Unit: "percent",
			Entity: r.phys, table: tblCPM, Name: ents.name(r.phys)}
		if h.Name == "" {
			h.Name = "CPU " + i
		}
		d1 := ds("load", 0, 100, tm(oidCPMEntry+".7."+i, 1))
		d5 := ds("load5min", 0, 100, tm(oidCPMEntry+".8."+i, 1))
		if r.has1 {
			v := float64(r.m1)
			d1.Value = &v
		}
		if r.has5 {
			v := float64(r.m5)
			d5.Value = &v
		}
		h.DS = []HealthDS{d1, d5}
		t.addHealth(dev, h)
	}
	return nil
}

// ciscoMemory reads ciscoMemoryPoolTable (bytes used and free), unless the
// enhanced table already gave the pools.
func (t *Target) ciscoMemory(dev *Device) error {
	for _, h := range dev.Health {
		if h.Source == tblEnhMemPool {
			return nil
		}
	}
	return t.memPools(dev, oidMemPoolEntry, []string{".2", ".5", ".6"}, "cisco", tblMemPool, nil)
}

// ciscoEnhancedMemory reads cempMemPoolTable (index entPhysicalIndex.pool),
// with the 64-bit HC columns when the device has them.
func (t *Target) ciscoEnhancedMemory(dev *Device, ents entityIndex) error {
	if err := t.memPools(dev, oidCempEntry, []string{".3", ".18", ".20"}, "cemp", tblEnhMemPool, ents); err != nil {
		return err
	}
	for _, h := range dev.Health {
		if h.Source == tblEnhMemPool {
			return nil
		}
	}
	return t.memPools(dev, oidCempEntry, []string{".3", ".7", ".8"}, "cemp", tblEnhMemPool, ents)
}

// memPools reads a pool table whose columns are name, used, free (bytes).
func (t *Target) memPools(dev *Device, entry string, colSuffix []string, src, table string, ents entityIndex) error {
	type row struct {
		idx              []uint32
		name             string
		used, free       uint64
		hasUsed, hasFree bool
	}
	rows := map[string]*row{}
	var order []string
	cols := []string{entry + colSuffix[0], entry + colSuffix[1], entry + colSuffix[2]}
	err := t.walkTable(cols, maxHealth, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
		k := indexText(idx)
		r := rows[k]
		if r == nil {
			r = &row{idx: idx}
			rows[k] = r
			order = append(order, k)
		}
		u, ok := asUint(v)
		switch col {
		case 0:
			r.name = lineOf(v, safetext.MaxName)
		case 1:
			r.used, r.hasUsed = u, ok
		case 2:
			r.free, r.hasFree = u, ok
		}
	})
	if err != nil {
		return err
	}
	for _, k := range order {
		r := rows[k]
		if !r.hasUsed || !r.hasFree {
			continue
		}
		h := Health{Key: keyPrefixMemory + src + "." + k, Kind: wire.KindMemory, Source: table, Unit: "bytes", Name: r.name, table: table}
		if ents != nil && len(r.idx) == 2 {
			h.Entity = r.idx[0]
			if n := ents.name(r.idx[0]); n != "" && r.name != "" {
				h.Name = n + " " + r.name
			}
		}
		if h.Name == "" {
			h.Name = "memory pool " + k
		}
		used, total := float64(r.used), float64(r.used+r.free)
		dU := ds("used", 0, math.NaN(), tm(entry+colSuffix[1]+"."+k, 1))
		dT := ds("total", 0, math.NaN(), tm(entry+colSuffix[1]+"."+k, 1), tm(entry+colSuffix[2]+"."+k, 1))
		dU.Value, dT.Value = &used, &total
		h.DS = []HealthDS{dU, dT}
		t.addHealth(dev, h)
	}
	return nil
}

// ucd reads net-snmp's UCD-SNMP-MIB: load averages (cpu) and real and
// swap memory (memory), in kB converted to bytes. "Used" real memory is
// what free(1) shows: total - available - buffers - cached.
func (t *Target) ucd(dev *Device) error {
	m := oidUCDMemory
	oids := []string{oidUCDLoadInt + ".1", oidUCDLoadInt + ".2", oidUCDLoadInt + ".3",
		m + ".5.0", m + ".6.0", m + ".14.0", m + ".15.0", m + ".3.0", m + ".4.0"}
	vals := make([]*float64, len(oids))
	if err := t.getPacked(oids, func(i int, v *gosnmp.SnmpPDU) {
		if f, ok := asFloat(v); ok {
			vals[i] = &f
		}
	}); err != nil {
		return err
	}
	val := func(terms ...term) *float64 {
		sum := 0.0
		for _, tr := range terms {
			for i, o := range oids {
				if o == tr.oid {
					if vals[i] == nil {
						return nil
					}
					sum += *vals[i] * tr.coef
				}
			}
		}
		return &sum
	}
	mk := func(name string, min, max float64, terms ...term) HealthDS {
		d := ds(name, min, max, terms...)
		d.Value = val(terms...)
		return d
	}
	if t.features[config.FeatureCPU] && vals[0] != nil {
		t.addHealth(dev, Health{Key: keyLoad, Kind: wire.KindLoad, Name: "Load average", Source: tblUCD, Unit: "load", table: tblUCD,
			DS: []HealthDS{mk("load1", 0, math.NaN(), tm(oids[0], 0.01)), mk("load5", 0, math.NaN(), tm(oids[1], 0.01)),
				mk("load15", 0, math.NaN(), tm(oids[2], 0.01))}})
	}
	if t.features[config.FeatureMemory] && vals[3] != nil && vals[4] != nil {
		const kB = 1024
		used := []term{tm(oids[3], kB), tm(oids[4], -kB)}
		// Buffers and caches count as free when the agent's numbers
		// allow it (some agents count them in memAvailReal already).
		if vals[5] != nil && vals[6] != nil && *vals[3]-*vals[4]-*vals[5]-*vals[6] >= 0 {
			used = append(used, tm(oids[5], -kB), tm(oids[6], -kB))
		}
		t.addHealth(dev, Health{Key: keyPrefixMemory + "ucd.real", Kind: wire.KindMemory, Name: "Physical memory", Source: tblUCD, Unit: "bytes", table: tblUCD,
			DS: []HealthDS{mk("used", 0, math.NaN(), used...), mk("total", 0, math.NaN(), tm(oids[3], kB))}})
		if vals[7] != nil && vals[8] != nil && *vals[7] > 0 {
			t.addHealth(dev, Health{Key: keyPrefixMemory + "ucd.swap", Kind: wire.KindMemory, Name: "Swap space", Source: tblUCD, Unit: "bytes", table: tblUCD,
				DS: []HealthDS{mk("used", 0, math.NaN(), tm(oids[7], kB), tm(oids[8], -kB)), mk("total", 0, math.NaN(), tm(oids[7], kB))}})
		}
	}
	return nil
}

// juniper reads jnxOperatingTable: a temperature sensor for each part
// that reports one, CPU and buffer memory for parts with memory (routing
// engines, FPCs).
func (t *Target) juniper(dev *Device) error {
	type row struct {
		descr                  string
		temp, cpu, buf, mem    int64
		hasCPU, hasBuf, hasMem bool
	}
	e := oidJnxOperatingEntry
	rows := map[string]*row{}
	var order []string
	cols := []string{e + ".5", e + ".7", e + ".8", e + ".11", e + ".15"}
	err := t.walkTable(cols, maxHealth, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
		k := indexText(idx)
		r := rows[k]
		if r == nil {
			r = &row{}
			rows[k] = r
			order = append(order, k)
		}
		n, ok := asInt(v)
		switch col {
		case 0:
			r.descr = lineOf(v, safetext.MaxName)
		case 1:
			r.temp = n
		case 2:
			r.cpu, r.hasCPU = n, ok
		case 3:
			r.buf, r.hasBuf = n, ok
		case 4:
			r.mem, r.hasMem = n, ok
		}
	})
	if err != nil {
		return err
	}
	val := func(f float64) *float64 { return &f }
	for _, k := range order {
		r := rows[k]
		name := r.descr
		if name == "" {
			name = "component " + k
		}
		if t.features[config.FeatureSensors] && r.temp > 0 {
			d := ds("value", math.NaN(), math.NaN(), tm(e+".7."+k, 1))
			d.Value = val(float64(r.temp))
			t.addHealth(dev, Health{Key: keyPrefixSensor + "jnx." + k, Kind: wire.KindSensor, Name: name, Source: tblJuniper,
				Unit: "celsius", table: tblJuniper, DS: []HealthDS{d}, StateOID: e + ".6." + k, states: jnxStates})
		}
		if !r.hasMem || r.mem <= 0 {
			continue
		}
		if t.features[config.FeatureCPU] && r.hasCPU {
			d := ds("load", 0, 100, tm(e+".8."+k, 1))
			d.Value = val(float64(r.cpu))
			t.addHealth(dev, Health{Key: keyPrefixCPU + "jnx." + k, Kind: wire.KindProcessor, Name: name, Source: tblJuniper,
				Unit: "percent", table: tblJuniper, DS: []HealthDS{d}})
		}
		if t.features[config.FeatureMemory] && r.hasBuf {
			const mib = 1 << 20
			total := float64(r.mem) * mib
			dU := ds("used", 0, math.NaN(), tm(e+".11."+k, total/100))
			dU.Value = val(float64(r.buf) * total / 100)
			dT := ds("total", 0, math.NaN(), tm(e+".15."+k, mib))
			dT.Value = val(total)
			t.addHealth(dev, Health{Key: keyPrefixMemory + "jnx." + k, Kind: wire.KindMemory, Name: name, Source: tblJuniper,
				Unit: "bytes", table: tblJuniper, DS: []HealthDS{dU, dT}})
		}
	}
	return nil
}

// maxHealth bounds the health items (and rows per health table) of one device.
const maxHealth = 1024

// addHealth keeps h unless the device has too many items or its key is taken.
func (t *Target) addHealth(dev *Device, h Health) {
	if len(dev.Health) >= maxHealth {
		return
	}
	h.Key = safetext.Line(h.Key, safetext.MaxName)
	h.Name = safetext.Line(h.Name, safetext.MaxName)
	for i := range dev.Health {
		if dev.Health[i].Key == h.Key {
			return
		}
	}
	dev.Health = append(dev.Health, h)
}

// healthAttr describes h as an attribute.
func healthAttr(h *Health, interval uint32) wire.Attr {
	props := map[string]string{"source": h.Source}
	if h.Unit != "" {
		props["unit"] = h.Unit
	}
	if h.Entity != 0 {
		props["entPhysicalIndex"] = strconv.FormatUint(uint64(h.Entity), 10)
	}
	if h.IfIndex != 0 {
		props["ifIndex"] = strconv.FormatUint(uint64(h.IfIndex), 10)
	}
	for i, th := range h.Thresholds {
		if i < 8 {
			props[th.Severity+"."+strconv.Itoa(i)] = th.Relation + " " + strconv.FormatFloat(th.Value, 'g', -1, 64)
		}
	}
	a := wire.Attr{Key: h.Key, Kind: h.Kind, Name: h.Name, Descr: h.Source, Props: props, Interval: interval}
	for _, d := range h.DS {
		a.DS = append(a.DS, wire.DSDef{Name: d.Name, Kind: sample.Gauge, Min: d.Min, Max: d.Max})
	}
	return a
}

// healthOIDs lists the objects a poll reads for the items of one table.
func healthOIDs(items []*Health) []string {
	var oids []string
	seen := map[string]bool{}
	add := func(o string) {
		if o != "" && !seen[o] {
			seen[o] = true
			oids = append(oids, o)
		}
	}
	for _, h := range items {
		for _, d := range h.DS {
			for _, tr := range d.Terms {
				add(tr.oid)
			}
		}
		add(h.StateOID)
	}
	return oids
}

// evaluate computes h's values from the objects read (by OID) and its
// status: the state object's, then the device's thresholds (a critical
// one crossed is Down, a warning one Alert).
func (h *Health) evaluate(got map[string]*gosnmp.SnmpPDU) (vals []float64, st status.Status, reason string) {
	if h.Bad != "" {
		return nil, status.Unknown, h.Bad
	}
	vals = make([]float64, len(h.DS))
	missing := ""
	for i, d := range h.DS {
		sum := 0.0
		for _, tr := range d.Terms {
			v := got[tr.oid]
			f, ok := 0.0, false
			if v != nil {
				f, ok = asFloat(v)
			}
			if !ok {
				sum = math.NaN()
				if missing == "" {
					missing = tr.oid
				}
				break
			}
			sum += f * tr.coef
		}
		if !math.IsNaN(sum) && ((!math.IsNaN(d.Min) && sum < d.Min) || (!math.IsNaN(d.Max) && sum > d.Max)) {
			if reason == "" {
				reason = fmt.Sprintf("device reported %s %s, outside %g..%g", d.Name, strconv.FormatFloat(sum, 'g', 6, 64), d.Min, d.Max)
			}
			sum = math.NaN()
		}
		vals[i] = sum
	}
	if missing != "" {
		return vals, status.Unknown, "no answer for " + missing
	}
	if reason != "" {
		return vals, status.Alert, reason
	}
	st, reason = status.Up, "answered"
	if h.StateOID != "" && h.states != nil {
		if v := got[h.StateOID]; v != nil {
			if n, ok := asInt(v); ok {
				st, reason = h.states(n)
			}
		}
	}
	if st != status.Up || len(vals) == 0 {
		return vals, st, reason
	}
	for _, th := range h.Thresholds {
		if !th.crossed(vals[0]) {
			continue
		}
		r := fmt.Sprintf("%s %s %s threshold %s %g", strconv.FormatFloat(vals[0], 'g', 6, 64), h.Unit, th.Severity, th.Relation, th.Value)
		if th.Severity == "critical" {
			return vals, status.Down, r
		}
		st, reason = status.Alert, r
	}
	return vals, st, reason
}

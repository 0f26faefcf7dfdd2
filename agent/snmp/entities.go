package snmp

import (
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/wire"
)

// ENTITY-MIB (RFC 6933) objects.
const (
	oidEntPhysicalEntry = "1.3.6.1.2.1.47.1.1.1.1"
	// entAliasMappingIdentifier: per entPhysicalIndex.logicalIndex, the
	// OID of the interface a port is (ifIndex.N).
	oidEntAliasMapping = "1.3.6.1.2.1.47.1.3.2.1.2"
)

// entPhysicalTable columns read, in this order.
var entityCols = []string{
	oidEntPhysicalEntry + ".2",  // descr
	oidEntPhysicalEntry + ".4",  // containedIn
	oidEntPhysicalEntry + ".5",  // class
	oidEntPhysicalEntry + ".6",  // parentRelPos
	oidEntPhysicalEntry + ".7",  // name
	oidEntPhysicalEntry + ".8",  // hardwareRev
	oidEntPhysicalEntry + ".9",  // firmwareRev
	oidEntPhysicalEntry + ".10", // softwareRev
	oidEntPhysicalEntry + ".11", // serialNum
	oidEntPhysicalEntry + ".12", // mfgName
	oidEntPhysicalEntry + ".13", // modelName
	oidEntPhysicalEntry + ".16", // isFRU
}

const (
	ecDescr = iota
	ecContainedIn
	ecClass
	ecPosition
	ecName
	ecHardwareRev
	ecFirmwareRev
	ecSoftwareRev
	ecSerial
	ecVendor
	ecModel
	ecFRU
)

// discoverEntities reads entPhysicalTable and the port-to-interface
// mapping. Rows missing some columns (as real agents have) keep what they
// have; containment loops are cut (see breakLoops).
func (t *Target) discoverEntities(dev *Device) error {
	rows := map[uint32]*wire.Entity{}
	err := t.walkTable(entityCols, wire.MaxEntities, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
		if len(idx) != 1 {
			return
		}
		e := rows[idx[0]]
		if e == nil {
			if len(rows) >= wire.MaxEntities {
				return
			}
			e = &wire.Entity{Index: idx[0], Position: -1}
			rows[idx[0]] = e
		}
		setEntity(e, col, v)
	})
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		err = t.walkTable([]string{oidEntAliasMapping}, wire.MaxEntities, func(_ int, idx []uint32, v *gosnmp.SnmpPDU) {
			e := rows[idx[0]]
			s, ok := v.Value.(string)
			if e == nil || !ok || len(idx) != 2 {
				return
			}
			s = strings.TrimPrefix(s, ".")
			if rest, ok := strings.CutPrefix(s, oidIfEntry+".1."); ok {
				if n, err := strconv.ParseUint(rest, 10, 32); err == nil {
					e.IfIndex = uint32(n)
				}
			}
		})
		if err != nil {
			t.log.Debug("snmp: entAliasMappingTable unreadable; ports not tied to interfaces", "target", t.name, "err", cleanError{err})
		}
	}
	dev.Entities = make([]wire.Entity, 0, len(rows))
	for _, e := range rows {
		dev.Entities = append(dev.Entities, *e)
	}
	sort.Slice(dev.Entities, func(i, j int) bool { return dev.Entities[i].Index < dev.Entities[j].Index })
	breakLoops(dev.Entities)
	dev.HasEntities = true
	return nil
}

func setEntity(e *wire.Entity, col int, v *gosnmp.SnmpPDU) {
	line := func() string { return lineOf(v, safetext.MaxName) }
	switch col {
	case ecDescr:
		e.Descr = line()
	case ecContainedIn:
		u, _ := asUint(v)
		e.ContainedIn = uint32(u)
	case ecClass:
		n, _ := asInt(v)
		e.Class = wire.EntityClass(int(n))
	case ecPosition:
		if n, ok := asInt(v); ok && n >= -1 && n <= 1<<31-1 {
			e.Position = int32(n)
		}
	case ecName:
		e.Name = line()
	case ecHardwareRev:
		e.HardwareRev = line()
	case ecFirmwareRev:
		e.FirmwareRev = line()
	case ecSoftwareRev:
		e.SoftwareRev = line()
	case ecSerial:
		e.Serial = line()
	case ecVendor:
		e.Vendor = line()
	case ecModel:
		e.Model = line()
	case ecFRU:
		n, _ := asInt(v)
		e.FRU = n == 1
	}
}

// breakLoops makes the containment a forest: an entity contained in
// itself, in an entity the table does not have, or in one of its own
// descendants (a loop, which broken agents report) becomes a top-level
// entity. ents is sorted by Index.
func breakLoops(ents []wire.Entity) {
	pos := make(map[uint32]int, len(ents))
	for i := range ents {
		pos[ents[i].Index] = i
	}
	for i := range ents {
		if _, ok := pos[ents[i].ContainedIn]; !ok {
			ents[i].ContainedIn = 0
		}
	}
	for i := range ents {
		seen := map[uint32]bool{ents[i].Index: true}
		for p := ents[i].ContainedIn; p != 0; p = ents[pos[p]].ContainedIn {
			if seen[p] {
				ents[i].ContainedIn = 0
				break
			}
			seen[p] = true
		}
	}
}

// entityIndex finds entities by index.
type entityIndex map[uint32]*wire.Entity

func indexEntities(ents []wire.Entity) entityIndex {
	m := make(entityIndex, len(ents))
	for i := range ents {
		m[ents[i].Index] = &ents[i]
	}
	return m
}

// name is what the UI calls entity idx: its name, else its description.
func (m entityIndex) name(idx uint32) string {
	if e := m[idx]; e != nil {
		if e.Name != "" {
			return e.Name
		}
		return e.Descr
	}
	return ""
}

// ifIndex returns the interface entity idx belongs to: its own, or that of
// the nearest port that contains it (a transceiver's sensors sit below the
// port), 0 if none.
func (m entityIndex) ifIndex(idx uint32) uint32 {
	for range 16 {
		e := m[idx]
		if e == nil {
			return 0
		}
		if e.IfIndex != 0 {
			return e.IfIndex
		}
		idx = e.ContainedIn
	}
	return 0
}

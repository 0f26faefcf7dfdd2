package snmpsim

import (
	"sort"
)

// Object identifiers of the simulated MIB.
var (
	oidSystem     = mustOID("1.3.6.1.2.1.1")
	oidIfNumber   = mustOID("1.3.6.1.2.1.2.1")
	oidIfEntry    = mustOID("1.3.6.1.2.1.2.2.1")
	oidIfXEntry   = mustOID("1.3.6.1.2.1.31.1.1.1")
	oidHrUptime   = mustOID("1.3.6.1.2.1.25.1.1")
	oidHrStorage  = mustOID("1.3.6.1.2.1.25.2.3.1")
	oidHrProcLoad = mustOID("1.3.6.1.2.1.25.3.3.1.2")
	oidSnmpEngine = mustOID("1.3.6.1.6.3.10.2.1")
	oidUsmStats   = mustOID("1.3.6.1.6.3.15.1.1")
	oidHrStoRAM   = mustOID("1.3.6.1.2.1.25.2.1.2")
	oidHrStoVirt  = mustOID("1.3.6.1.2.1.25.2.1.3")
	oidHrStoFixed = mustOID("1.3.6.1.2.1.25.2.1.4")
)

// obj names one object type (a scalar or a table column) of the MIB.
type obj uint8

const (
	objNone obj = iota
	objSysDescr
	objSysObjectID
	objSysUpTime
	objSysContact
	objSysName
	objSysLocation
	objSysServices
	objIfNumber
	objHrSystemUptime
	objEngineID
	objEngineBoots
	objEngineTime
	objEngineMaxMsg
	// ifTable columns (ifEntry.N = objIfIndex+N-1)
	objIfIndex
	objIfDescr
	objIfType
	objIfMtu
	objIfSpeed
	objIfPhysAddress
	objIfAdminStatus
	objIfOperStatus
	objIfLastChange
	objIfInOctets
	objIfInUcastPkts
	objIfInNUcastPkts
	objIfInDiscards
	objIfInErrors
	objIfInUnknownProtos
	objIfOutOctets
	objIfOutUcastPkts
	objIfOutNUcastPkts
	objIfOutDiscards
	objIfOutErrors
	// ifXTable columns (ifXEntry.N = objIfName+N-1)
	objIfName
	objIfInMulticastPkts
	objIfInBroadcastPkts
	objIfOutMulticastPkts
	objIfOutBroadcastPkts
	objIfHCInOctets
	objIfHCInUcastPkts
	objIfHCInMulticastPkts
	objIfHCInBroadcastPkts
	objIfHCOutOctets
	objIfHCOutUcastPkts
	objIfHCOutMulticastPkts
	objIfHCOutBroadcastPkts
	objIfLinkUpDownTrapEnable
	objIfHighSpeed
	objIfPromiscuousMode
	objIfConnectorPresent
	objIfAlias
	objIfCounterDiscontinuityTime
	// HOST-RESOURCES-MIB
	objHrStorageIndex
	objHrStorageType
	objHrStorageDescr
	objHrStorageAllocationUnits
	objHrStorageSize
	objHrStorageUsed
	objHrProcessorLoad
	// objExtra: an object of the hardware MIBs (hardware.go); row is its
	// position in mibTable.extras.
	objExtra
)

// columnNames maps the names Device.Counter accepts to their objects.
var columnNames = map[string]obj{
	"ifInOctets": objIfInOctets, "ifInUcastPkts": objIfInUcastPkts, "ifInNUcastPkts": objIfInNUcastPkts,
	"ifInDiscards": objIfInDiscards, "ifInErrors": objIfInErrors, "ifInUnknownProtos": objIfInUnknownProtos,
	"ifOutOctets": objIfOutOctets, "ifOutUcastPkts": objIfOutUcastPkts, "ifOutNUcastPkts": objIfOutNUcastPkts,
	"ifOutDiscards": objIfOutDiscards, "ifOutErrors": objIfOutErrors,
	"ifInMulticastPkts": objIfInMulticastPkts, "ifInBroadcastPkts": objIfInBroadcastPkts,
	"ifOutMulticastPkts": objIfOutMulticastPkts, "ifOutBroadcastPkts": objIfOutBroadcastPkts,
	"ifHCInOctets": objIfHCInOctets, "ifHCInUcastPkts": objIfHCInUcastPkts,
	"ifHCInMulticastPkts": objIfHCInMulticastPkts, "ifHCInBroadcastPkts": objIfHCInBroadcastPkts,
	"ifHCOutOctets": objIfHCOutOctets, "ifHCOutUcastPkts": objIfHCOutUcastPkts,
	"ifHCOutMulticastPkts": objIfHCOutMulticastPkts, "ifHCOutBroadcastPkts": objIfHCOutBroadcastPkts,
}

// hrStorageRows are the simulated HOST-RESOURCES storage entries.
var hrStorageRows = []struct {
	index uint32
	typ   oid
	descr string
	unit  int64
	size  int64
	base  float64 // mean fraction used
}{
	{1, oidHrStoRAM, "Physical memory", 1024, 16 << 20, 0.55},
	{3, oidHrStoVirt, "Virtual memory", 1024, 20 << 20, 0.45},
	{31, oidHrStoFixed, "/", 4096, 7 << 20, 0.62},
}

// hrCPUs are the hrDeviceIndex values of the simulated processors.
var hrCPUs = []uint32{196608, 196609, 196610, 196611}

// entry is one instance in the sorted OID space.
type entry struct {
	oid oid
	enc []byte // OID TLV (tag, length, content), computed once
	obj obj
	row int // interface position, hrStorageRows/hrCPUs position
}

// mibTable is the immutable sorted OID space of a device. A renumbering
// builds a new one.
type mibTable struct {
	entries []entry
	objects []oid // sorted OIDs of every object type (column or scalar without .0)
	byIndex map[int]int
	extras  []extra // hardware objects, by entry row
}

func newEntry(o oid, ob obj, row int) entry {
	content := appendOIDContent(nil, o)
	enc := appendTLVHeader(make([]byte, 0, len(content)+4), tagOID, len(content))
	return entry{oid: o, enc: append(enc, content...), obj: ob, row: row}
}

// buildTable lays out every instance; indices[i] is the ifIndex of
// interface position i.
func buildTable(indices []int, extras []extra) *mibTable {
	t := &mibTable{byIndex: make(map[int]int, len(indices)), extras: extras}
	add := func(o oid, ob obj, row int) { t.entries = append(t.entries, newEntry(o, ob, row)) }
	addObj := func(o oid) { t.objects = append(t.objects, o) }
	for i, ob := range []obj{objSysDescr, objSysObjectID, objSysUpTime, objSysContact, objSysName, objSysLocation, objSysServices} {
		o := oidSystem.with(uint32(i + 1))
		addObj(o)
		add(o.with(0), ob, 0)
	}
	addObj(oidIfNumber)
	add(oidIfNumber.with(0), objIfNumber, 0)
	addObj(oidHrUptime)
	add(oidHrUptime.with(0), objHrSystemUptime, 0)
	for i, ob := range []obj{objEngineID, objEngineBoots, objEngineTime, objEngineMaxMsg} {
		o := oidSnmpEngine.with(uint32(i + 1))
		addObj(o)
		add(o.with(0), ob, 0)
	}
	for i, idx := range indices {
		t.byIndex[idx] = i
	}
	for col := uint32(1); col <= 20; col++ {
		addObj(oidIfEntry.with(col))
		for i, idx := range indices {
			add(oidIfEntry.with(col, uint32(idx)), objIfIndex+obj(col-1), i)
		}
	}
	for col := uint32(1); col <= 19; col++ {
		addObj(oidIfXEntry.with(col))
		for i, idx := range indices {
			add(oidIfXEntry.with(col, uint32(idx)), objIfName+obj(col-1), i)
		}
	}
	for col := uint32(1); col <= 6; col++ {
		addObj(oidHrStorage.with(col))
		for i, r := range hrStorageRows {
			add(oidHrStorage.with(col, r.index), objHrStorageIndex+obj(col-1), i)
		}
	}
	addObj(oidHrProcLoad)
	for i, c := range hrCPUs {
		add(oidHrProcLoad.with(c), objHrProcessorLoad, i)
	}
	seenObj := map[string]bool{}
	for i, x := range extras {
		add(x.o, objExtra, i)
		col := x.o[:len(x.o)-1].String()
		if !seenObj[col] {
			seenObj[col] = true
			addObj(x.o[:len(x.o)-1])
		}
	}
	sort.Slice(t.entries, func(i, j int) bool { return compareOID(t.entries[i].oid, t.entries[j].oid) < 0 })
	sort.Slice(t.objects, func(i, j int) bool { return compareOID(t.objects[i], t.objects[j]) < 0 })
	return t
}

// exact returns the position of o, or -1.
func (t *mibTable) exact(o oid) int {
	i := sort.Search(len(t.entries), func(i int) bool { return compareOID(t.entries[i].oid, o) >= 0 })
	if i < len(t.entries) && compareOID(t.entries[i].oid, o) == 0 {
		return i
	}
	return -1
}

// after returns the position of the first entry strictly after o
// (len(entries) when none).
func (t *mibTable) after(o oid) int {
	return sort.Search(len(t.entries), func(i int) bool { return compareOID(t.entries[i].oid, o) > 0 })
}

// isObject reports whether o lies under a known object type, which
// distinguishes noSuchInstance from noSuchObject.
func (t *mibTable) isObject(o oid) bool {
	i := sort.Search(len(t.objects), func(i int) bool { return compareOID(t.objects[i], o) > 0 })
	return i > 0 && o.hasPrefix(t.objects[i-1])
}

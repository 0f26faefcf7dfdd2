package snmp

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/wire"
)

// System is the SNMPv2-MIB system group of a device. Its strings are
// clean (shared/safetext): Descr is multi-line text of at most
// safetext.MaxText bytes, the others one line of at most safetext.MaxName.
type System struct {
	Descr    string `json:"descr"`
	ObjectID string `json:"object_id"`
	Name     string `json:"name"`
	Location string `json:"location"`
	Contact  string `json:"contact"`
	// UpTime is sysUpTime in hundredths of a second (wraps after ~497 days).
	UpTime uint32 `json:"uptime_ticks"`
	// EngineBoots is snmpEngineBoots, when the device answers it (HasBoots).
	EngineBoots uint32 `json:"engine_boots"`
	HasBoots    bool   `json:"has_engine_boots"`
}

// Interface is one row of ifTable (joined with ifXTable) as discovered.
// Descr, Name and Alias are clean lines of at most safetext.MaxName bytes
// (invalid bytes and control characters escaped as \xHH, a longer value
// cut with "…").
type Interface struct {
	Index       uint32
	Descr       string // ifDescr
	Name        string // ifName ("" without ifXTable)
	Alias       string // ifAlias
	Type        int    // ifType (IANAifType number)
	Speed       uint64 // bits per second: ifHighSpeed x 1e6 when larger than ifSpeed can say
	PhysAddress string // ifPhysAddress as hex bytes aa:bb:cc:dd:ee:ff (cut with "…" past MaxName)
	AdminStatus AdminStatus
	OperStatus  OperStatus
	// HasX means the interface has an ifXTable row.
	HasX bool
	// HC means the 64-bit ifHC* counters are polled for this interface:
	// present, and not stuck at 0 while the 32-bit counters move.
	HC bool
	// Discontinuity is ifCounterDiscontinuityTime (TimeTicks) when HasX.
	Discontinuity uint32
	// Identity is the stable key (attribute key "if:"+Identity), chosen by
	// the port_match order; see AssignIdentities.
	Identity string
	// Selected reports whether the interface filter keeps it for polling.
	Selected bool
}

// Storage is one hrStorageTable row.
type Storage struct {
	Index uint32
	Descr string // clean, at most MaxName minus "storage:" bytes: the attribute key
	Type  string // hrStorageType OID
	Units uint64 // hrStorageAllocationUnits, bytes
	Size  uint64 // allocation units
	Used  uint64 // allocation units
}

// Device is what a discovery found.
type Device struct {
	System     System
	Interfaces []Interface // in ifIndex order
	Storage    []Storage
	Processors []uint32 // hrProcessorTable indexes

	// Device features (devices.go). HasEntities and HasNeighbors say the
	// lists were read (empty then means none); Health holds the sensors,
	// vendor CPUs, memory pools and load averages found.
	Entities     []wire.Entity   `json:"entities,omitempty"`
	HasEntities  bool            `json:"-"`
	Neighbors    []wire.Neighbor `json:"neighbors,omitempty"`
	HasNeighbors bool            `json:"-"`
	ChassisIDs   []string        `json:"chassis_ids,omitempty"`
	MgmtAddrs    []string        `json:"management_addresses,omitempty"`
	Health       []Health        `json:"health,omitempty"`
}

// discoverCol is a column discovery reads: its position in discoverCols.
type discoverCol int

// The columns discovery reads, in the order of discoverCols.
const (
	dcDescr discoverCol = iota
	dcType
	dcSpeed
	dcPhysAddress
	dcAdminStatus
	dcOperStatus
	dcInOctets
	dcOutOctets
	dcName
	dcHighSpeed
	dcAlias
	dcHCInOctets
	dcHCOutOctets
	dcDiscontinuity
)

var discoverCols = []string{
	dcDescr:         colIfDescr,
	dcType:          colIfType,
	dcSpeed:         colIfSpeed,
	dcPhysAddress:   colIfPhysAddress,
	dcAdminStatus:   colIfAdminStatus,
	dcOperStatus:    colIfOperStatus,
	dcInOctets:      colIfInOctets,
	dcOutOctets:     colIfOutOctets,
	dcName:          colIfName,
	dcHighSpeed:     colIfHighSpeed,
	dcAlias:         colIfAlias,
	dcHCInOctets:    colIfHCInOctets,
	dcHCOutOctets:   colIfHCOutOctets,
	dcDiscontinuity: colIfCounterDiscontinuity,
}

// sysObjects are the scalars readSystem gets, in this order.
var sysObjects = []string{oidSysDescr, oidSysObjectID, oidSysUpTime, oidSysContact, oidSysName, oidSysLocation, oidEngineBoots}

// Positions in sysObjects.
const (
	sysDescr = iota
	sysObjectID
	sysUpTime
	sysContact
	sysName
	sysLocation
	sysEngineBoots
)

// readSystem gets the system group and snmpEngineBoots.
func (t *Target) readSystem() (System, error) {
	var sys System
	got := 0
	err := t.getPacked(sysObjects, func(i int, v *gosnmp.SnmpPDU) {
		got++
		sys.set(i, v)
	})
	if err != nil {
		return sys, err
	}
	if got == 0 {
		return sys, fmt.Errorf("%s: the device answers no object of the system group", t.sess.addr)
	}
	return sys, nil
}

// set stores the value of sysObjects[i], cleaned.
func (sys *System) set(i int, v *gosnmp.SnmpPDU) {
	switch i {
	case sysDescr:
		sys.Descr = textOf(v, safetext.MaxText)
	case sysObjectID:
		if _, ok := v.Value.(string); ok {
			sys.ObjectID = strings.TrimPrefix(lineOf(v, safetext.MaxName), ".")
		}
	case sysUpTime:
		u, _ := asUint(v)
		sys.UpTime = uint32(u)
	case sysContact:
		sys.Contact = lineOf(v, safetext.MaxName)
	case sysName:
		sys.Name = lineOf(v, safetext.MaxName)
	case sysLocation:
		sys.Location = lineOf(v, safetext.MaxName)
	case sysEngineBoots:
		u, ok := asUint(v)
		sys.EngineBoots, sys.HasBoots = uint32(u), ok
	}
}

// discover reads the system group, the interfaces and (when enabled) the
// HOST-RESOURCES storage and processors.
func (t *Target) discover() (*Device, error) {
	sys, err := t.readSystem()
	if err != nil {
		return nil, err
	}
	dev := &Device{System: sys}
	if !t.filter.Disable {
		tab := newIfTable()
		err := t.walkColumns(discoverCols, func(col int, idx uint32, v *gosnmp.SnmpPDU) {
			tab.add(discoverCol(col), idx, v)
		})
		if err != nil {
			return nil, fmt.Errorf("discover interfaces: %w", err)
		}
		dev.Interfaces = tab.interfaces(t.sess.version != gosnmp.Version1, t.filter, t.set.PortMatch)
	}
	if t.hostResources {
		if err := t.discoverHostResources(dev); err != nil {
			return nil, err
		}
	}
	if err := t.discoverDevices(dev); err != nil {
		return nil, err
	}
	return dev, nil
}

// ifTable collects the discovery's column walk into interfaces.
type ifTable struct {
	rows                     map[uint32]*Interface
	inIfTable                map[uint32]bool
	in32, out32, hcIn, hcOut map[uint32]uint64
	highSpeed                map[uint32]uint64
	hcPresent                map[uint32]int
}

func newIfTable() *ifTable {
	return &ifTable{
		rows: map[uint32]*Interface{}, inIfTable: map[uint32]bool{},
		in32: map[uint32]uint64{}, out32: map[uint32]uint64{}, hcIn: map[uint32]uint64{}, hcOut: map[uint32]uint64{},
		highSpeed: map[uint32]uint64{}, hcPresent: map[uint32]int{},
	}
}

// add stores one value of column col for the row ifIndex idx. Strings are
// cleaned here, before anything else sees them.
func (tab *ifTable) add(col discoverCol, idx uint32, v *gosnmp.SnmpPDU) {
	r := tab.rows[idx]
	if r == nil {
		r = &Interface{Index: idx}
		tab.rows[idx] = r
	}
	u, _ := asUint(v)
	switch col {
	case dcDescr:
		r.Descr = lineOf(v, safetext.MaxName)
		tab.inIfTable[idx] = true
	case dcType:
		r.Type = int(u)
		tab.inIfTable[idx] = true
	case dcSpeed:
		r.Speed = u
	case dcPhysAddress:
		r.PhysAddress = formatMAC(v)
	case dcAdminStatus:
		r.AdminStatus = AdminStatus(u)
	case dcOperStatus:
		r.OperStatus = OperStatus(u)
	case dcInOctets:
		tab.in32[idx] = u
	case dcOutOctets:
		tab.out32[idx] = u
	case dcName:
		r.Name = lineOf(v, safetext.MaxName)
		r.HasX = true
	case dcHighSpeed:
		tab.highSpeed[idx] = u
		r.HasX = true
	case dcAlias:
		r.Alias = lineOf(v, safetext.MaxName)
		r.HasX = true
	case dcHCInOctets:
		if v.Type == gosnmp.Counter64 {
			tab.hcIn[idx] = u
			tab.hcPresent[idx]++
		}
	case dcHCOutOctets:
		if v.Type == gosnmp.Counter64 {
			tab.hcOut[idx] = u
			tab.hcPresent[idx]++
		}
	case dcDiscontinuity:
		r.Discontinuity = uint32(u)
		r.HasX = true
	}
}

// interfaces returns the rows that are interfaces (they have an ifTable
// row), in ifIndex order, with speed, counter width, selection and
// identity decided. hasHC is false for SNMPv1 (no Counter64).
func (tab *ifTable) interfaces(hasHC bool, filter interfaceFilter, portMatch []string) []Interface {
	var out []Interface
	for idx, r := range tab.rows {
		if !tab.inIfTable[idx] {
			continue // an ifXTable row without ifTable row is not an interface
		}
		if hs := tab.highSpeed[idx]; hs > 0 && (r.Speed >= ifSpeedSaturated || hs*bitsPerMbit > r.Speed) {
			r.Speed = hs * bitsPerMbit
		}
		// 64-bit counters when both are there, unless they sit at 0
		// while the 32-bit ones count (devices that have ifXTable but
		// do not implement HC counters on some ports).
		r.HC = hasHC && tab.hcPresent[idx] == 2 &&
			!(tab.hcIn[idx] == 0 && tab.hcOut[idx] == 0 && (tab.in32[idx] > 0 || tab.out32[idx] > 0))
		r.Selected = filter.Match(r)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	AssignIdentities(out, portMatch)
	return out
}

// Positions of the hrStorageTable columns discoverHostResources walks.
const (
	hrType = iota
	hrDescr
	hrUnits
	hrSize
	hrUsed
)

func (t *Target) discoverHostResources(dev *Device) error {
	st := map[uint32]*Storage{}
	cols := []string{hrType: colHrStorageType, hrDescr: colHrStorageDescr, hrUnits: colHrStorageUnits, hrSize: colHrStorageSize, hrUsed: colHrStorageUsed}
	err := t.walkColumns(cols, func(col int, idx uint32, v *gosnmp.SnmpPDU) {
		addStorage(st, col, idx, v)
	})
	if err != nil {
		return fmt.Errorf("discover hrStorageTable: %w", err)
	}
	dev.Storage = storageRows(st)
	err = t.walkColumns([]string{oidHrProcessorLoad}, func(_ int, idx uint32, _ *gosnmp.SnmpPDU) {
		dev.Processors = append(dev.Processors, idx)
	})
	if err != nil {
		return fmt.Errorf("discover hrProcessorTable: %w", err)
	}
	return nil
}

// addStorage stores one hrStorageTable value (column position col).
func addStorage(st map[uint32]*Storage, col int, idx uint32, v *gosnmp.SnmpPDU) {
	s := st[idx]
	if s == nil {
		s = &Storage{Index: idx}
		st[idx] = s
	}
	u, _ := asUint(v)
	switch col {
	case hrType:
		if _, ok := v.Value.(string); ok {
			s.Type = strings.TrimPrefix(lineOf(v, safetext.MaxName), ".")
		}
	case hrDescr:
		s.Descr = lineOf(v, maxStorageDescr)
	case hrUnits:
		s.Units = u
	case hrSize:
		s.Size = u
	case hrUsed:
		s.Used = u
	}
}

// storageRows returns the storage rows in hrStorageIndex order, without
// those with no description and, since the cleaned description is the
// attribute key, without a later row whose description an earlier one
// already has (the lowest index keeps the key, discovery after discovery).
func storageRows(st map[uint32]*Storage) []Storage {
	all := make([]Storage, 0, len(st))
	for _, s := range st {
		all = append(all, *s)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Index < all[j].Index })
	out := all[:0]
	seen := map[string]bool{}
	for _, s := range all {
		if s.Descr == "" || seen[s.Descr] {
			continue
		}
		seen[s.Descr] = true
		out = append(out, s)
	}
	return out
}

// AssignIdentities gives every interface a stable identity: for each
// interface, the first key in order (ifName, ifDescr, ifAlias, ifIndex:
// the config's port_match) whose value is non-empty and unique on the
// device. ifIndex is always unique, so it is the last resort even when the
// order leaves it out; its identity is written "ifIndex.N" so that it never
// collides with a name. Identities are unique on the device.
//
// A value is used as safetext.Line(value, MaxName-len("if:")) makes it, so
// that the attribute key "if:"+identity is a clean line of at most MaxName
// bytes. Clean values within that length are used as they are (the key of
// such a name is the same as in versions before the cleaning); uniqueness
// is decided on the cleaned value, so two long names that only differ
// after the cut are duplicates and fall back to the next key in order.
func AssignIdentities(ifs []Interface, order []string) {
	if len(order) == 0 {
		order = config.DefaultPortMatch()
	}
	count := map[string]map[string]int{}
	for _, key := range order {
		m := map[string]int{}
		for i := range ifs {
			if v := matchValue(&ifs[i], key); v != "" {
				m[v]++
			}
		}
		count[key] = m
	}
	used := map[string]bool{}
	for i := range ifs {
		ifs[i].Identity = ""
		for _, key := range order {
			v := matchValue(&ifs[i], key)
			if v == "" || count[key][v] > 1 || used[v] {
				continue
			}
			ifs[i].Identity = v
			break
		}
		if ifs[i].Identity == "" {
			ifs[i].Identity = "ifIndex." + strconv.FormatUint(uint64(ifs[i].Index), 10)
		}
		used[ifs[i].Identity] = true
	}
}

func matchValue(r *Interface, key string) string {
	switch strings.ToLower(key) {
	case "ifname":
		return safetext.Line(r.Name, maxIdentity)
	case "ifdescr":
		return safetext.Line(r.Descr, maxIdentity)
	case "ifalias":
		return safetext.Line(r.Alias, maxIdentity)
	case "ifindex":
		return "ifIndex." + strconv.FormatUint(uint64(r.Index), 10)
	}
	return ""
}

// filterMatch applies include/exclude globs (path.Match) to ifName and ifDescr.
type interfaceFilter config.InterfaceFilter

// Match reports whether the filter keeps the interface: included (no
// include list means all) and not excluded, matching ifName or ifDescr.
func (f interfaceFilter) Match(r *Interface) bool {
	if f.Disable {
		return false
	}
	hit := func(globs []string) bool {
		for _, g := range globs {
			for _, s := range []string{r.Name, r.Descr} {
				if s == "" {
					continue
				}
				if ok, _ := path.Match(g, s); ok {
					return true
				}
			}
		}
		return false
	}
	if len(f.Include) > 0 && !hit(f.Include) {
		return false
	}
	return !hit(f.Exclude)
}

// formatMAC writes ifPhysAddress as colon-separated hex bytes; an address
// longer than a MaxName line holds is cut with "…".
func formatMAC(v *gosnmp.SnmpPDU) string {
	b, ok := v.Value.([]byte)
	if !ok || len(b) == 0 {
		return ""
	}
	b = b[:min(len(b), maxPhysAddress)]
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return safetext.Line(sb.String(), safetext.MaxName)
}

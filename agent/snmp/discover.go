package snmp

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
)

// System is the SNMPv2-MIB system group of a device.
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
type Interface struct {
	Index       uint32
	Descr       string // ifDescr
	Name        string // ifName ("" without ifXTable)
	Alias       string // ifAlias
	Type        int    // ifType (IANAifType number)
	Speed       uint64 // bits per second: ifHighSpeed x 1e6 when larger than ifSpeed can say
	PhysAddress string // ifPhysAddress as aa:bb:cc:dd:ee:ff
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
	Descr string
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
		switch i {
		case sysDescr:
			sys.Descr = asString(v)
		case sysObjectID:
			if s, ok := v.Value.(string); ok {
				sys.ObjectID = strings.TrimPrefix(s, ".")
			}
		case sysUpTime:
			u, _ := asUint(v)
			sys.UpTime = uint32(u)
		case sysContact:
			sys.Contact = asString(v)
		case sysName:
			sys.Name = asString(v)
		case sysLocation:
			sys.Location = asString(v)
		case sysEngineBoots:
			u, ok := asUint(v)
			sys.EngineBoots, sys.HasBoots = uint32(u), ok
		}
	})
	if err != nil {
		return sys, err
	}
	if got == 0 {
		return sys, fmt.Errorf("%s: the device answers no object of the system group", t.sess.addr)
	}
	return sys, nil
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
		rows := map[uint32]*Interface{}
		var in32, out32, hcIn, hcOut = map[uint32]uint64{}, map[uint32]uint64{}, map[uint32]uint64{}, map[uint32]uint64{}
		highSpeed := map[uint32]uint64{}
		hcPresent := map[uint32]int{}
		row := func(idx uint32) *Interface {
			r := rows[idx]
			if r == nil {
				r = &Interface{Index: idx}
				rows[idx] = r
			}
			return r
		}
		inIfTable := map[uint32]bool{}
		err := t.walkColumns(discoverCols, func(col int, idx uint32, v *gosnmp.SnmpPDU) {
			r := row(idx)
			u, _ := asUint(v)
			switch discoverCol(col) {
			case dcDescr:
				r.Descr = asString(v)
				inIfTable[idx] = true
			case dcType:
				r.Type = int(u)
				inIfTable[idx] = true
			case dcSpeed:
				r.Speed = u
			case dcPhysAddress:
				r.PhysAddress = formatMAC(v)
			case dcAdminStatus:
				r.AdminStatus = AdminStatus(u)
			case dcOperStatus:
				r.OperStatus = OperStatus(u)
			case dcInOctets:
				in32[idx] = u
			case dcOutOctets:
				out32[idx] = u
			case dcName:
				r.Name = asString(v)
				r.HasX = true
			case dcHighSpeed:
				highSpeed[idx] = u
				r.HasX = true
			case dcAlias:
				r.Alias = asString(v)
				r.HasX = true
			case dcHCInOctets:
				if v.Type == gosnmp.Counter64 {
					hcIn[idx] = u
					hcPresent[idx]++
				}
			case dcHCOutOctets:
				if v.Type == gosnmp.Counter64 {
					hcOut[idx] = u
					hcPresent[idx]++
				}
			case dcDiscontinuity:
				r.Discontinuity = uint32(u)
				r.HasX = true
			}
		})
		if err != nil {
			return nil, fmt.Errorf("discover interfaces: %w", err)
		}
		for idx, r := range rows {
			if !inIfTable[idx] {
				continue // an ifXTable row without ifTable row is not an interface
			}
			if hs := highSpeed[idx]; hs > 0 && (r.Speed >= ifSpeedSaturated || hs*bitsPerMbit > r.Speed) {
				r.Speed = hs * bitsPerMbit
			}
			// 64-bit counters when both are there, unless they sit at 0
			// while the 32-bit ones count (devices that have ifXTable but
			// do not implement HC counters on some ports).
			r.HC = t.sess.version != gosnmp.Version1 && hcPresent[idx] == 2 &&
				!(hcIn[idx] == 0 && hcOut[idx] == 0 && (in32[idx] > 0 || out32[idx] > 0))
			r.Selected = t.filter.Match(r)
			dev.Interfaces = append(dev.Interfaces, *r)
		}
		sort.Slice(dev.Interfaces, func(i, j int) bool { return dev.Interfaces[i].Index < dev.Interfaces[j].Index })
		AssignIdentities(dev.Interfaces, t.set.PortMatch)
	}
	if t.hostResources {
		if err := t.discoverHostResources(dev); err != nil {
			return nil, err
		}
	}
	return dev, nil
}

func (t *Target) discoverHostResources(dev *Device) error {
	st := map[uint32]*Storage{}
	cols := []string{colHrStorageType, colHrStorageDescr, colHrStorageUnits, colHrStorageSize, colHrStorageUsed}
	err := t.walkColumns(cols, func(col int, idx uint32, v *gosnmp.SnmpPDU) {
		s := st[idx]
		if s == nil {
			s = &Storage{Index: idx}
			st[idx] = s
		}
		u, _ := asUint(v)
		switch col {
		case 0:
			if o, ok := v.Value.(string); ok {
				s.Type = strings.TrimPrefix(o, ".")
			}
		case 1:
			s.Descr = asString(v)
		case 2:
			s.Units = u
		case 3:
			s.Size = u
		case 4:
			s.Used = u
		}
	})
	if err != nil {
		return fmt.Errorf("discover hrStorageTable: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range st {
		if s.Descr == "" || seen[s.Descr] {
			continue // the attribute key is the description: keep it unique
		}
		seen[s.Descr] = true
		dev.Storage = append(dev.Storage, *s)
	}
	sort.Slice(dev.Storage, func(i, j int) bool { return dev.Storage[i].Index < dev.Storage[j].Index })
	err = t.walkColumns([]string{oidHrProcessorLoad}, func(_ int, idx uint32, _ *gosnmp.SnmpPDU) {
		dev.Processors = append(dev.Processors, idx)
	})
	if err != nil {
		return fmt.Errorf("discover hrProcessorTable: %w", err)
	}
	return nil
}

// AssignIdentities gives every interface a stable identity: for each
// interface, the first key in order (ifName, ifDescr, ifAlias, ifIndex:
// the config's port_match) whose value is non-empty and unique on the
// device. ifIndex is always unique, so it is the last resort even when the
// order leaves it out; its identity is written "ifIndex.N" so that it never
// collides with a name. Identities are unique on the device.
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
		return r.Name
	case "ifdescr":
		return r.Descr
	case "ifalias":
		return r.Alias
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

func formatMAC(v *gosnmp.SnmpPDU) string {
	b, ok := v.Value.([]byte)
	if !ok || len(b) == 0 {
		return ""
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

package wire

import "fmt"

// Device facts: what a discovery learnt about a device besides its
// attributes (issue 18). Sensors, CPU and memory are attributes with
// archives (KindSensor, KindProcessor, KindMemory); the hardware tree and
// the neighbours are facts, carried in Batch.Devices (key 7) and kept by
// the collector's inventory as the device's current state.
//
// DeviceFacts, Entity and Neighbor are CBOR maps with integer keys, so
// later versions add fields that older receivers skip; key numbers are
// never reused.

// Attribute kinds of device health (Attr.Kind), besides KindProcessor
// (which now also covers vendor CPUs: key "cpu:<source>.<index>").
const (
	KindSensor = "sensor" // a temperature, fan, power, voltage or optical sensor; key "sensor:<source>.<index>"
	KindMemory = "memory" // a memory pool or system memory; key "mem:<source>.<index>"
	KindLoad   = "load"   // UCD-SNMP-MIB load averages; key "load"
)

// Bounds of one host's facts: an agent never sends more, a collector
// refuses more (its quotas may be lower). A fully loaded chassis has a few
// thousand physical entities; a switch sees at most a few neighbours per port.
const (
	MaxEntities  = 4096
	MaxNeighbors = 2048
)

// Entity classes (ENTITY-MIB PhysicalClass), by name.
var entityClasses = []string{1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container", 6: "powerSupply",
	7: "fan", 8: "sensor", 9: "module", 10: "port", 11: "stack", 12: "cpu", 13: "energyObject", 14: "battery", 15: "storageDrive"}

// EntityClass names an ENTITY-MIB PhysicalClass value ("chassis",
// "powerSupply"...); an unknown number gives "class <n>".
func EntityClass(n int) string {
	if n > 0 && n < len(entityClasses) {
		return entityClasses[n]
	}
	return fmt.Sprintf("class %d", n)
}

// Entity is one row of ENTITY-MIB entPhysicalTable. Strings are clean
// lines (shared/safetext) of at most safetext.MaxName bytes.
type Entity struct {
	Index       uint32 `cbor:"1,keyasint" json:"index"`                             // entPhysicalIndex
	Class       string `cbor:"2,keyasint,omitempty" json:"class,omitempty"`         // EntityClass name
	Descr       string `cbor:"3,keyasint,omitempty" json:"descr,omitempty"`         // entPhysicalDescr
	Name        string `cbor:"4,keyasint,omitempty" json:"name,omitempty"`          // entPhysicalName
	Model       string `cbor:"5,keyasint,omitempty" json:"model,omitempty"`         // entPhysicalModelName
	Serial      string `cbor:"6,keyasint,omitempty" json:"serial,omitempty"`        // entPhysicalSerialNum
	HardwareRev string `cbor:"7,keyasint,omitempty" json:"hardware_rev,omitempty"`  // entPhysicalHardwareRev
	FirmwareRev string `cbor:"8,keyasint,omitempty" json:"firmware_rev,omitempty"`  // entPhysicalFirmwareRev
	SoftwareRev string `cbor:"9,keyasint,omitempty" json:"software_rev,omitempty"`  // entPhysicalSoftwareRev
	Vendor      string `cbor:"10,keyasint,omitempty" json:"vendor,omitempty"`       // entPhysicalMfgName
	ContainedIn uint32 `cbor:"11,keyasint,omitempty" json:"contained_in,omitempty"` // entPhysicalContainedIn; 0: top level
	Position    int32  `cbor:"12,keyasint,omitempty" json:"position,omitempty"`     // entPhysicalParentRelPos; -1 unknown
	FRU         bool   `cbor:"13,keyasint,omitempty" json:"fru,omitempty"`          // entPhysicalIsFRU
	IfIndex     uint32 `cbor:"14,keyasint,omitempty" json:"ifindex,omitempty"`      // the interface of a port (entAliasMappingTable); 0 none
}

// Neighbor protocols.
const (
	ProtoLLDP = "lldp"
	ProtoCDP  = "cdp"
)

// Neighbor is one remote system a device sees on one of its ports
// (LLDP-MIB lldpRemTable, CISCO-CDP-MIB cdpCacheTable). Strings are clean
// lines of at most safetext.MaxName bytes.
type Neighbor struct {
	Protocol     string `cbor:"1,keyasint" json:"protocol"`                               // ProtoLLDP or ProtoCDP
	LocalIfIndex uint32 `cbor:"2,keyasint,omitempty" json:"local_ifindex"`                // the local interface; 0 when the device does not say
	LocalPort    string `cbor:"3,keyasint,omitempty" json:"local_port,omitempty"`         // the local port's name (ifName, or LLDP's local port id)
	ChassisID    string `cbor:"4,keyasint,omitempty" json:"chassis_id,omitempty"`         // LLDP chassis id (a MAC as aa:bb:..., else text); CDP device id
	SysName      string `cbor:"5,keyasint,omitempty" json:"remote_name,omitempty"`        // LLDP system name; CDP device id
	PortID       string `cbor:"6,keyasint,omitempty" json:"remote_port,omitempty"`        // the remote port (LLDP port id, CDP device port)
	PortDescr    string `cbor:"7,keyasint,omitempty" json:"remote_port_descr,omitempty"`  // LLDP port description
	Platform     string `cbor:"8,keyasint,omitempty" json:"platform,omitempty"`           // CDP platform, or the first line of LLDP's system description
	MgmtAddr     string `cbor:"9,keyasint,omitempty" json:"management_address,omitempty"` // a management address (IPv4 or IPv6 text)
}

// DeviceFacts is what one discovery of host Host found: its physical
// entities and neighbours. A list whose Has flag is false was not read
// (feature disabled, table absent or backed off): the receiver keeps what
// it knew; a list read and empty (Has true, no items) means there is none.
type DeviceFacts struct {
	Host         string     `cbor:"1,keyasint"`
	Time         int64      `cbor:"2,keyasint"` // Unix milliseconds of the discovery
	HasEntities  bool       `cbor:"3,keyasint,omitempty"`
	Entities     []Entity   `cbor:"4,keyasint,omitempty"`
	HasNeighbors bool       `cbor:"5,keyasint,omitempty"`
	Neighbors    []Neighbor `cbor:"6,keyasint,omitempty"`
	// ChassisIDs are the device's own identities as neighbours see them
	// (lldpLocChassisId, formatted like Neighbor.ChassisID), so the
	// collector can match other devices' neighbours to this host.
	ChassisIDs []string `cbor:"7,keyasint,omitempty"`
	// MgmtAddrs are the device's own addresses (lldpLocManAddrTable).
	MgmtAddrs []string `cbor:"8,keyasint,omitempty"`
}

// Validate checks what the receiver cannot use: an empty host, lists over
// their bounds, an unknown neighbour protocol.
func (f *DeviceFacts) Validate() error {
	if f.Host == "" {
		return fmt.Errorf("device facts with empty host")
	}
	if len(f.Entities) > MaxEntities {
		return fmt.Errorf("device facts of %s: %d entities (at most %d)", f.Host, len(f.Entities), MaxEntities)
	}
	if len(f.Neighbors) > MaxNeighbors {
		return fmt.Errorf("device facts of %s: %d neighbours (at most %d)", f.Host, len(f.Neighbors), MaxNeighbors)
	}
	if len(f.ChassisIDs) > 16 || len(f.MgmtAddrs) > 64 {
		return fmt.Errorf("device facts of %s: %d chassis ids, %d addresses (at most 16, 64)", f.Host, len(f.ChassisIDs), len(f.MgmtAddrs))
	}
	for i := range f.Neighbors {
		if p := f.Neighbors[i].Protocol; p != ProtoLLDP && p != ProtoCDP {
			return fmt.Errorf("device facts of %s: neighbour with protocol %q", f.Host, p)
		}
	}
	return nil
}

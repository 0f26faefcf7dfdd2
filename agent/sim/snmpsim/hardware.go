package snmpsim

import (
	"fmt"
	"math"
	"net"
	"time"
)

// Hardware gives a simulated device what real switches and routers have
// besides interfaces (issue 18): an ENTITY-MIB physical table (chassis,
// line card, power supplies, fan tray, one port per interface up to
// MaxPorts, a sensor entity per sensor), CISCO-ENTITY-SENSOR-MIB sensors
// with thresholds, CISCO-PROCESS-MIB CPU, CISCO-MEMORY-POOL-MIB pools,
// UCD-SNMP-MIB load and memory, and LLDP-MIB neighbours. Values move on
// slow sine curves (periods of hours), deterministic in time and Seed.
type Hardware struct {
	Model  string // entPhysicalModelName of the chassis
	Serial string // entPhysicalSerialNum of the chassis; modules get Serial-N
	// ChassisMAC is the device's LLDP chassis id (subtype macAddress).
	ChassisMAC net.HardwareAddr
	// MgmtAddr is the management address LLDP advertises (IPv4).
	MgmtAddr net.IP
	Sensors  []Sensor
	// Neighbors are the LLDP remote systems the device sees.
	Neighbors []Neighbor
	// MaxPorts bounds the port entities (one per interface, in order);
	// default 48.
	MaxPorts int
}

// Sensor is one CISCO-ENTITY-SENSOR-MIB sensor.
type Sensor struct {
	Name string
	// Type is an EntitySensorDataType (8 celsius, 10 rpm, 4 voltsDC, 14 dBm...).
	Type int
	// Precision is the number of decimals the raw value carries.
	Precision int
	// Base and Swing: the value is Base + Swing·sin(…), in the unit.
	Base, Swing float64
	// Warn and Crit are "greater or equal" thresholds (0: none).
	Warn, Crit float64
}

// Neighbor is one LLDP remote system seen on local interface LocalPort.
type Neighbor struct {
	LocalPort  string // the local interface's Name
	ChassisMAC net.HardwareAddr
	SysName    string
	PortID     string // the remote interface name (port id subtype interfaceName)
	MgmtAddr   net.IP // IPv4
}

// extra is one object of the hardware MIBs and how to compute its value.
type extra struct {
	o oid
	v func(t time.Time) value
}

// Object identifiers of the hardware MIBs.
var (
	oidEntPhysical   = mustOID("1.3.6.1.2.1.47.1.1.1.1")
	oidEntAlias      = mustOID("1.3.6.1.2.1.47.1.3.2.1.2")
	oidCiscoSensor   = mustOID("1.3.6.1.4.1.9.9.91.1.1.1.1")
	oidCiscoThresh   = mustOID("1.3.6.1.4.1.9.9.91.1.2.1.1")
	oidCPMEntry      = mustOID("1.3.6.1.4.1.9.9.109.1.1.1.1")
	oidMemPool       = mustOID("1.3.6.1.4.1.9.9.48.1.1.1")
	oidUCDMem        = mustOID("1.3.6.1.4.1.2021.4")
	oidUCDLoadInt    = mustOID("1.3.6.1.4.1.2021.10.1.5")
	oidLLDPLocal     = mustOID("1.0.8802.1.1.2.1.3")
	oidLLDPRem       = mustOID("1.0.8802.1.1.2.1.4.1.1")
	oidLLDPRemMan    = mustOID("1.0.8802.1.1.2.1.4.2.1.3")
	oidLLDPLocManTbl = mustOID("1.0.8802.1.1.2.1.3.8.1.3")
)

func (h *Hardware) validate(ifs []Interface) error {
	names := map[string]bool{}
	for _, f := range ifs {
		names[f.Name] = true
	}
	for i, n := range h.Neighbors {
		if !names[n.LocalPort] {
			return fmt.Errorf("snmpsim: hardware neighbour %d: no interface %q", i, n.LocalPort)
		}
	}
	for i, s := range h.Sensors {
		if s.Type < 1 || s.Type > 14 || s.Precision < 0 || s.Precision > 9 {
			return fmt.Errorf("snmpsim: sensor %d (%q): type %d or precision %d out of range", i, s.Name, s.Type, s.Precision)
		}
	}
	return nil
}

// hardwareObjects lays out the hardware MIBs for interfaces ifs with the
// given current ifIndex values.
func hardwareObjects(h *Hardware, ifs []Interface, indices []int, seed int64) []extra {
	if h == nil {
		return nil
	}
	var out []extra
	str := func(s string) func(time.Time) value {
		b := []byte(s)
		return func(time.Time) value { return value{tag: tagOctetString, b: b} }
	}
	num := func(n int64) func(time.Time) value {
		return func(time.Time) value { return value{tag: tagInteger, i: n} }
	}
	gauge := func(f func(time.Time) float64) func(time.Time) value {
		return func(t time.Time) value { return value{tag: tagGauge32, u: uint64(max(0, f(t)))} }
	}
	add := func(o oid, v func(time.Time) value) { out = append(out, extra{o: o, v: v}) }
	wave := func(period time.Duration, offset float64) func(time.Time) float64 {
		return func(t time.Time) float64 {
			x := float64(t.UnixNano()%int64(period))/float64(period)*2*math.Pi + offset + float64(seed%89)
			return math.Sin(x)
		}
	}

	// ENTITY-MIB: 1 chassis, 2 line card, 3-4 power supplies, 5 fan tray,
	// 1000+i ports, 2000+i sensors.
	type ent struct {
		idx, in          uint32
		class            int64
		descr, name, mod string
		serial, sw       string
		pos              int64
		fru              bool
	}
	ents := []ent{
		{1, 0, 3, "Outpost simulated chassis", "Chassis", h.Model, h.Serial, "OutpostOS 1.0", -1, false},
		{2, 1, 9, "48-port line card", "Slot 1", "LC-48", h.Serial + "-1", "", 1, true},
		{3, 1, 6, "AC power supply", "PSU 1", "PWR-650", h.Serial + "-P1", "", 2, true},
		{4, 1, 6, "AC power supply", "PSU 2", "PWR-650", h.Serial + "-P2", "", 3, true},
		{5, 1, 7, "Fan tray", "Fan tray", "FAN-T1", h.Serial + "-F", "", 4, true},
	}
	maxPorts := h.MaxPorts
	if maxPorts == 0 {
		maxPorts = 48
	}
	for i := range ifs {
		if i >= maxPorts {
			break
		}
		ents = append(ents, ent{uint32(1000 + i), 2, 10, ifs[i].Descr, ifs[i].Name, "", "", "", int64(i + 1), false})
	}
	for i, s := range h.Sensors {
		ents = append(ents, ent{uint32(2000 + i), 1, 8, s.Name + " sensor", s.Name, "", "", "", int64(10 + i), false})
	}
	cols := []struct {
		col uint32
		v   func(e ent) func(time.Time) value
	}{
		{2, func(e ent) func(time.Time) value { return str(e.descr) }},
		{4, func(e ent) func(time.Time) value { return num(int64(e.in)) }},
		{5, func(e ent) func(time.Time) value { return num(e.class) }},
		{6, func(e ent) func(time.Time) value { return num(e.pos) }},
		{7, func(e ent) func(time.Time) value { return str(e.name) }},
		{10, func(e ent) func(time.Time) value { return str(e.sw) }},
		{11, func(e ent) func(time.Time) value { return str(e.serial) }},
		{12, func(e ent) func(time.Time) value { return str("Outpost") }},
		{13, func(e ent) func(time.Time) value { return str(e.mod) }},
		{16, func(e ent) func(time.Time) value { return num(map[bool]int64{true: 1, false: 2}[e.fru]) }},
	}
	for _, c := range cols {
		for _, e := range ents {
			add(oidEntPhysical.with(c.col, e.idx), c.v(e))
		}
	}
	for i := range ifs {
		if i >= maxPorts {
			break
		}
		add(oidEntAlias.with(uint32(1000+i), 0), func(time.Time) value {
			return value{tag: tagOID, o: mustOID("1.3.6.1.2.1.2.2.1.1").with(uint32(indices[i]))}
		})
	}

	// CISCO-ENTITY-SENSOR-MIB: type, scale (units), precision, value, status; thresholds.
	for col := uint32(1); col <= 5; col++ {
		for i, s := range h.Sensors {
			idx := uint32(2000 + i)
			f := wave(3*time.Hour, float64(i))
			var v func(time.Time) value
			switch col {
			case 1:
				v = num(int64(s.Type))
			case 2:
				v = num(9)
			case 3:
				v = num(int64(s.Precision))
			case 4:
				scale := math.Pow10(s.Precision)
				v = func(t time.Time) value {
					return value{tag: tagInteger, i: int64(math.Round((s.Base + s.Swing*f(t)) * scale))}
				}
			case 5:
				v = num(1)
			}
			add(oidCiscoSensor.with(col, idx), v)
		}
	}
	for col := uint32(2); col <= 4; col++ {
		for i, s := range h.Sensors {
			scale := math.Pow10(s.Precision)
			for k, th := range []struct {
				sev int64
				v   float64
			}{{20, s.Warn}, {30, s.Crit}} {
				if th.v == 0 {
					continue
				}
				v := map[uint32]int64{2: th.sev, 3: 4, 4: int64(math.Round(th.v * scale))}[col]
				add(oidCiscoThresh.with(col, uint32(2000+i), uint32(k+1)), num(v))
			}
		}
	}

	// CISCO-PROCESS-MIB (one CPU on the chassis) and CISCO-MEMORY-POOL-MIB.
	cpu := wave(2*time.Hour, 0.5)
	add(oidCPMEntry.with(2, 1), num(1))
	add(oidCPMEntry.with(7, 1), gauge(func(t time.Time) float64 { return 30 + 20*cpu(t) }))
	add(oidCPMEntry.with(8, 1), gauge(func(t time.Time) float64 { return 30 + 15*cpu(t.Add(-2*time.Minute)) }))
	pools := []struct {
		name string
		size float64
	}{{"Processor", 512 << 20}, {"I/O", 64 << 20}}
	for col := uint32(2); col <= 6; col++ {
		for i, p := range pools {
			f := wave(5*time.Hour, float64(i)+1)
			used := func(t time.Time) float64 { return p.size * (0.5 + 0.15*f(t)) }
			var v func(time.Time) value
			switch col {
			case 2:
				v = str(p.name)
			case 3:
				v = num(0)
			case 4:
				v = num(1)
			case 5:
				v = gauge(used)
			case 6:
				v = gauge(func(t time.Time) float64 { return p.size - used(t) })
			}
			add(oidMemPool.with(col, uint32(i+1)), v)
		}
	}

	// UCD-SNMP-MIB memory (kB) and load (×100).
	const totalKB = 4 << 20
	mem := wave(4*time.Hour, 2)
	add(oidUCDMem.with(3, 0), num(2<<20))
	add(oidUCDMem.with(4, 0), num(2<<20-(64<<10)))
	add(oidUCDMem.with(5, 0), num(totalKB))
	add(oidUCDMem.with(6, 0), func(t time.Time) value { return value{tag: tagInteger, i: int64(totalKB * (0.35 + 0.1*mem(t)))} })
	add(oidUCDMem.with(14, 0), num(96<<10))
	add(oidUCDMem.with(15, 0), num(512<<10))
	for i := uint32(1); i <= 3; i++ {
		add(oidUCDLoadInt.with(i), func(t time.Time) value {
			return value{tag: tagInteger, i: int64(100 * (1.2 + cpu(t.Add(-time.Duration(i)*time.Minute))))}
		})
	}

	// LLDP-MIB: local chassis, local ports (number = ifIndex, id = ifName),
	// local management address, remote systems and their addresses.
	add(oidLLDPLocal.with(1, 0), num(4))
	add(oidLLDPLocal.with(2, 0), str(string(h.ChassisMAC)))
	add(oidLLDPLocal.with(3, 0), str(""))
	byName := map[string]int{}
	for i, f := range ifs {
		byName[f.Name] = indices[i]
	}
	for col := uint32(2); col <= 4; col++ {
		for i, f := range ifs {
			if i >= maxPorts {
				break
			}
			v := map[uint32]func(time.Time) value{2: num(5), 3: str(f.Name), 4: str(f.Descr)}[col]
			add(oidLLDPLocal.with(7, 1, col, uint32(indices[i])), v)
		}
	}
	if ip := h.MgmtAddr.To4(); ip != nil {
		add(oidLLDPLocManTbl.with(1, 4, uint32(ip[0]), uint32(ip[1]), uint32(ip[2]), uint32(ip[3])), num(2))
	}
	for col := uint32(4); col <= 10; col++ {
		for k, n := range h.Neighbors {
			local := uint32(byName[n.LocalPort])
			v := map[uint32]func(time.Time) value{4: num(4), 5: str(string(n.ChassisMAC)), 6: num(5), 7: str(n.PortID),
				8: str(n.PortID + " to " + h.Model), 9: str(n.SysName), 10: str("Outpost simulated device\n" + n.SysName)}[col]
			add(oidLLDPRem.with(col, 0, local, uint32(k+1)), v)
		}
	}
	for k, n := range h.Neighbors {
		if ip := n.MgmtAddr.To4(); ip != nil {
			local := uint32(byName[n.LocalPort])
			add(oidLLDPRemMan.with(0, local, uint32(k+1), 1, 4, uint32(ip[0]), uint32(ip[1]), uint32(ip[2]), uint32(ip[3])), num(2))
		}
	}
	return out
}

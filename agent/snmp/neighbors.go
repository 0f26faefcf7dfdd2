package snmp

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/wire"
)

// LLDP-MIB (IEEE 802.1AB) and CISCO-CDP-MIB objects.
const (
	oidLLDPLocChassisSubtype = "1.0.8802.1.1.2.1.3.1.0"
	oidLLDPLocChassisID      = "1.0.8802.1.1.2.1.3.2.0"
	oidLLDPLocPortEntry      = "1.0.8802.1.1.2.1.3.7.1" // .2 portIdSubtype .3 portId .4 portDesc
	oidLLDPLocManAddrIf      = "1.0.8802.1.1.2.1.3.8.1.3"
	oidLLDPRemEntry          = "1.0.8802.1.1.2.1.4.1.1" // .4 .. .10
	oidLLDPRemManAddrIf      = "1.0.8802.1.1.2.1.4.2.1.3"
	oidCDPCacheEntry         = "1.3.6.1.4.1.9.9.23.1.2.1.1" // .3 addressType .4 address .6 deviceId .7 devicePort .8 platform
)

var lldpRemCols = []string{
	oidLLDPRemEntry + ".4", oidLLDPRemEntry + ".5", oidLLDPRemEntry + ".6", oidLLDPRemEntry + ".7",
	oidLLDPRemEntry + ".8", oidLLDPRemEntry + ".9", oidLLDPRemEntry + ".10",
}

const (
	lrChassisSubtype = iota
	lrChassisID
	lrPortSubtype
	lrPortID
	lrPortDesc
	lrSysName
	lrSysDesc
)

type lldpRem struct {
	localPort            uint32
	chassisSub, portSub  int64
	chassis, port        []byte
	portDesc, sys, descr string
	addr                 string
}

// discoverLLDP reads the device's own chassis id and addresses, its local
// ports, and the remote systems with their management addresses.
func (t *Target) discoverLLDP(dev *Device) error {
	var sub int64
	var chassis []byte
	err := t.getPacked([]string{oidLLDPLocChassisSubtype, oidLLDPLocChassisID}, func(i int, v *gosnmp.SnmpPDU) {
		if i == 0 {
			sub, _ = asInt(v)
		} else if b, ok := v.Value.([]byte); ok {
			chassis = b
		}
	})
	if err != nil {
		return err
	}
	if len(chassis) > 0 {
		dev.ChassisIDs = append(dev.ChassisIDs, formatChassisID(sub, chassis))
	}
	err = t.walkTable([]string{oidLLDPLocManAddrIf}, 64, func(_ int, idx []uint32, _ *gosnmp.SnmpPDU) {
		if a := indexAddress(idx); a != "" {
			dev.MgmtAddrs = append(dev.MgmtAddrs, a)
		}
	})
	if err != nil {
		return err
	}
	type locPort struct {
		sub  int64
		id   []byte
		desc string
	}
	loc := map[uint32]*locPort{}
	cols := []string{oidLLDPLocPortEntry + ".2", oidLLDPLocPortEntry + ".3", oidLLDPLocPortEntry + ".4"}
	err = t.walkTable(cols, wire.MaxNeighbors, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
		if len(idx) != 1 {
			return
		}
		p := loc[idx[0]]
		if p == nil {
			p = &locPort{}
			loc[idx[0]] = p
		}
		switch col {
		case 0:
			p.sub, _ = asInt(v)
		case 1:
			p.id, _ = v.Value.([]byte)
		case 2:
			p.desc = lineOf(v, safetext.MaxName)
		}
	})
	if err != nil {
		return err
	}
	rems := map[string]*lldpRem{}
	var order []string
	err = t.walkTable(lldpRemCols, wire.MaxNeighbors, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
		if len(idx) != 3 {
			return
		}
		key := indexText(idx[1:])
		r := rems[key]
		if r == nil {
			if len(rems) >= wire.MaxNeighbors {
				return
			}
			r = &lldpRem{localPort: idx[1]}
			rems[key] = r
			order = append(order, key)
		}
		b, _ := v.Value.([]byte)
		switch col {
		case lrChassisSubtype:
			r.chassisSub, _ = asInt(v)
		case lrChassisID:
			r.chassis = b
		case lrPortSubtype:
			r.portSub, _ = asInt(v)
		case lrPortID:
			r.port = b
		case lrPortDesc:
			r.portDesc = lineOf(v, safetext.MaxName)
		case lrSysName:
			r.sys = lineOf(v, safetext.MaxName)
		case lrSysDesc:
			first, _, _ := strings.Cut(string(b), "\n")
			r.descr = safetext.Line(first, safetext.MaxName)
		}
	})
	if err != nil {
		return err
	}
	if len(rems) > 0 {
		err = t.walkTable([]string{oidLLDPRemManAddrIf}, wire.MaxNeighbors, func(_ int, idx []uint32, _ *gosnmp.SnmpPDU) {
			if len(idx) < 5 {
				return
			}
			if r := rems[indexText(idx[1:3])]; r != nil && r.addr == "" {
				r.addr = indexAddress(idx[3:])
			}
		})
		if err != nil {
			return err
		}
	}
	byName := map[string]uint32{}
	for _, r := range dev.Interfaces {
		for _, n := range []string{r.Name, r.Descr} {
			if _, dup := byName[n]; n != "" && !dup {
				byName[n] = r.Index
			}
		}
	}
	ifByIndex := dev.interfaceByIndex()
	for _, key := range order {
		r := rems[key]
		n := wire.Neighbor{
			Protocol:  wire.ProtoLLDP,
			ChassisID: formatChassisID(r.chassisSub, r.chassis),
			PortID:    formatPortID(r.portSub, r.port),
			PortDescr: r.portDesc, SysName: r.sys, Platform: r.descr, MgmtAddr: r.addr,
		}
		// The local port number is an ifIndex on most devices; the local
		// port id (an interface name) says which interface when it is not.
		if p := loc[r.localPort]; p != nil {
			id := formatPortID(p.sub, p.id)
			if ix, ok := byName[id]; ok && (p.sub == 5 || p.sub == 7 || p.sub == 1) {
				n.LocalIfIndex = ix
			} else if ix, ok := byName[p.desc]; ok {
				n.LocalIfIndex = ix
			}
			n.LocalPort = id
		}
		if n.LocalIfIndex == 0 {
			if _, ok := ifByIndex[r.localPort]; ok {
				n.LocalIfIndex = r.localPort
			}
		}
		if ifc, ok := ifByIndex[n.LocalIfIndex]; ok {
			n.LocalPort = ifc.displayName()
		}
		if n.LocalPort == "" {
			n.LocalPort = "port " + strconv.FormatUint(uint64(r.localPort), 10)
		}
		dev.Neighbors = append(dev.Neighbors, n)
	}
	return nil
}

// discoverCDP reads cdpCacheTable: one row per neighbour and local ifIndex.
func (t *Target) discoverCDP(dev *Device) error {
	cols := []string{oidCDPCacheEntry + ".3", oidCDPCacheEntry + ".4", oidCDPCacheEntry + ".6", oidCDPCacheEntry + ".7", oidCDPCacheEntry + ".8"}
	type row struct {
		ifIndex          uint32
		addrType         int64
		addr             []byte
		id, port, platfm string
	}
	rows := map[[2]uint32]*row{}
	var order [][2]uint32
	err := t.walkTable(cols, wire.MaxNeighbors, func(col int, idx []uint32, v *gosnmp.SnmpPDU) {
		if len(idx) != 2 {
			return
		}
		k := [2]uint32{idx[0], idx[1]}
		r := rows[k]
		if r == nil {
			if len(rows) >= wire.MaxNeighbors {
				return
			}
			r = &row{ifIndex: idx[0]}
			rows[k] = r
			order = append(order, k)
		}
		switch col {
		case 0:
			r.addrType, _ = asInt(v)
		case 1:
			r.addr, _ = v.Value.([]byte)
		case 2:
			r.id = lineOf(v, safetext.MaxName)
		case 3:
			r.port = lineOf(v, safetext.MaxName)
		case 4:
			r.platfm = lineOf(v, safetext.MaxName)
		}
	})
	if err != nil {
		return err
	}
	ifByIndex := dev.interfaceByIndex()
	for _, k := range order {
		r := rows[k]
		n := wire.Neighbor{Protocol: wire.ProtoCDP, LocalIfIndex: r.ifIndex, ChassisID: r.id, SysName: r.id, PortID: r.port, Platform: r.platfm}
		if r.addrType == 1 {
			if a, ok := netip.AddrFromSlice(r.addr); ok {
				n.MgmtAddr = a.Unmap().String()
			}
		}
		if ifc, ok := ifByIndex[r.ifIndex]; ok {
			n.LocalPort = ifc.displayName()
		} else {
			n.LocalPort = "ifIndex " + strconv.FormatUint(uint64(r.ifIndex), 10)
		}
		dev.Neighbors = append(dev.Neighbors, n)
	}
	return nil
}

// interfaceByIndex maps ifIndex to the discovered interface.
func (d *Device) interfaceByIndex() map[uint32]*Interface {
	m := make(map[uint32]*Interface, len(d.Interfaces))
	for i := range d.Interfaces {
		m[d.Interfaces[i].Index] = &d.Interfaces[i]
	}
	return m
}

// displayName is the interface's ifName, else its ifDescr.
func (r *Interface) displayName() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Descr
}

// formatChassisID writes an LLDP chassis id by its subtype: a MAC address
// (4) as aa:bb:cc:dd:ee:ff, a network address (5) as text, the others
// (names, local ids) as a clean line, or hex when they are not text.
func formatChassisID(subtype int64, b []byte) string {
	switch subtype {
	case 4:
		return hexBytes(b)
	case 5:
		if a := familyAddress(b); a != "" {
			return a
		}
	}
	return textOrHex(b)
}

// formatPortID writes an LLDP port id by its subtype: MAC (3), network
// address (4), else text.
func formatPortID(subtype int64, b []byte) string {
	switch subtype {
	case 3:
		return hexBytes(b)
	case 4:
		if a := familyAddress(b); a != "" {
			return a
		}
	}
	return textOrHex(b)
}

// familyAddress decodes an IANA address family byte then the address.
func familyAddress(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	if a, ok := netip.AddrFromSlice(b[1:]); ok && (b[0] == 1 && a.Is4() || b[0] == 2 && a.Is6()) {
		return a.String()
	}
	return ""
}

// indexAddress decodes an address from a table index written as
// subtype.length.bytes (lldpManAddrSubtype, then an OCTET STRING index).
func indexAddress(idx []uint32) string {
	if len(idx) < 2 || int(idx[1]) != len(idx)-2 {
		return ""
	}
	b := make([]byte, 0, len(idx)-2)
	for _, n := range idx[2:] {
		if n > 255 {
			return ""
		}
		b = append(b, byte(n))
	}
	if a, ok := netip.AddrFromSlice(b); ok && (idx[0] == 1 && a.Is4() || idx[0] == 2 && a.Is6()) {
		return a.String()
	}
	return ""
}

func hexBytes(b []byte) string {
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

// textOrHex shows bytes that are printable text as a clean line, anything
// else (binary ids) as hex.
func textOrHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if utf8.Valid(b) {
		printable := true
		for _, c := range string(b) {
			if c < 0x20 || c == 0x7f {
				printable = false
				break
			}
		}
		if printable {
			return safetext.LineBytes(b, safetext.MaxName)
		}
	}
	return hexBytes(b)
}

// sortNeighbors orders neighbours by local interface, protocol, name.
func sortNeighbors(ns []wire.Neighbor) {
	sort.SliceStable(ns, func(i, j int) bool {
		a, b := ns[i], ns[j]
		if a.LocalIfIndex != b.LocalIfIndex {
			return a.LocalIfIndex < b.LocalIfIndex
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.SysName < b.SysName
	})
}

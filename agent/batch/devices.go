package batch

import (
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Device facts (wire.DeviceFacts) travel in the batch of their host's
// inventory, or with its last part when the inventory is split, so the
// collector applies them after the attributes they describe. They are
// bounded to one part's size: a device with more entities than that keeps
// the first (lowest indexes: chassis and modules come first on real
// devices) and the batcher logs the cut. Facts are not repeated at the
// head of spool segments as inventories are: a spool that drops the batch
// holding them loses them until the host's next discovery, and the
// collector keeps what it knew meanwhile.

// factsSize estimates the encoded size of f.
func factsSize(f *wire.DeviceFacts) int {
	n := 32 + len(f.Host)
	for i := range f.Entities {
		e := &f.Entities[i]
		n += 40 + len(e.Class) + len(e.Descr) + len(e.Name) + len(e.Model) + len(e.Serial) +
			len(e.HardwareRev) + len(e.FirmwareRev) + len(e.SoftwareRev) + len(e.Vendor)
	}
	for i := range f.Neighbors {
		x := &f.Neighbors[i]
		n += 24 + len(x.Protocol) + len(x.LocalPort) + len(x.ChassisID) + len(x.SysName) + len(x.PortID) +
			len(x.PortDescr) + len(x.Platform) + len(x.MgmtAddr)
	}
	for _, s := range f.ChassisIDs {
		n += 2 + len(s)
	}
	for _, s := range f.MgmtAddrs {
		n += 2 + len(s)
	}
	return n
}

// boundFacts returns f within the wire's counts and max bytes (a copy
// when it cuts), and whether it cut.
func boundFacts(f *wire.DeviceFacts, max int) (*wire.DeviceFacts, bool) {
	if factsSize(f) <= max && len(f.Entities) <= wire.MaxEntities && len(f.Neighbors) <= wire.MaxNeighbors {
		return f, false
	}
	c := *f
	c.Entities = c.Entities[:min(len(c.Entities), wire.MaxEntities)]
	c.Neighbors = c.Neighbors[:min(len(c.Neighbors), wire.MaxNeighbors)]
	for factsSize(&c) > max && len(c.Entities) > 0 {
		c.Entities = c.Entities[:len(c.Entities)*3/4]
	}
	for factsSize(&c) > max && len(c.Neighbors) > 0 {
		c.Neighbors = c.Neighbors[:len(c.Neighbors)*3/4]
	}
	return &c, true
}

// cleanFacts makes every string of f clean, copying what it changes.
func cleanFacts(f *wire.DeviceFacts, c *strCheck) *wire.DeviceFacts {
	if factsClean(f) {
		return f
	}
	cp := *f
	c.line(&cp.Host, safetext.MaxName, "device facts host")
	cp.Entities = append([]wire.Entity(nil), f.Entities...)
	for i := range cp.Entities {
		e := &cp.Entities[i]
		for _, s := range []*string{&e.Class, &e.Descr, &e.Name, &e.Model, &e.Serial, &e.HardwareRev, &e.FirmwareRev, &e.SoftwareRev, &e.Vendor} {
			c.line(s, safetext.MaxName, "entity string")
		}
	}
	cp.Neighbors = append([]wire.Neighbor(nil), f.Neighbors...)
	for i := range cp.Neighbors {
		x := &cp.Neighbors[i]
		for _, s := range []*string{&x.Protocol, &x.LocalPort, &x.ChassisID, &x.SysName, &x.PortID, &x.PortDescr, &x.Platform, &x.MgmtAddr} {
			c.line(s, safetext.MaxName, "neighbour string")
		}
	}
	cp.ChassisIDs = append([]string(nil), f.ChassisIDs...)
	for i := range cp.ChassisIDs {
		c.line(&cp.ChassisIDs[i], safetext.MaxName, "chassis id")
	}
	cp.MgmtAddrs = append([]string(nil), f.MgmtAddrs...)
	for i := range cp.MgmtAddrs {
		c.line(&cp.MgmtAddrs[i], safetext.MaxName, "management address")
	}
	return &cp
}

func factsClean(f *wire.DeviceFacts) bool {
	ok := lineOK(f.Host)
	for i := range f.Entities {
		e := &f.Entities[i]
		ok = ok && lineOK(e.Class) && lineOK(e.Descr) && lineOK(e.Name) && lineOK(e.Model) && lineOK(e.Serial) &&
			lineOK(e.HardwareRev) && lineOK(e.FirmwareRev) && lineOK(e.SoftwareRev) && lineOK(e.Vendor)
	}
	for i := range f.Neighbors {
		x := &f.Neighbors[i]
		ok = ok && lineOK(x.Protocol) && lineOK(x.LocalPort) && lineOK(x.ChassisID) && lineOK(x.SysName) &&
			lineOK(x.PortID) && lineOK(x.PortDescr) && lineOK(x.Platform) && lineOK(x.MgmtAddr)
	}
	for _, s := range f.ChassisIDs {
		ok = ok && lineOK(s)
	}
	for _, s := range f.MgmtAddrs {
		ok = ok && lineOK(s)
	}
	return ok
}

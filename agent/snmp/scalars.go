package snmp

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gosnmp/gosnmp"
)

type scalars struct {
	uptime   uint32
	boots    uint32
	hasBoots bool
	oidVals  []*gosnmp.SnmpPDU             // per t.oids
	storage  map[uint32][2]*gosnmp.SnmpPDU // hrStorageSize, hrStorageUsed by hrStorageIndex
	cpu      map[uint32]*gosnmp.SnmpPDU    // hrProcessorLoad by hrDeviceIndex
}

// Positions in readScalars' request: sysUpTime.0, snmpEngineBoots.0, then
// the user OIDs, storage (size, used per row) and processors.
const (
	scUptime = iota
	scBoots
	scFirstOID
)

// readScalars gets sysUpTime, snmpEngineBoots, the user OIDs and the
// HOST-RESOURCES values in as few Gets as MaxOIDs allows.
func (t *Target) readScalars() (*scalars, error) {
	sc := &scalars{oidVals: make([]*gosnmp.SnmpPDU, len(t.oids))}
	oids := []string{oidSysUpTime, oidEngineBoots}
	for _, o := range t.oids {
		oids = append(oids, o.oid)
	}
	stBase := len(oids)
	if t.dev != nil {
		for _, s := range t.dev.Storage {
			idx := strconv.FormatUint(uint64(s.Index), 10)
			oids = append(oids, colHrStorageSize+"."+idx, colHrStorageUsed+"."+idx)
		}
	}
	cpuBase := len(oids)
	if t.dev != nil {
		for _, p := range t.dev.Processors {
			oids = append(oids, oidHrProcessorLoad+"."+strconv.FormatUint(uint64(p), 10))
		}
	}
	gotUptime := false
	sc.storage = map[uint32][2]*gosnmp.SnmpPDU{}
	sc.cpu = map[uint32]*gosnmp.SnmpPDU{}
	err := t.getPacked(oids, func(i int, v *gosnmp.SnmpPDU) {
		u, isInt := asUint(v)
		switch {
		case i == scUptime:
			sc.uptime, gotUptime = uint32(u), isInt
		case i == scBoots:
			sc.boots, sc.hasBoots = uint32(u), isInt
		case i < stBase:
			sc.oidVals[i-scFirstOID] = v
		case i < cpuBase:
			s := t.dev.Storage[(i-stBase)/2]
			cur := sc.storage[s.Index]
			cur[(i-stBase)%2] = v
			sc.storage[s.Index] = cur
		default:
			sc.cpu[t.dev.Processors[i-cpuBase]] = v
		}
	})
	if err != nil {
		return nil, err
	}
	if !gotUptime {
		return nil, fmt.Errorf("%s: no sysUpTime.0 in the answer", t.sess.addr)
	}
	return sc, nil
}

// restarted decides whether the device restarted since the last poll:
// snmpEngineBoots went up, or sysUpTime went back, except when it went
// back by a wrap of its 32-bit TimeTicks (after ~497 days) that the time
// between the polls explains.
func (t *Target) restarted(sc *scalars, now time.Time) bool {
	if sc.hasBoots && t.haveBoots && sc.boots != t.lastBoots {
		return true
	}
	if !t.haveUptime || sc.uptime >= t.lastUptime {
		return false
	}
	return !isUptimeWrap(t.lastUptime, sc.uptime, now.Sub(t.lastPoll))
}

// isUptimeWrap reports whether sysUpTime going from prev to cur (cur < prev)
// after elapsed wall time is a wrap at 2^32 ticks rather than a restart:
// the forward distance through the wrap must fit the elapsed time (with
// slack for clock differences and the request's round trip).
func isUptimeWrap(prev, cur uint32, elapsed time.Duration) bool {
	forward := uint64(cur) + (1 << 32) - uint64(prev) // ticks, 1/100 s
	allowed := uint64(elapsed/(10*time.Millisecond))*2 + 6000
	return forward <= allowed
}

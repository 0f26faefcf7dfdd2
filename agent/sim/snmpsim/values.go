package snmpsim

import (
	"math"
	"time"
)

const (
	dirIn  = 0
	dirOut = 1
	day    = 24 * time.Hour
)

// Fixed ratios from octets to the derived counters, per direction: each
// derived counter is floor(octets / ratio), so it is as exact and monotonic
// as the octet counter it comes from.
var (
	ratioUcast   = [2]float64{700, 900}
	ratioMcast   = [2]float64{120000, 160000}
	ratioBcast   = [2]float64{450000, 600000}
	ratioDiscard = [2]float64{3e8, 5e8}
	ratioError   = [2]float64{1.1e9, 2.5e9}
	ratioUnknown = 2e9
)

// flapUp reports whether a flapping interface is up at t.
func flapUp(p time.Duration, t time.Time) bool {
	return time.Duration(t.UnixNano()%int64(p)) < p/2
}

// operStatus is the ifOperStatus the device reports at t.
func (s *ifState) operStatus(t time.Time) int {
	if !s.admin {
		return OperDown
	}
	if s.oper == OperUp && s.cfg.FlapPeriod > 0 && !flapUp(s.cfg.FlapPeriod, t) {
		return OperDown
	}
	return s.oper
}

// carries reports whether the configured state lets traffic flow (flapping
// is accounted for inside the integral).
func (s *ifState) carries() bool { return s.admin && s.oper == OperUp }

// lastChangeAt is the time of the last ifOperStatus change at or before t.
func (s *ifState) lastChangeAt(t time.Time) time.Time {
	lc := s.lastChange
	if p := s.cfg.FlapPeriod; p > 0 && s.carries() {
		ns := t.UnixNano()
		start := ns - ns%int64(p)
		if time.Duration(ns%int64(p)) >= p/2 {
			start += int64(p / 2)
		}
		if ft := time.Unix(0, start); ft.After(lc) {
			lc = ft
		}
	}
	return lc
}

// octets is the octet counter (unbounded) in direction dir at t.
func (s *ifState) octets(dir int, t time.Time) float64 {
	if !s.carries() || !t.After(s.epoch) {
		return s.acc[dir]
	}
	rate := s.cfg.InRate
	if dir == dirOut {
		rate = s.cfg.OutRate
	}
	return s.acc[dir] + integral(&s.cfg, rate, s.epoch, t)
}

// integral is the number of bytes a port with mean rate (bytes/s) carries
// from a to b (a <= b), following the port's curve, bursts or flapping.
func integral(f *Interface, rate float64, a, b time.Time) float64 {
	if rate == 0 {
		return 0
	}
	if p := f.FlapPeriod; p > 0 {
		return rate * (upSeconds(p, p/2, b) - upSeconds(p, p/2, a))
	}
	total := rate * b.Sub(a).Seconds()
	if f.Diurnal > 0 {
		// ∫ rate·A·sin(ωt+φ) dt = -rate·A/ω·[cos(ωt+φ)]; peak at 15:00 UTC.
		omega := 2 * math.Pi / day.Seconds()
		phase := func(t time.Time) float64 {
			sod := float64(t.UnixNano()%int64(day)) / 1e9
			return omega*sod + math.Pi/2 - omega*15*3600
		}
		total -= rate * f.Diurnal / omega * (math.Cos(phase(b)) - math.Cos(phase(a)))
	}
	if f.BurstEvery > 0 && f.BurstLength > 0 && f.BurstFactor > 1 {
		total += rate * (f.BurstFactor - 1) * (upSeconds(f.BurstEvery, f.BurstLength, b) - upSeconds(f.BurstEvery, f.BurstLength, a))
	}
	return total
}

// upSeconds counts the seconds from the Unix epoch to t that fall in the
// first `on` of every period p.
func upSeconds(p, on time.Duration, t time.Time) float64 {
	ns := t.UnixNano()
	full := ns / int64(p)
	rem := time.Duration(ns % int64(p))
	return float64(full)*on.Seconds() + min(rem, on).Seconds()
}

func floorU(x float64) uint64 {
	if x <= 0 {
		return 0
	}
	return uint64(x)
}

// valueLocked computes the value of object ob, row pos, at time t. The
// caller holds d.mu (read).
func (d *Device) valueLocked(ob obj, pos int, t time.Time) value {
	switch ob {
	case objSysDescr:
		return value{tag: tagOctetString, b: []byte(d.cfg.SysDescr)}
	case objSysObjectID:
		o, _ := parseOID(d.cfg.SysObjectID)
		return value{tag: tagOID, o: o}
	case objSysUpTime, objHrSystemUptime:
		return value{tag: tagTimeTicks, u: uint64(ticks(t.Sub(d.restartAt)))}
	case objSysContact:
		return value{tag: tagOctetString, b: []byte(d.cfg.Contact)}
	case objSysName:
		return value{tag: tagOctetString, b: []byte(d.cfg.SysName)}
	case objSysLocation:
		return value{tag: tagOctetString, b: []byte(d.cfg.Location)}
	case objSysServices:
		return value{tag: tagInteger, i: 6}
	case objIfNumber:
		return value{tag: tagInteger, i: int64(len(d.ifs))}
	case objEngineID:
		return value{tag: tagOctetString, b: d.cfg.EngineID}
	case objEngineBoots:
		return value{tag: tagInteger, i: int64(d.boots)}
	case objEngineTime:
		return value{tag: tagInteger, i: int64(d.engineTime(t))}
	case objEngineMaxMsg:
		return value{tag: tagInteger, i: int64(d.cfg.MaxMsgSize)}
	case objExtra:
		if x := d.table.Load().extras; pos < len(x) {
			return x[pos].v(t)
		}
		return value{tag: tagNull}
	default: // table columns, below
	}
	if ob >= objHrStorageIndex {
		return d.hrValue(ob, pos, t)
	}
	s := &d.ifs[pos]
	c32 := func(x float64) value { return value{tag: tagCounter32, u: floorU(x) & 0xffffffff} }
	c64 := func(x float64) value {
		if s.cfg.NoHC {
			return value{tag: tagCounter64}
		}
		return value{tag: tagCounter64, u: floorU(x)}
	}
	in, out := s.octets(dirIn, t), s.octets(dirOut, t)
	oct := [2]float64{in, out}
	div := func(dir int, r float64) float64 { return math.Floor(oct[dir] / r) }
	switch ob {
	case objIfIndex:
		return value{tag: tagInteger, i: int64(s.index)}
	case objIfDescr:
		return value{tag: tagOctetString, b: []byte(s.cfg.Descr)}
	case objIfType:
		return value{tag: tagInteger, i: int64(s.cfg.Type)}
	case objIfMtu:
		return value{tag: tagInteger, i: int64(s.cfg.MTU)}
	case objIfSpeed:
		return value{tag: tagGauge32, u: min(s.cfg.SpeedBps, math.MaxUint32)}
	case objIfPhysAddress:
		return value{tag: tagOctetString, b: s.cfg.MAC}
	case objIfAdminStatus:
		if s.admin {
			return value{tag: tagInteger, i: 1}
		}
		return value{tag: tagInteger, i: 2}
	case objIfOperStatus:
		return value{tag: tagInteger, i: int64(s.operStatus(t))}
	case objIfLastChange:
		return value{tag: tagTimeTicks, u: uint64(ticks(s.lastChangeAt(t).Sub(d.restartAt)))}
	case objIfInOctets:
		return c32(in)
	case objIfInUcastPkts:
		return c32(div(dirIn, ratioUcast[dirIn]))
	case objIfInNUcastPkts:
		return c32(div(dirIn, ratioMcast[dirIn]) + div(dirIn, ratioBcast[dirIn]))
	case objIfInDiscards:
		return c32(div(dirIn, ratioDiscard[dirIn]))
	case objIfInErrors:
		return c32(div(dirIn, ratioError[dirIn]))
	case objIfInUnknownProtos:
		return c32(div(dirIn, ratioUnknown))
	case objIfOutOctets:
		return c32(out)
	case objIfOutUcastPkts:
		return c32(div(dirOut, ratioUcast[dirOut]))
	case objIfOutNUcastPkts:
		return c32(div(dirOut, ratioMcast[dirOut]) + div(dirOut, ratioBcast[dirOut]))
	case objIfOutDiscards:
		return c32(div(dirOut, ratioDiscard[dirOut]))
	case objIfOutErrors:
		return c32(div(dirOut, ratioError[dirOut]))
	case objIfName:
		return value{tag: tagOctetString, b: []byte(s.cfg.Name)}
	case objIfInMulticastPkts:
		return c32(div(dirIn, ratioMcast[dirIn]))
	case objIfInBroadcastPkts:
		return c32(div(dirIn, ratioBcast[dirIn]))
	case objIfOutMulticastPkts:
		return c32(div(dirOut, ratioMcast[dirOut]))
	case objIfOutBroadcastPkts:
		return c32(div(dirOut, ratioBcast[dirOut]))
	case objIfHCInOctets:
		return c64(in)
	case objIfHCInUcastPkts:
		return c64(div(dirIn, ratioUcast[dirIn]))
	case objIfHCInMulticastPkts:
		return c64(div(dirIn, ratioMcast[dirIn]))
	case objIfHCInBroadcastPkts:
		return c64(div(dirIn, ratioBcast[dirIn]))
	case objIfHCOutOctets:
		return c64(out)
	case objIfHCOutUcastPkts:
		return c64(div(dirOut, ratioUcast[dirOut]))
	case objIfHCOutMulticastPkts:
		return c64(div(dirOut, ratioMcast[dirOut]))
	case objIfHCOutBroadcastPkts:
		return c64(div(dirOut, ratioBcast[dirOut]))
	case objIfLinkUpDownTrapEnable:
		return value{tag: tagInteger, i: 1}
	case objIfHighSpeed:
		return value{tag: tagGauge32, u: s.cfg.SpeedBps / 1_000_000}
	case objIfPromiscuousMode:
		return value{tag: tagInteger, i: 2}
	case objIfConnectorPresent:
		if s.cfg.Type == IfTypeEthernet {
			return value{tag: tagInteger, i: 1}
		}
		return value{tag: tagInteger, i: 2}
	case objIfAlias:
		return value{tag: tagOctetString, b: []byte(s.cfg.Alias)}
	case objIfCounterDiscontinuityTime:
		if s.discont.IsZero() {
			return value{tag: tagTimeTicks}
		}
		return value{tag: tagTimeTicks, u: uint64(ticks(s.discont.Sub(d.restartAt)))}
	default: // not a column of the interface tables: Null, below
	}
	return value{tag: tagNull}
}

// engineTime is snmpEngineTime: whole seconds since the last restart.
func (d *Device) engineTime(t time.Time) uint32 {
	s := t.Sub(d.restartAt) / time.Second
	if s < 0 {
		return 0
	}
	return uint32(min(int64(s), math.MaxInt32))
}

// hrValue computes HOST-RESOURCES values: storage use and processor load
// follow slow sine curves (periods of hours) offset per row and by Seed.
func (d *Device) hrValue(ob obj, pos int, t time.Time) value {
	wave := func(period time.Duration, offset float64) float64 {
		x := float64(t.UnixNano()%int64(period))/float64(period)*2*math.Pi + offset + float64(d.cfg.Seed%97)
		return math.Sin(x)
	}
	if ob == objHrProcessorLoad {
		load := 35 + 25*wave(2*time.Hour, float64(pos))
		return value{tag: tagInteger, i: int64(load)}
	}
	r := hrStorageRows[pos]
	switch ob {
	case objHrStorageIndex:
		return value{tag: tagInteger, i: int64(r.index)}
	case objHrStorageType:
		return value{tag: tagOID, o: r.typ}
	case objHrStorageDescr:
		if pos < len(d.cfg.StorageDescrs) {
			return value{tag: tagOctetString, b: []byte(d.cfg.StorageDescrs[pos])}
		}
		return value{tag: tagOctetString, b: []byte(r.descr)}
	case objHrStorageAllocationUnits:
		return value{tag: tagInteger, i: r.unit}
	case objHrStorageSize:
		return value{tag: tagInteger, i: r.size}
	case objHrStorageUsed:
		frac := r.base + 0.1*wave(6*time.Hour, float64(pos))
		return value{tag: tagInteger, i: int64(frac * float64(r.size))}
	default: // not a column of hrStorageTable: Null, below
	}
	return value{tag: tagNull}
}

package snmp

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/shared/sample"
)

// Interfaces' counters.

// counter indexes counterDefs.
type counter int

// The interface counters, in the order of counterDefs.
const (
	ctrInOctets counter = iota
	ctrOutOctets
	ctrInUcast
	ctrOutUcast
	ctrInMcast
	ctrOutMcast
	ctrInBcast
	ctrOutBcast
	ctrInErrors
	ctrOutErrors
	ctrInDiscards
	ctrOutDiscards
)

// numCounters is the number of interface counters.
const numCounters = int(ctrOutDiscards) + 1

// counterUnit is what a counter counts.
type counterUnit uint8

const (
	unitOctets counterUnit = iota
	unitPackets
)

type counterDef struct {
	ds   string
	hc   string // 64-bit column ("" when there is none)
	c32  string // 32-bit column
	inX  bool   // the 32-bit column is in ifXTable
	unit counterUnit
	desc string
}

var counterDefs = [numCounters]counterDef{
	ctrInOctets:    {"in_octets", colIfHCInOctets, colIfInOctets, false, unitOctets, "ifHCInOctets / ifInOctets"},
	ctrOutOctets:   {"out_octets", colIfHCOutOctets, colIfOutOctets, false, unitOctets, "ifHCOutOctets / ifOutOctets"},
	ctrInUcast:     {"in_ucast", colIfHCInUcast, colIfInUcast, false, unitPackets, "ifHCInUcastPkts / ifInUcastPkts"},
	ctrOutUcast:    {"out_ucast", colIfHCOutUcast, colIfOutUcast, false, unitPackets, "ifHCOutUcastPkts / ifOutUcastPkts"},
	ctrInMcast:     {"in_mcast", colIfHCInMulticast, colIfInMulticast, true, unitPackets, "ifHCInMulticastPkts / ifInMulticastPkts"},
	ctrOutMcast:    {"out_mcast", colIfHCOutMulticast, colIfOutMulticast, true, unitPackets, "ifHCOutMulticastPkts / ifOutMulticastPkts"},
	ctrInBcast:     {"in_bcast", colIfHCInBroadcast, colIfInBroadcast, true, unitPackets, "ifHCInBroadcastPkts / ifInBroadcastPkts"},
	ctrOutBcast:    {"out_bcast", colIfHCOutBroadcast, colIfOutBroadcast, true, unitPackets, "ifHCOutBroadcastPkts / ifOutBroadcastPkts"},
	ctrInErrors:    {"in_errors", "", colIfInErrors, false, unitPackets, "ifInErrors"},
	ctrOutErrors:   {"out_errors", "", colIfOutErrors, false, unitPackets, "ifOutErrors"},
	ctrInDiscards:  {"in_discards", "", colIfInDiscards, false, unitPackets, "ifInDiscards"},
	ctrOutDiscards: {"out_discards", "", colIfOutDiscards, false, unitPackets, "ifOutDiscards"},
}

// counterOID returns the column an interface's counter is read from and
// its kind; ok is false when the interface has no such counter.
func counterOID(s *Interface, c counter) (col string, kind sample.Kind, ok bool) {
	d := &counterDefs[c]
	if s.HC && d.hc != "" {
		return d.hc, sample.Counter64, true
	}
	if d.inX && !s.HasX {
		return "", 0, false
	}
	return d.c32, sample.Counter32, true
}

// Interface counter maxima.
//
// Each interface counter data source gets a maximum rate derived from the
// interface's speed, so that the archive stores unknown, not a spike, when
// a counter steps backwards or jumps (a line card that resets without
// ifCounterDiscontinuityTime, a device that answers garbage): rrdtool
// discards a rate above the data source's maximum.
const (
	// counterMaxMargin is how far above the line rate a rate may read and
	// still be stored: devices refresh their counters every few seconds
	// and answer a poll late or early, so a rate over one step can read a
	// little above the line rate. Real overruns are orders of magnitude
	// (a 32-bit wrap, a reset): 25 % loses none of them.
	counterMaxMargin = 1.25
	// minFrameBits is the smallest Ethernet frame on the wire in bits: 64
	// bytes of frame, 8 of preamble and 12 of inter-frame gap. A link
	// carries at most speed/minFrameBits packets per second, which bounds
	// every packet counter (unicast, multicast, broadcast, errors,
	// discards).
	minFrameBits = (64 + 8 + 12) * 8
)

// Interface types whose ifSpeed is not a line rate (a loopback, a tunnel,
// a VLAN or virtual interface reports a nominal speed but carries what its
// host can move): their counters get no maximum.
var speedIsNominal = map[int]bool{
	1:   true, // other
	24:  true, // softwareLoopback
	53:  true, // propVirtual
	131: true, // tunnel
	135: true, // l2vlan
	136: true, // l3ipvlan
}

// counterMax returns the largest rate (per second) counter c can have on
// an interface of speed bits/s and IANA type ifType: octets speed/8,
// packets speed/minFrameBits, both with counterMaxMargin. It is NaN (no
// maximum) when the speed is unknown (0) or nominal for the type.
func counterMax(c counter, speed uint64, ifType int) float64 {
	if speed == 0 || speedIsNominal[ifType] {
		return math.NaN()
	}
	if counterDefs[c].unit == unitOctets {
		return float64(speed) / 8 * counterMaxMargin
	}
	return float64(speed) / minFrameBits * counterMaxMargin
}

// colWhat says what a polled column carries.
type colWhat uint8

const (
	whatCounter colWhat = iota
	whatAdmin
	whatOper
	whatDiscontinuity // ifCounterDiscontinuityTime
)

// colRole says what a polled column carries.
type colRole struct {
	counter counter // index into counterDefs (whatCounter only)
	hc      bool    // the 64-bit column of the counter
	what    colWhat
}

// readInterfaces reads the selected interfaces' counters, statuses and
// discontinuity times: GetBulk over the columns when most interfaces are
// selected (and the version has GetBulk), else Get of the known instances
// packed up to MaxOIDs.
func (t *Target) readInterfaces() error {
	for _, s := range t.ifs {
		s.have, s.admin, s.oper, s.hasDisc, s.seen = 0, 0, 0, false, false
	}
	if len(t.ifs) == 0 {
		return nil
	}
	var err error
	// The counters were read by the device somewhere between the first
	// request and the last answer: the middle of that span is their time.
	// Taking the time after everything else the poll does (the stuck-HC
	// check is another round trip) would add that work's delay, which
	// varies from poll to poll, to the interval a rate is divided by.
	began := t.now()
	if t.sess.version != gosnmp.Version1 && 2*len(t.ifs) >= len(t.dev.Interfaces) {
		err = t.readInterfacesBulk()
	} else {
		err = t.readInterfacesGet()
	}
	if err != nil {
		return fmt.Errorf("read interfaces: %w", err)
	}
	t.countersAt = began.Add(t.now().Sub(began) / 2)
	if err := t.checkStuckHC(); err != nil {
		return fmt.Errorf("read interfaces: %w", err)
	}
	for _, s := range t.ifs {
		if !s.seen {
			// Gone, or renumbered without a restart: look again next poll.
			t.rediscover = true
		}
		if s.hasDisc && s.HasX && s.disc != s.Discontinuity {
			t.log.Info("snmp: ifCounterDiscontinuityTime changed; next sample flagged", "target", t.name,
				"interface", s.Identity)
			s.reset = true
			s.Discontinuity = s.disc
		}
	}
	return nil
}

// checkStuckHC looks for HC interfaces whose 64-bit octet counters read 0
// in both directions, and reads their 32-bit octet counters: if those
// move, the device does not implement HC counters on the port (discovery
// could not tell when both were still 0). Such an interface reports no
// counters this poll and is rediscovered as 32-bit on the next one (its
// first 32-bit sample is flagged, since the width changed). Idle ports cost
// one packed Get of two OIDs each.
func (t *Target) checkStuckHC() error {
	var oids []string
	var who []*ifState
	for _, s := range t.ifs {
		s.stuckHC = false
		both := uint16(1<<ctrInOctets | 1<<ctrOutOctets)
		if s.HC && s.have&both == both && s.vals[ctrInOctets] == 0 && s.vals[ctrOutOctets] == 0 {
			idx := "." + strconv.FormatUint(uint64(s.Index), 10)
			oids = append(oids, counterDefs[ctrInOctets].c32+idx, counterDefs[ctrOutOctets].c32+idx)
			who = append(who, s)
		}
	}
	if len(oids) == 0 {
		return nil
	}
	return t.getPacked(oids, func(i int, v *gosnmp.SnmpPDU) {
		if u, ok := asUint(v); ok && u > 0 && !who[i/2].stuckHC {
			s := who[i/2]
			s.stuckHC = true
			t.rediscover = true
			t.log.Info("snmp: HC counters stay 0 while 32-bit counters move; switching the interface to 32-bit", "target", t.name, "interface", s.Identity)
		}
	})
}

func (t *Target) store(s *ifState, role colRole, v *gosnmp.SnmpPDU) {
	u, ok := asUint(v)
	if !ok {
		return
	}
	s.seen = true
	switch role.what {
	case whatCounter:
		s.vals[role.counter] = u
		s.have |= 1 << role.counter
	case whatAdmin:
		s.admin = AdminStatus(u)
	case whatOper:
		s.oper = OperStatus(u)
	case whatDiscontinuity:
		s.disc, s.hasDisc = uint32(u), true
	}
}

func (t *Target) readInterfacesBulk() error {
	var anyHC, any32, any32X, anyX bool
	for _, s := range t.ifs {
		anyHC = anyHC || s.HC
		any32 = any32 || !s.HC
		any32X = any32X || (!s.HC && s.HasX)
		anyX = anyX || s.HasX
	}
	var cols []string
	var roles []colRole
	for i, d := range counterDefs {
		if d.hc != "" && anyHC {
			cols, roles = append(cols, d.hc), append(roles, colRole{counter: counter(i), hc: true})
		}
		if d.hc == "" || (any32 && (!d.inX || any32X)) {
			cols, roles = append(cols, d.c32), append(roles, colRole{counter: counter(i)})
		}
	}
	cols, roles = append(cols, colIfAdminStatus, colIfOperStatus), append(roles, colRole{what: whatAdmin}, colRole{what: whatOper})
	if anyX {
		cols, roles = append(cols, colIfCounterDiscontinuity), append(roles, colRole{what: whatDiscontinuity})
	}
	unknown := 0
	err := t.walkColumns(cols, func(c int, idx uint32, v *gosnmp.SnmpPDU) {
		s := t.byIndex[idx]
		if s == nil {
			if roles[c].what == whatOper {
				unknown++ // an interface discovery has not seen (or filtered)
			}
			return
		}
		r := roles[c]
		if r.what == whatCounter && r.hc != (s.HC && counterDefs[r.counter].hc != "") {
			return // the other width of this counter
		}
		t.store(s, r, v)
	})
	if err != nil {
		return err
	}
	if unselected := len(t.dev.Interfaces) - len(t.ifs); unknown > unselected {
		t.rediscover = true // new interfaces appeared
	}
	return nil
}

func (t *Target) readInterfacesGet() error {
	type ref struct {
		s    *ifState
		role colRole
	}
	var oids []string
	var refs []ref
	for _, s := range t.ifs {
		idx := "." + strconv.FormatUint(uint64(s.Index), 10)
		for c := range counter(numCounters) {
			if col, kind, ok := counterOID(s.Interface, c); ok {
				oids = append(oids, col+idx)
				refs = append(refs, ref{s, colRole{counter: c, hc: kind == sample.Counter64}})
			}
		}
		oids = append(oids, colIfAdminStatus+idx, colIfOperStatus+idx)
		refs = append(refs, ref{s, colRole{what: whatAdmin}}, ref{s, colRole{what: whatOper}})
		if s.HasX {
			oids = append(oids, colIfCounterDiscontinuity+idx)
			refs = append(refs, ref{s, colRole{what: whatDiscontinuity}})
		}
	}
	return t.getPacked(oids, func(i int, v *gosnmp.SnmpPDU) { t.store(refs[i].s, refs[i].role, v) })
}

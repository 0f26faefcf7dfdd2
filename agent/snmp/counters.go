package snmp

import (
	"fmt"
	"strconv"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/shared/sample"
)

// Interfaces' counters.

const numCounters = 12

type counterDef struct {
	ds   string
	hc   string // 64-bit column ("" when there is none)
	c32  string // 32-bit column
	inX  bool   // the 32-bit column is in ifXTable
	desc string
}

var counterDefs = [numCounters]counterDef{
	{"in_octets", oidIfXEntry + ".6", oidIfEntry + ".10", false, "ifHCInOctets / ifInOctets"},
	{"out_octets", oidIfXEntry + ".10", oidIfEntry + ".16", false, "ifHCOutOctets / ifOutOctets"},
	{"in_ucast", oidIfXEntry + ".7", oidIfEntry + ".11", false, "ifHCInUcastPkts / ifInUcastPkts"},
	{"out_ucast", oidIfXEntry + ".11", oidIfEntry + ".17", false, "ifHCOutUcastPkts / ifOutUcastPkts"},
	{"in_mcast", oidIfXEntry + ".8", oidIfXEntry + ".2", true, "ifHCInMulticastPkts / ifInMulticastPkts"},
	{"out_mcast", oidIfXEntry + ".12", oidIfXEntry + ".4", true, "ifHCOutMulticastPkts / ifOutMulticastPkts"},
	{"in_bcast", oidIfXEntry + ".9", oidIfXEntry + ".3", true, "ifHCInBroadcastPkts / ifInBroadcastPkts"},
	{"out_bcast", oidIfXEntry + ".13", oidIfXEntry + ".5", true, "ifHCOutBroadcastPkts / ifOutBroadcastPkts"},
	{"in_errors", "", oidIfEntry + ".14", false, "ifInErrors"},
	{"out_errors", "", oidIfEntry + ".20", false, "ifOutErrors"},
	{"in_discards", "", oidIfEntry + ".13", false, "ifInDiscards"},
	{"out_discards", "", oidIfEntry + ".19", false, "ifOutDiscards"},
}

const (
	colAdmin = oidIfEntry + ".7"
	colOper  = oidIfEntry + ".8"
	colDisc  = oidIfXEntry + ".19"
)

// counterOID returns the column an interface's counter is read from and
// its kind; ok is false when the interface has no such counter.
func counterOID(s *Interface, i int) (col string, kind sample.Kind, ok bool) {
	d := &counterDefs[i]
	if s.HC && d.hc != "" {
		return d.hc, sample.Counter64, true
	}
	if d.inX && !s.HasX {
		return "", 0, false
	}
	return d.c32, sample.Counter32, true
}

// colRole says what a polled column carries.
type colRole struct {
	counter int  // index into counterDefs, or -1
	hc      bool // the 64-bit column of the counter
	what    int  // 0 counter, 1 admin, 2 oper, 3 discontinuity time
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
	if t.sess.version != gosnmp.Version1 && 2*len(t.ifs) >= len(t.dev.Interfaces) {
		err = t.readInterfacesBulk()
	} else {
		err = t.readInterfacesGet()
	}
	if err != nil {
		return fmt.Errorf("read interfaces: %w", err)
	}
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
		if s.HC && s.have&3 == 3 && s.vals[0] == 0 && s.vals[1] == 0 {
			idx := "." + strconv.FormatUint(uint64(s.Index), 10)
			oids = append(oids, counterDefs[0].c32+idx, counterDefs[1].c32+idx)
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
	case 0:
		s.vals[role.counter] = u
		s.have |= 1 << role.counter
	case 1:
		s.admin = int(u)
	case 2:
		s.oper = int(u)
	case 3:
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
			cols, roles = append(cols, d.hc), append(roles, colRole{counter: i, hc: true})
		}
		if d.hc == "" || (any32 && (!d.inX || any32X)) {
			cols, roles = append(cols, d.c32), append(roles, colRole{counter: i})
		}
	}
	cols, roles = append(cols, colAdmin, colOper), append(roles, colRole{counter: -1, what: 1}, colRole{counter: -1, what: 2})
	if anyX {
		cols, roles = append(cols, colDisc), append(roles, colRole{counter: -1, what: 3})
	}
	unknown := 0
	err := t.walkColumns(cols, func(c int, idx uint32, v *gosnmp.SnmpPDU) {
		s := t.byIndex[idx]
		if s == nil {
			if roles[c].what == 2 {
				unknown++ // an interface discovery has not seen (or filtered)
			}
			return
		}
		r := roles[c]
		if r.what == 0 && r.hc != (s.HC && counterDefs[r.counter].hc != "") {
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
		for i := range counterDefs {
			if col, kind, ok := counterOID(s.Interface, i); ok {
				oids = append(oids, col+idx)
				refs = append(refs, ref{s, colRole{counter: i, hc: kind == sample.Counter64}})
			}
		}
		oids = append(oids, colAdmin+idx, colOper+idx)
		refs = append(refs, ref{s, colRole{counter: -1, what: 1}}, ref{s, colRole{counter: -1, what: 2}})
		if s.HasX {
			oids = append(oids, colDisc+idx)
			refs = append(refs, ref{s, colRole{counter: -1, what: 3}})
		}
	}
	return t.getPacked(oids, func(i int, v *gosnmp.SnmpPDU) { t.store(refs[i].s, refs[i].role, v) })
}

package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Options are what a Target takes besides its configuration.
type Options struct {
	// Defaults is the config's snmp_defaults section.
	Defaults config.SNMPDefaults
	// Logger receives discovery and discontinuity events (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for sample times (default time.Now).
	Now func() time.Time
}

// Target polls one SNMP device; it implements poll.Target. Poll must not be
// called concurrently on one Target (the scheduler never does): the target
// owns one *gosnmp.GoSNMP that is not safe for concurrent use.
type Target struct {
	name, address string
	// sentUndiscovered: the host-only inventory of a device that never
	// answered has been reported (once is enough).
	sentUndiscovered bool
	set              config.SNMPSettings
	filter           interfaceFilter
	hostResources    bool
	oids             []userOID
	sess             *session
	reps             int // current GetBulk max-repetitions; halved on tooBig
	now              func() time.Time
	log              *slog.Logger

	dev          *Device
	discoveredAt time.Time
	rediscover   bool                // rediscover on the next poll
	ifs          []*ifState          // selected interfaces, in ifIndex order
	byIndex      map[uint32]*ifState // current ifIndex -> state
	byIdentity   map[string]*ifState
	hostReset    map[string]bool // attribute keys whose next sample follows a device restart

	haveUptime bool
	lastUptime uint32
	lastBoots  uint32
	haveBoots  bool
	lastPoll   time.Time

	// Stats of the last poll, for benchmarks and logs.
	lastRequests int
}

type userOID struct {
	spec config.OIDSpec
	oid  string
	kind sample.Kind
}

// ifState is the poller's memory of one interface across polls.
type ifState struct {
	*Interface        // the row in dev.Interfaces (shared, not copied)
	key        string // attribute key, "if:" + Identity
	reset      bool   // the next sample follows a discontinuity
	// per poll
	vals    [numCounters]uint64
	have    uint16
	admin   int
	oper    int
	disc    uint32
	hasDisc bool
	seen    bool
	stuckHC bool // HC octets read 0 while the 32-bit ones move: no counters this poll
}

// New builds a Target from a config target. It validates the credentials
// and OIDs but does not talk to the device.
func New(tc config.SNMPTarget, opts Options) (*Target, error) {
	if tc.Name == "" || tc.Address == "" {
		return nil, fmt.Errorf("snmp target: name and address are required")
	}
	set := Effective(opts.Defaults, tc.SNMPSettings)
	sess, err := newSession(tc.Address, set)
	if err != nil {
		return nil, fmt.Errorf("snmp target %s: %w", tc.Name, err)
	}
	t := &Target{
		name: tc.Name, address: tc.Address, set: set,
		filter:        interfaceFilter(tc.Interfaces),
		hostResources: tc.HostResources,
		sess:          sess,
		reps:          set.MaxRepetitions,
		now:           opts.Now,
		log:           opts.Logger,
		hostReset:     map[string]bool{},
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.reps <= 0 {
		t.reps = DefaultMaxRepetitions
	}
	seen := map[string]bool{}
	for _, o := range tc.OIDs {
		if o.Name == "" || seen[o.Name] {
			return nil, fmt.Errorf("snmp target %s: oid %q: names must be set and unique", tc.Name, o.OID)
		}
		seen[o.Name] = true
		num, err := ResolveOID(o.OID)
		if err != nil {
			return nil, fmt.Errorf("snmp target %s: oid %s: %w", tc.Name, o.Name, err)
		}
		kind := sample.Gauge
		if o.Type != "" {
			if kind, err = sample.ParseKind(o.Type); err != nil {
				return nil, fmt.Errorf("snmp target %s: oid %s: %w", tc.Name, o.Name, err)
			}
		}
		t.oids = append(t.oids, userOID{spec: o, oid: num, kind: kind})
	}
	return t, nil
}

// Name returns the configured target name.
func (t *Target) Name() string { return t.name }

// Interval returns the effective poll interval.
func (t *Target) Interval() time.Duration { return t.set.Interval.Or(DefaultInterval) }

// Requests returns how many SNMP requests the last Poll sent (retries
// included). Like MaxRepetitions and Device, call it from the goroutine
// that polls, or after Poll returned.
func (t *Target) Requests() int { return t.lastRequests }

// MaxRepetitions returns the GetBulk max-repetitions the target uses now
// (the configured value, halved after each tooBig).
func (t *Target) MaxRepetitions() int { return t.reps }

// Device returns the last discovery, or nil before the first.
func (t *Target) Device() *Device { return t.dev }

// Close releases the socket if a poll left one open (Poll and Discover
// close theirs when they return). The target can still poll afterwards.
func (t *Target) Close() error { t.sess.close(); return nil }

// Discover runs a discovery now and returns it (the probe command uses
// this). It does not report anything.
func (t *Target) Discover(ctx context.Context) (*Device, error) {
	t.sess.setContext(ctx)
	defer t.sess.setContext(context.Background())
	defer t.sess.close()
	if err := t.sess.connect(); err != nil {
		return nil, err
	}
	dev, err := t.discover()
	if err != nil {
		return nil, err
	}
	t.adopt(dev)
	return dev, nil
}

// Poll does one round: discovery when due (first poll, rediscover
// interval, device restart, interfaces appeared or vanished), then the
// counters, statuses and host reachability, all reported through sink.
// An unreachable device (no answer before the poll's deadline, or an
// error) is reported (host Down, other attributes Unknown) and its error
// returned; a poll cut short because ctx was cancelled (the agent is
// stopping) reports nothing.
func (t *Target) Poll(ctx context.Context, sink poll.Sink) error {
	t.sess.setContext(ctx)
	defer t.sess.setContext(context.Background())
	defer t.sess.close()
	t.sess.requests, t.sess.minRTT = 0, 0
	defer func() { t.lastRequests = t.sess.requests }()

	rep := poll.Report{Host: t.name}
	if err := t.poll(&rep); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			// The agent is stopping: that says nothing about the device,
			// so nothing is reported (a Down here would be false).
			return fmt.Errorf("poll %s: %w", t.name, err)
		}
		t.unreachable(&rep, err)
		sink.Report(rep)
		return fmt.Errorf("poll %s: %w", t.name, err)
	}
	sink.Report(rep)
	return nil
}

func (t *Target) poll(rep *poll.Report) error {
	if err := t.sess.connect(); err != nil {
		return err
	}
	if t.dev == nil || t.rediscover || t.now().Sub(t.discoveredAt) >= t.set.Rediscover.Or(DefaultRediscover) {
		if err := t.discoverAndReport(rep); err != nil {
			return err
		}
	}
	// Scalars first: sysUpTime and snmpEngineBoots tell whether the device
	// restarted since the last poll, before the counters are read.
	sc, err := t.readScalars()
	if err != nil {
		return err
	}
	pollStart := t.now()
	if t.restarted(sc, pollStart) {
		t.log.Info("snmp: device restarted; next samples are flagged as discontinuities", "target", t.name,
			"sysUpTime", sc.uptime, "previous", t.lastUptime)
		if err := t.discoverAndReport(rep); err != nil {
			return err
		}
		for _, s := range t.ifs {
			s.reset = true
		}
		for _, o := range t.oids {
			t.hostReset["oid:"+o.spec.Name] = true
		}
		// Storage and processor indexes may have changed with the restart.
		if len(t.dev.Storage)+len(t.dev.Processors) > 0 {
			if sc, err = t.readScalars(); err != nil {
				return err
			}
		}
	}
	t.haveUptime, t.lastUptime, t.lastPoll = true, sc.uptime, pollStart
	if sc.hasBoots {
		t.haveBoots, t.lastBoots = true, sc.boots
	}
	if err := t.readInterfaces(); err != nil {
		return err
	}
	at := t.now()
	t.emit(rep, sc, at)
	return nil
}

func (t *Target) discoverAndReport(rep *poll.Report) error {
	dev, err := t.discover()
	if err != nil {
		return err
	}
	t.adopt(dev)
	rep.Inventory = t.inventory()
	return nil
}

// adopt installs a new discovery. Interfaces keep their state by identity;
// one whose ifIndex changed (renumbering) gets its next sample flagged, so
// a rate is never computed across two different counters.
func (t *Target) adopt(dev *Device) {
	old := t.byIdentity
	renumbered := 0
	defer func() {
		if renumbered > 0 {
			t.log.Info("snmp: interfaces renumbered or changed counter width; their next samples are flagged", "target", t.name, "interfaces", renumbered)
		}
	}()
	t.dev = dev
	t.discoveredAt = t.now()
	t.rediscover = false
	t.ifs = t.ifs[:0]
	t.byIndex = make(map[uint32]*ifState, len(dev.Interfaces))
	t.byIdentity = make(map[string]*ifState, len(dev.Interfaces))
	for k := range dev.Interfaces {
		r := &dev.Interfaces[k]
		if !r.Selected {
			continue
		}
		s := &ifState{Interface: r, key: "if:" + r.Identity}
		if prev, ok := old[r.Identity]; ok {
			s.reset = prev.reset
			if prev.Index != r.Index || prev.HC != r.HC {
				renumbered++
				t.log.Debug("snmp: interface renumbered", "target", t.name,
					"interface", r.Identity, "old_ifIndex", prev.Index, "ifIndex", r.Index)
				s.reset = true
			} else if prev.HasX && r.HasX && prev.Discontinuity != r.Discontinuity {
				s.reset = true
			}
		}
		t.ifs = append(t.ifs, s)
		t.byIndex[r.Index] = s
		t.byIdentity[r.Identity] = s
	}
}

type scalars struct {
	uptime   uint32
	boots    uint32
	hasBoots bool
	oidVals  []*gosnmp.SnmpPDU // per t.oids
	storage  map[uint32][2]uint64
	cpu      map[uint32]uint64
}

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
			oids = append(oids, oidHrStorageEntry+".5."+idx, oidHrStorageEntry+".6."+idx)
		}
	}
	cpuBase := len(oids)
	if t.dev != nil {
		for _, p := range t.dev.Processors {
			oids = append(oids, oidHrProcessorLoad+"."+strconv.FormatUint(uint64(p), 10))
		}
	}
	gotUptime := false
	sc.storage = map[uint32][2]uint64{}
	sc.cpu = map[uint32]uint64{}
	err := t.getPacked(oids, func(i int, v *gosnmp.SnmpPDU) {
		u, isInt := asUint(v)
		switch {
		case i == 0:
			sc.uptime, gotUptime = uint32(u), isInt
		case i == 1:
			sc.boots, sc.hasBoots = uint32(u), isInt
		case i < stBase:
			sc.oidVals[i-2] = v
		case i < cpuBase:
			s := t.dev.Storage[(i-stBase)/2]
			cur := sc.storage[s.Index]
			cur[(i-stBase)%2] = u
			sc.storage[s.Index] = cur
		default:
			sc.cpu[t.dev.Processors[i-cpuBase]] = u
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

// interfaces' counters

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

// Status of an interface from ifAdminStatus and ifOperStatus.
func interfaceStatus(admin, oper int) (status.Status, string) {
	if admin == 2 {
		return status.AdminDown, "ifAdminStatus down"
	}
	switch oper {
	case 1:
		return status.Up, "ifOperStatus up"
	case 2:
		return status.Down, "ifOperStatus down"
	case 3:
		return status.Testing, "ifOperStatus testing"
	case 4:
		return status.Unknown, "ifOperStatus unknown"
	case 5:
		return status.Unknown, "ifOperStatus dormant"
	case 6:
		return status.Down, "ifOperStatus notPresent"
	case 7:
		return status.Down, "ifOperStatus lowerLayerDown"
	case 0:
		return status.Unknown, "no answer for this interface"
	}
	return status.Unknown, fmt.Sprintf("ifOperStatus %d", oper)
}

// emit turns one successful poll into points and statuses, all at time at.
func (t *Target) emit(rep *poll.Report, sc *scalars, at time.Time) {
	ms := at.UnixMilli()
	host := t.name
	rtt := t.sess.minRTT.Seconds()
	if rep.Points == nil {
		rep.Points = make([]sample.Point, 0, 2+len(t.ifs)*numCounters+len(t.oids)+2*len(t.dev.Storage)+len(t.dev.Processors))
		rep.Statuses = make([]wire.AttrStatus, 0, 1+len(t.ifs)+len(t.oids)+len(t.dev.Storage)+len(t.dev.Processors))
	}
	rep.Points = append(rep.Points,
		sample.Point{Key: sample.Key{Host: host, Attr: "host", DS: "rtt"}, Kind: sample.Gauge, Time: at, Float: rtt},
		sample.Point{Key: sample.Key{Host: host, Attr: "host", DS: "reachable"}, Kind: sample.Gauge, Time: at, Float: 1},
	)
	rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: "host", Status: status.Up,
		Reason: fmt.Sprintf("answered in %.1f ms", rtt*1000), Time: ms})
	for _, s := range t.ifs {
		key := s.key
		emitted := false
		for i := range counterDefs {
			if s.have&(1<<i) == 0 || s.stuckHC {
				continue
			}
			_, kind, _ := counterOID(s.Interface, i)
			rep.Points = append(rep.Points, sample.Point{
				Key: sample.Key{Host: host, Attr: key, DS: counterDefs[i].ds}, Kind: kind, Time: at,
				Uint: s.vals[i], Reset: s.reset,
			})
			emitted = true
		}
		if emitted {
			s.reset = false
		}
		st, reason := interfaceStatus(s.admin, s.oper)
		rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: st, Reason: reason, Time: ms})
	}
	for i, o := range t.oids {
		key := "oid:" + o.spec.Name
		v := sc.oidVals[i]
		p := sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "value"}, Kind: o.kind, Time: at, Reset: t.hostReset[key]}
		ok := false
		if v != nil {
			if o.kind.IsInteger() {
				p.Uint, ok = asUint(v)
			} else {
				p.Float, ok = asFloat(v)
			}
		}
		if !ok {
			reason := "no such object " + o.oid
			if v != nil {
				reason = fmt.Sprintf("%s is not a number (%s)", o.oid, v.Type)
			}
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Unknown, Reason: reason, Time: ms})
			continue
		}
		delete(t.hostReset, key)
		rep.Points = append(rep.Points, p)
		rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Up, Reason: "answered", Time: ms})
	}
	if t.dev != nil {
		for _, s := range t.dev.Storage {
			key := "storage:" + s.Descr
			v, ok := sc.storage[s.Index]
			if !ok {
				rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Unknown, Reason: "no answer", Time: ms})
				continue
			}
			rep.Points = append(rep.Points,
				sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "size"}, Kind: sample.Gauge, Time: at, Float: float64(v[0] * s.Units)},
				sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "used"}, Kind: sample.Gauge, Time: at, Float: float64(v[1] * s.Units)})
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Up, Reason: "answered", Time: ms})
		}
		for _, p := range t.dev.Processors {
			key := "cpu:" + strconv.FormatUint(uint64(p), 10)
			v, ok := sc.cpu[p]
			if !ok {
				rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Unknown, Reason: "no answer", Time: ms})
				continue
			}
			rep.Points = append(rep.Points, sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "load"}, Kind: sample.Gauge, Time: at, Float: float64(v)})
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Up, Reason: "answered", Time: ms})
		}
	}
}

// unreachable reports a poll that failed: host Down with the reason, every
// other known attribute Unknown, and reachable=0.
func (t *Target) unreachable(rep *poll.Report, err error) {
	at := t.now()
	ms := at.UnixMilli()
	reason := err.Error()
	if errors.Is(err, ErrNoResponse) {
		reason = "no response"
	}
	rep.Points = append(rep.Points[:0], sample.Point{Key: sample.Key{Host: t.name, Attr: "host", DS: "reachable"}, Kind: sample.Gauge, Time: at, Float: 0})
	rep.Statuses = append(rep.Statuses[:0], wire.AttrStatus{Host: t.name, Attr: "host", Status: status.Down, Reason: truncate(err.Error(), 200), Time: ms})
	for _, key := range t.attrKeys() {
		rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: t.name, Attr: key, Status: status.Unknown, Reason: truncate(reason, 200), Time: ms})
	}
	if t.dev == nil && !t.sentUndiscovered {
		rep.Inventory = t.undiscovered()
		t.sentUndiscovered = true
	}
}

func (t *Target) attrKeys() []string {
	var keys []string
	for _, s := range t.ifs {
		keys = append(keys, "if:"+s.Identity)
	}
	for _, o := range t.oids {
		keys = append(keys, "oid:"+o.spec.Name)
	}
	if t.dev != nil {
		for _, s := range t.dev.Storage {
			keys = append(keys, "storage:"+s.Descr)
		}
		for _, p := range t.dev.Processors {
			keys = append(keys, "cpu:"+strconv.FormatUint(uint64(p), 10))
		}
	}
	return keys
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func asFloat(v *gosnmp.SnmpPDU) (float64, bool) {
	if u, ok := asUint(v); ok {
		return float64(u), true
	}
	switch x := v.Value.(type) {
	case int:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case []byte:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	return 0, false
}

// InterfaceStatus maps ifAdminStatus and ifOperStatus (0 = no answer) to
// the attribute status and a short reason: admin down is Admin Down;
// otherwise oper up is Up; down, lowerLayerDown and notPresent are Down;
// testing is Testing; unknown, dormant and no answer are Unknown.
func InterfaceStatus(admin, oper int) (status.Status, string) { return interfaceStatus(admin, oper) }

// AdminStatusName names an ifAdminStatus value ("up", "down", "testing"; "-" for no answer).
func AdminStatusName(v int) string {
	switch v {
	case 1:
		return "up"
	case 2:
		return "down"
	case 3:
		return "testing"
	case 0:
		return "-"
	}
	return strconv.Itoa(v)
}

// OperStatusName names an ifOperStatus value ("up" ... "lowerLayerDown"; "-" for no answer).
func OperStatusName(v int) string {
	names := [...]string{"-", "up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"}
	if v >= 0 && v < len(names) {
		return names[v]
	}
	return strconv.Itoa(v)
}

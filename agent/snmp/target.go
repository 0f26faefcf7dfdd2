package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

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
	features         map[string]bool  // device features enabled (config.DeviceFeatures)
	gates            map[string]*gate // backed-off device tables
	absent           map[string]bool  // device tables the last discovery's probe found absent
	oids             []userOID
	sess             *session
	reps             int // current GetBulk max-repetitions; halved on tooBig
	now              func() time.Time
	countersAt       time.Time // when this poll's interface counters were read (readInterfaces)
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
	admin   AdminStatus
	oper    OperStatus
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
		features:      enabledFeatures(tc),
		gates:         map[string]*gate{},
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
		num, err := o.Resolved, error(nil)
		if num == "" {
			num, err = ResolveOID(o.OID)
		}
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
		return nil, cleanError{err}
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
			return fmt.Errorf("poll %s: %w", t.name, cleanError{err})
		}
		t.unreachable(&rep, err)
		sink.Report(rep)
		return fmt.Errorf("poll %s: %w", t.name, cleanError{err})
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
			t.hostReset[keyPrefixOID+o.spec.Name] = true
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
	t.countersAt = time.Time{}
	if err := t.readInterfaces(); err != nil {
		return err
	}
	hv, err := t.readHealth()
	if err != nil {
		return err
	}
	at := t.now()
	// Interface counters carry the time they were read, not the time the
	// sensor, CPU and memory walks after them ended: their rates divide by
	// the span between two polls' stamps.
	ifAt := at
	if !t.countersAt.IsZero() {
		ifAt = t.countersAt
	}
	t.emit(rep, sc, ifAt)
	t.emitHealth(rep, hv, at)
	return nil
}

func (t *Target) discoverAndReport(rep *poll.Report) error {
	dev, err := t.discover()
	if err != nil {
		return err
	}
	t.adopt(dev)
	rep.Inventory = t.inventory()
	rep.Devices = t.facts()
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
		s := &ifState{Interface: r, key: keyPrefixInterface + r.Identity}
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

// unreachable reports a poll that failed: host Down with the reason, every
// other known attribute Unknown, and reachable=0.
func (t *Target) unreachable(rep *poll.Report, err error) {
	at := t.now()
	ms := at.UnixMilli()
	// Error texts can quote what a device sent (a decoding error, say).
	hostReason := reasonOf(err)
	reason := hostReason
	if errors.Is(err, ErrNoResponse) {
		reason = "no response"
	}
	rep.Points = append(rep.Points[:0], sample.Point{Key: sample.Key{Host: t.name, Attr: "host", DS: "reachable"}, Kind: sample.Gauge, Time: at, Float: 0})
	rep.Statuses = append(rep.Statuses[:0], wire.AttrStatus{Host: t.name, Attr: "host", Status: status.Down, Reason: hostReason, Time: ms})
	for _, key := range t.attrKeys() {
		rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: t.name, Attr: key, Status: status.Unknown, Reason: reason, Time: ms})
	}
	if t.dev == nil && !t.sentUndiscovered {
		rep.Inventory = t.undiscovered()
		t.sentUndiscovered = true
	}
}

func (t *Target) attrKeys() []string {
	var keys []string
	for _, s := range t.ifs {
		keys = append(keys, keyPrefixInterface+s.Identity)
	}
	for _, o := range t.oids {
		keys = append(keys, keyPrefixOID+o.spec.Name)
	}
	if t.dev != nil {
		for _, s := range t.dev.Storage {
			keys = append(keys, keyPrefixStorage+s.Descr)
		}
		for _, p := range t.dev.Processors {
			keys = append(keys, keyPrefixCPU+strconv.FormatUint(uint64(p), 10))
		}
		for i := range t.dev.Health {
			keys = append(keys, t.dev.Health[i].Key)
		}
	}
	return keys
}

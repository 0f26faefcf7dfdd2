package snmpsim

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Device is one simulated SNMP agent. Its methods are safe for concurrent
// use; several Serve loops may share one Device.
type Device struct {
	cfg   Config
	users map[string]*userKeys
	table atomic.Pointer[mibTable]

	mu        sync.RWMutex
	restartAt time.Time
	boots     int
	ifs       []ifState // by position in cfg.Interfaces; names never move
	stats     usmStats
	salt      uint64

	// gets counts the Get requests answered per OID (dotted string), for
	// end-to-end tests that check every answered poll reached the archive.
	gets sync.Map
}

// GetCount returns how many times a Get request for the instance oid
// (dotted, with or without the leading dot) was answered with a value.
// GetNext and GetBulk answers are not counted.
func (d *Device) GetCount(oid string) uint64 {
	o, err := parseOID(oid)
	if err != nil {
		return 0
	}
	if c, ok := d.gets.Load(o.String()); ok {
		return c.(*atomic.Uint64).Load()
	}
	return 0
}

func (d *Device) countGet(o oid) {
	key := o.String()
	c, ok := d.gets.Load(key)
	if !ok {
		c, _ = d.gets.LoadOrStore(key, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}

// ifState is the mutable part of an interface.
type ifState struct {
	cfg        Interface
	index      int       // current ifIndex
	admin      bool      // ifAdminStatus up
	oper       int       // configured ifOperStatus (flapping applies on top of OperUp)
	epoch      time.Time // counters integrate from here
	acc        [2]float64
	lastChange time.Time // last oper status change set by SetAdmin/SetOper or restart
	discont    time.Time // ifCounterDiscontinuityTime (zero: none since restart)
}

// usmStats are the usmStats* counters reported in v3 Report PDUs.
type usmStats struct {
	unsupportedSecLevels, notInTimeWindows, unknownUserNames,
	unknownEngineIDs, wrongDigests, decryptionErrors uint32
}

// userKeys are a v3 user's keys localised to the device's engine ID.
type userKeys struct {
	sp      *gosnmp.UsmSecurityParameters // protocols and localised keys
	level   gosnmp.SnmpV3MsgFlags         // highest level the user supports
	authLen int                           // MAC length in bytes (0: no auth)
}

// New checks cfg, fills its defaults and builds the device. It returns an
// error naming the bad field (never a passphrase) when cfg is invalid.
func New(cfg Config) (*Device, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Device{cfg: c, users: map[string]*userKeys{}, restartAt: c.Start, boots: c.EngineBoots}
	for _, u := range c.Users {
		sp, _ := u.usm() // checked by withDefaults
		sp.AuthoritativeEngineID = string(c.EngineID)
		if err := sp.InitSecurityKeys(); err != nil {
			return nil, fmt.Errorf("snmpsim: user %q: localise keys: %w", u.Name, err)
		}
		k := &userKeys{sp: sp, level: gosnmp.NoAuthNoPriv}
		if sp.AuthenticationProtocol != gosnmp.NoAuth {
			k.level = gosnmp.AuthNoPriv
			k.authLen = macLen(sp.AuthenticationProtocol)
		}
		if sp.PrivacyProtocol != gosnmp.NoPriv {
			k.level = gosnmp.AuthPriv
		}
		if _, dup := d.users[u.Name]; dup {
			return nil, fmt.Errorf("snmpsim: user %q defined twice", u.Name)
		}
		d.users[u.Name] = k
	}
	indices := make([]int, len(c.Interfaces))
	d.ifs = make([]ifState, len(c.Interfaces))
	for i, f := range c.Interfaces {
		indices[i] = f.Index
		d.ifs[i] = ifState{cfg: f, index: f.Index, admin: f.AdminUp, oper: f.Oper, epoch: c.Start, lastChange: c.Start}
	}
	d.table.Store(buildTable(indices, hardwareObjects(c.Hardware, c.Interfaces, indices, c.Seed)))
	d.salt = uint64(rand.New(rand.NewSource(c.Seed)).Int63())
	return d, nil
}

// EngineID returns the v3 authoritative engine ID.
func (d *Device) EngineID() []byte { return append([]byte(nil), d.cfg.EngineID...) }

// Config returns the device's configuration with defaults filled in.
func (d *Device) Config() Config { return d.cfg }

// Now returns the device clock's current time.
func (d *Device) Now() time.Time { return d.cfg.Clock() }

// Interfaces returns the interfaces as they are now: current ifIndex (it
// changes with Restart(true)), admin and configured oper status.
func (d *Device) Interfaces() []Interface {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Interface, len(d.ifs))
	for i, s := range d.ifs {
		out[i] = s.cfg
		out[i].Index, out[i].AdminUp, out[i].Oper = s.index, s.admin, s.oper
	}
	return out
}

// Restart simulates a reboot at the device clock's current time:
// sysUpTime, snmpEngineTime and every counter restart from 0,
// snmpEngineBoots increments, and with renumber the ifIndex values are
// permuted (deterministically from Seed and the boot count; names,
// descriptions and traffic stay with their interface).
func (d *Device) Restart(renumber bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Clock()
	d.restartAt = now
	d.boots++
	for i := range d.ifs {
		s := &d.ifs[i]
		s.epoch, s.acc, s.lastChange, s.discont = now, [2]float64{}, now, time.Time{}
	}
	if renumber && len(d.ifs) > 1 {
		r := rand.New(rand.NewSource(d.cfg.Seed + int64(d.boots)))
		idx := make([]int, len(d.ifs))
		for i := range d.ifs {
			idx[i] = d.ifs[i].index
		}
		perm := r.Perm(len(idx))
		if isIdentity(perm) {
			perm[0], perm[1] = perm[1], perm[0]
		}
		newIdx := make([]int, len(idx))
		for i := range d.ifs {
			newIdx[i] = idx[perm[i]]
			d.ifs[i].index = newIdx[i]
		}
		d.table.Store(buildTable(newIdx, hardwareObjects(d.cfg.Hardware, d.cfg.Interfaces, newIdx, d.cfg.Seed)))
	}
}

func isIdentity(p []int) bool {
	for i, v := range p {
		if i != v {
			return false
		}
	}
	return true
}

// ResetCounters simulates a line-card reset of one interface: its counters
// restart from 0 and ifCounterDiscontinuityTime becomes the current
// sysUpTime. It reports whether index is a current ifIndex.
func (d *Device) ResetCounters(index int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stateLocked(index)
	if s == nil {
		return false
	}
	now := d.cfg.Clock()
	s.epoch, s.acc, s.discont = now, [2]float64{}, now
	return true
}

// SetAdmin sets ifAdminStatus of the interface with the given current
// ifIndex; an admin-down interface reports ifOperStatus down and carries no
// traffic. It reports whether index exists.
func (d *Device) SetAdmin(index int, up bool) bool {
	return d.change(index, func(s *ifState) { s.admin = up })
}

// SetOper sets the configured ifOperStatus (OperUp ... OperLowerLayerDown)
// of the interface with the given current ifIndex. Only OperUp carries
// traffic. It reports whether index exists and status is valid.
func (d *Device) SetOper(index, status int) bool {
	if status < OperUp || status > OperLowerLayerDown {
		return false
	}
	return d.change(index, func(s *ifState) { s.oper = status })
}

func (d *Device) change(index int, f func(*ifState)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stateLocked(index)
	if s == nil {
		return false
	}
	now := d.cfg.Clock()
	s.acc = [2]float64{s.octets(dirIn, now), s.octets(dirOut, now)}
	s.epoch = now
	before := s.operStatus(now)
	f(s)
	if s.operStatus(now) != before {
		s.lastChange = now
	}
	return true
}

func (d *Device) stateLocked(index int) *ifState {
	pos, ok := d.table.Load().byIndex[index]
	if !ok {
		return nil
	}
	return &d.ifs[pos]
}

// Counter returns the exact value the device answers for a counter column
// of the interface with the given current ifIndex at time at: column is an
// IF-MIB name such as "ifHCInOctets", "ifInOctets" (already reduced modulo
// 2^32), "ifOutUcastPkts". at must not precede the interface's last state
// change (restart, SetAdmin, SetOper, ResetCounters). It returns an error for
// an unknown index or column.
func (d *Device) Counter(index int, column string, at time.Time) (uint64, error) {
	ob, ok := columnNames[column]
	if !ok {
		return 0, fmt.Errorf("snmpsim: unknown counter column %q", column)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	pos, ok := d.table.Load().byIndex[index]
	if !ok {
		return 0, fmt.Errorf("snmpsim: no interface with ifIndex %d", index)
	}
	return d.valueLocked(ob, pos, at).u, nil
}

// Uptime returns sysUpTime at time at, in hundredths of a second (TimeTicks,
// wrapping at 2^32).
func (d *Device) Uptime(at time.Time) uint32 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return ticks(at.Sub(d.restartAt))
}

// Boots returns snmpEngineBoots.
func (d *Device) Boots() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.boots
}

func ticks(dur time.Duration) uint32 {
	if dur < 0 {
		return 0
	}
	return uint32(uint64(dur / (10 * time.Millisecond)))
}

package site

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/agent/sim/ntpsim"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
)

// Options are the runtime choices of Start.
type Options struct {
	// Clock is the clock of every simulator; default time.Now.
	Clock func() time.Time
	// Logger receives one line per scheduled event; default discards.
	Logger *slog.Logger
}

// Site is a running simulated site. Close stops every simulator.
type Site struct {
	spec    Spec
	clock   func() time.Time
	log     *slog.Logger
	start   time.Time
	devices []*runningDevice
	ntp     []*runningNTP
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errs    chan error
}

type runningDevice struct {
	spec     Device
	dev      *snmpsim.Device
	addr     *net.UDPAddr
	restarts int // restarts applied so far
}

type runningNTP struct {
	spec NTP
	srv  *ntpsim.Server
	addr *net.UDPAddr
}

// Target is one simulator a client can poll.
type Target struct {
	Name string
	Kind string // "snmp" or "ntp"
	Addr *net.UDPAddr
}

// Start validates spec, binds every simulator on its port and serves them
// until ctx ends or Close is called. On error nothing is left running.
func Start(ctx context.Context, spec Spec, opts Options) (*Site, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	if spec.Host == "" {
		spec.Host = "127.0.0.1"
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Site{spec: spec, clock: opts.Clock, log: opts.Logger, start: opts.Clock(), cancel: cancel,
		errs: make(chan error, len(spec.Devices)+len(spec.NTP))}
	fail := func(err error) (*Site, error) {
		s.Close()
		return nil, err
	}
	for _, d := range spec.Devices {
		cfg, err := deviceConfig(d, s.clock, s.start, spec.Links)
		if err != nil {
			return fail(fmt.Errorf("site: device %s: %w", d.Name, err))
		}
		dev, err := snmpsim.New(cfg)
		if err != nil {
			return fail(fmt.Errorf("site: device %s: %w", d.Name, err))
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort(spec.Host, strconv.Itoa(d.Port)))
		if err != nil {
			return fail(fmt.Errorf("site: device %s: %w", d.Name, err))
		}
		s.devices = append(s.devices, &runningDevice{spec: d, dev: dev, addr: pc.LocalAddr().(*net.UDPAddr)})
		s.serve(func() error { return dev.Serve(ctx, pc) })
	}
	for _, n := range spec.NTP {
		srv := ntpsim.New(ntpConfig(n, s.clock))
		pc, err := net.ListenPacket("udp", net.JoinHostPort(spec.Host, strconv.Itoa(n.Port)))
		if err != nil {
			return fail(fmt.Errorf("site: ntp %s: %w", n.Name, err))
		}
		s.ntp = append(s.ntp, &runningNTP{spec: n, srv: srv, addr: pc.LocalAddr().(*net.UDPAddr)})
		s.serve(func() error { return srv.Serve(ctx, pc) })
	}
	return s, nil
}

func (s *Site) serve(f func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := f(); err != nil {
			s.errs <- err
		}
	}()
}

// seedOf derives a stable seed from a name.
func seedOf(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64() & 0x7fffffffffffffff)
}

// chassisMAC is a device's LLDP chassis id, derived from its name.
func chassisMAC(name string) net.HardwareAddr {
	s := uint64(seedOf(name))
	return net.HardwareAddr{0x02, 0x0e, byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}
}

// hardware is d's simulated hardware, with the neighbours links give it.
func hardware(d Device, links []Link, index int) *snmpsim.Hardware {
	h := &snmpsim.Hardware{Model: "OSIM-" + strconv.Itoa(max(d.Interfaces, 24)), Serial: fmt.Sprintf("OS%08X", uint32(seedOf(d.Name))),
		ChassisMAC: chassisMAC(d.Name), MgmtAddr: net.IPv4(192, 0, 2, byte(10+index%200)),
		Sensors: []snmpsim.Sensor{
			{Name: "Inlet", Type: 8, Base: 27, Swing: 3, Warn: 45, Crit: 60},
			{Name: "CPU die", Type: 8, Precision: 1, Base: 52, Swing: 4, Warn: 70, Crit: 85},
			{Name: "PSU 1 output", Type: 4, Precision: 2, Base: 12.05, Swing: 0.05},
			{Name: "Fan 1", Type: 10, Base: 5200, Swing: 400},
		}}
	if d.HotSensor {
		h.Sensors[1].Base = 76
	}
	for _, l := range links {
		switch d.Name {
		case l.A:
			h.Neighbors = append(h.Neighbors, snmpsim.Neighbor{LocalPort: l.APort, ChassisMAC: chassisMAC(l.B), SysName: l.B, PortID: l.BPort})
		case l.B:
			h.Neighbors = append(h.Neighbors, snmpsim.Neighbor{LocalPort: l.BPort, ChassisMAC: chassisMAC(l.A), SysName: l.A, PortID: l.APort})
		}
	}
	return h
}

func deviceConfig(d Device, clock func() time.Time, start time.Time, links []Link) (snmpsim.Config, error) {
	n := d.Interfaces
	if n == 0 {
		n = 24
	}
	seed := d.Seed
	if seed == 0 {
		seed = seedOf(d.Name)
	}
	ifs := snmpsim.GenerateInterfaces(n, seed)
	flapPeriod := d.FlapPeriod
	if flapPeriod == 0 {
		flapPeriod = 10 * time.Minute
	}
	byName := make(map[string]*snmpsim.Interface, len(ifs))
	for i := range ifs {
		byName[ifs[i].Name] = &ifs[i]
	}
	// A cabled port is up and carries traffic (LLDP runs on it).
	for _, l := range links {
		for _, end := range [][2]string{{l.A, l.APort}, {l.B, l.BPort}} {
			if end[0] != d.Name {
				continue
			}
			f := byName[end[1]]
			if f == nil {
				return snmpsim.Config{}, fmt.Errorf("links: no interface %q among the %d generated", end[1], n)
			}
			f.AdminUp, f.Oper = true, snmpsim.OperUp
			if f.InRate == 0 {
				f.InRate, f.OutRate = 2e6, 1.5e6
			}
		}
	}
	for _, name := range d.AdminDown {
		f := byName[name]
		if f == nil {
			return snmpsim.Config{}, fmt.Errorf("admin_down: no interface %q among the %d generated", name, n)
		}
		f.AdminUp, f.Oper = false, snmpsim.OperDown
	}
	for _, name := range d.Flap {
		f := byName[name]
		if f == nil {
			return snmpsim.Config{}, fmt.Errorf("flap: no interface %q among the %d generated", name, n)
		}
		f.AdminUp, f.Oper, f.FlapPeriod = true, snmpsim.OperUp, flapPeriod
		if f.InRate == 0 {
			f.InRate, f.OutRate = 1e6, 5e5
		}
	}
	community := d.Community
	switch community {
	case "":
		community = "public"
	case "-":
		community = ""
	}
	cfg := snmpsim.Config{
		SysName: d.Name, SysDescr: "Outpost simulated router, " + strconv.Itoa(n) + " interfaces",
		Location: d.Location, Contact: "noc@example.net", Community: community,
		Interfaces: ifs, Clock: clock, Start: start, MaxMsgSize: d.MaxMsgSize, Seed: seed,
	}
	if d.V3 != nil {
		cfg.Users = []snmpsim.User{{Name: d.V3.User, AuthProto: d.V3.AuthProto, AuthPass: d.V3.AuthPass, PrivProto: d.V3.PrivProto, PrivPass: d.V3.PrivPass}}
	}
	if d.Hardware {
		cfg.Hardware = hardware(d, links, int(uint32(seed)%200))
	}
	if d.Hostile {
		cfg = snmpsim.Hostile(cfg)
	}
	return cfg, nil
}

// ntpConfig builds a server with n.Peers unicast associations in
// documentation address space (192.0.2.0/24), reachable, the first one the
// system peer unless Unsynced.
func ntpConfig(n NTP, clock func() time.Time) ntpsim.Config {
	cfg := ntpsim.Config{Now: clock, Peers: ntpPeers(n, clock()), System: ntpSystem(n, clock())}
	return cfg
}

func ntpBaseOffset(n NTP) time.Duration {
	if n.Offset == 0 {
		return 1500 * time.Microsecond
	}
	return n.Offset
}

// ntpSystem is the server's system state at now.
func ntpSystem(n NTP, now time.Time) ntpsim.System {
	sys := ntpsim.System{Offset: wobble(ntpBaseOffset(n), now, 0), Jitter: 300 * time.Microsecond,
		RootDelay: 12 * time.Millisecond, RootDisp: 20 * time.Millisecond}
	if n.Unsynced {
		sys = ntpsim.System{Leap: 3, Stratum: 16}
	}
	if n.Hostile {
		sys = ntpsim.HostileSystem(sys)
	}
	return sys
}

// wobble varies d by ±20% on a one-hour sine, phase-shifted per peer, so
// graphs of a long demo move.
func wobble(d time.Duration, now time.Time, i int) time.Duration {
	x := float64(now.UnixNano()%int64(time.Hour))/float64(time.Hour)*2*math.Pi + float64(i)
	return d + time.Duration(0.2*float64(d)*math.Sin(x))
}

// ntpPeers is the association list at now: offsets wobble and the last
// packet time cycles within the 64 s poll interval, as on a live server.
func ntpPeers(n NTP, now time.Time) []ntpsim.Peer {
	peers := n.Peers
	if peers == 0 {
		peers = 4
	}
	offset := ntpBaseOffset(n)
	seed := seedOf(n.Name)
	var out []ntpsim.Peer
	for i := 0; i < peers; i++ {
		age := time.Duration((now.Unix()+int64(7*i))%64) * time.Second
		p := ntpsim.Peer{
			Address:      fmt.Sprintf("192.0.2.%d", 10+i+int(seed%100)),
			Stratum:      2,
			RefID:        fmt.Sprintf("198.51.100.%d", 1+i),
			Offset:       wobble(offset+time.Duration(i)*700*time.Microsecond, now, i),
			Delay:        time.Duration(8+3*i) * time.Millisecond,
			Jitter:       time.Duration(200+100*i) * time.Microsecond,
			Reach:        0xff,
			Selection:    4, // candidate
			LastReceived: now.Add(-age),
			AssocID:      uint16(17767 + i),
		}
		if i == 0 {
			p.Stratum, p.RefID, p.Selection = 1, "GPS", 6 // system peer
		}
		if n.Unsynced {
			p.Reach, p.Selection, p.Offset = 0x0f, 0, 0
			p.LastReceived = time.Time{}
		}
		out = append(out, p)
	}
	if n.Hostile {
		out = ntpsim.HostilePeers(out)
	}
	return out
}

// Targets lists every simulator with its bound address, devices first, in
// spec order.
func (s *Site) Targets() []Target {
	var out []Target
	for _, d := range s.devices {
		out = append(out, Target{Name: d.spec.Name, Kind: "snmp", Addr: d.addr})
	}
	for _, n := range s.ntp {
		out = append(out, Target{Name: n.spec.Name, Kind: "ntp", Addr: n.addr})
	}
	return out
}

// Device returns the named SNMP device, or nil.
func (s *Site) Device(name string) *snmpsim.Device {
	for _, d := range s.devices {
		if d.spec.Name == name {
			return d.dev
		}
	}
	return nil
}

// NTPServer returns the named NTP simulator, or nil.
func (s *Site) NTPServer(name string) *ntpsim.Server {
	for _, n := range s.ntp {
		if n.spec.Name == name {
			return n.srv
		}
	}
	return nil
}

// Step applies the restarts due at time now: a device with RestartEvery
// restarts once when one or more period boundaries (Start + k·RestartEvery)
// passed since the last Step. It also moves the NTP servers' peers (offsets
// and last-packet times as functions of now). It returns the names of the
// devices it restarted.
func (s *Site) Step(now time.Time) []string {
	for _, n := range s.ntp {
		n.srv.SetPeers(ntpPeers(n.spec, now))
		n.srv.SetSystem(ntpSystem(n.spec, now))
	}
	var restarted []string
	for _, d := range s.devices {
		every := d.spec.RestartEvery
		if every <= 0 {
			continue
		}
		due := int(now.Sub(s.start) / every)
		if due > d.restarts {
			d.restarts = due
			d.dev.Restart(d.spec.Renumber)
			restarted = append(restarted, d.spec.Name)
			s.log.Info("simulated device restarted", "device", d.spec.Name, "renumber", d.spec.Renumber, "boots", d.dev.Boots())
		}
	}
	return restarted
}

// Run calls Step every tick until ctx ends or a simulator fails, and
// returns that failure (nil when ctx ended).
func (s *Site) Run(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.errs:
			return err
		case <-t.C:
			s.Step(s.clock())
		}
	}
}

// Close stops every simulator and waits for them.
func (s *Site) Close() error {
	s.cancel()
	s.wg.Wait()
	var errs []error
	for {
		select {
		case err := <-s.errs:
			errs = append(errs, err)
		default:
			return errors.Join(errs...)
		}
	}
}

// WriteAddresses prints one line per simulator: kind, name, address.
func (s *Site) WriteAddresses(w io.Writer) error {
	for _, t := range s.Targets() {
		if _, err := fmt.Fprintf(w, "%-4s %-12s %s\n", t.Kind, t.Name, t.Addr); err != nil {
			return err
		}
	}
	return nil
}

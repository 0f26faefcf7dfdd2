// Package site is a whole simulated site for the demo and end-to-end
// tests: several SNMP devices (agent/sim/snmpsim), each on its own loopback
// UDP port, and NTP servers answering mode 6 queries (agent/sim/ntpsim),
// described by a small Spec (Go or YAML). A running Site can write the
// matching agent configuration (targets with their ports), so an agent can
// be pointed at it.
//
// Scheduled behaviour is a function of the clock: flapping ports follow
// their period (snmpsim.Interface.FlapPeriod) and restarts happen at
// Start + k·RestartEvery; Site.Step applies the restarts due at a given
// time, and Run calls Step on a ticker. Tests inject a clock and call Step
// themselves, so nothing depends on wall-clock timing.
package site

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Spec describes a simulated site.
type Spec struct {
	// Host is the loopback address every simulator binds; default 127.0.0.1.
	Host    string   `yaml:"host"`
	Devices []Device `yaml:"devices"`
	NTP     []NTP    `yaml:"ntp"`
	// Links cable two devices' interfaces: each end sees the other as
	// an LLDP neighbour (both devices need hardware).
	Links []Link `yaml:"links"`
}

// Link is a cable between interface APort of device A and BPort of B.
type Link struct {
	A     string `yaml:"a"`
	APort string `yaml:"a_port"`
	B     string `yaml:"b"`
	BPort string `yaml:"b_port"`
}

// Device is one simulated SNMP device.
type Device struct {
	Name string `yaml:"name"` // sysName and the agent's target name
	// Port is the UDP port; 0 picks a free one.
	Port       int    `yaml:"port"`
	Interfaces int    `yaml:"interfaces"` // generated with snmpsim.GenerateInterfaces; default 24
	Seed       int64  `yaml:"seed"`       // default: derived from Name
	Community  string `yaml:"community"`  // default "public"; "-" disables v1/v2c
	V3         *V3    `yaml:"v3"`         // optional USM user
	// AdminDown lists interface names set admin-down at start.
	AdminDown []string `yaml:"admin_down"`
	// Flap lists interface names that flap with FlapPeriod (default 10m).
	Flap       []string      `yaml:"flap"`
	FlapPeriod time.Duration `yaml:"flap_period"`
	// RestartEvery > 0 restarts the device at Start + k·RestartEvery;
	// Renumber makes those restarts renumber ifIndex.
	RestartEvery time.Duration `yaml:"restart_every"`
	Renumber     bool          `yaml:"renumber"`
	MaxMsgSize   int           `yaml:"max_msg_size"` // default 1472 (65507 when hostile)
	Location     string        `yaml:"location"`
	// Hostile makes every string the device answers hostile (invalid
	// UTF-8, NUL, escape sequences, markup, paths, 64 KB strings: see
	// snmpsim.Hostile); counters and statuses stay normal. admin_down and
	// flap name the interfaces as generated, before they are renamed.
	Hostile bool `yaml:"hostile"`
	// Hardware gives the device entities, sensors, CPU, memory and LLDP
	// (snmpsim.Hardware); HotSensor makes its CPU die temperature run
	// above the device's warning threshold.
	Hardware  bool `yaml:"hardware"`
	HotSensor bool `yaml:"hot_sensor"`
}

// V3 is a device's SNMPv3 user. Protocol spellings as snmpsim.User.
type V3 struct {
	User      string `yaml:"user"`
	AuthProto string `yaml:"auth_protocol"`
	AuthPass  string `yaml:"auth_passphrase"`
	PrivProto string `yaml:"priv_protocol"`
	PrivPass  string `yaml:"priv_passphrase"`
}

// NTP is one simulated NTP server (mode 6 only).
type NTP struct {
	Name string `yaml:"name"`
	Port int    `yaml:"port"` // 0 picks a free one
	// Peers is the number of unicast associations; default 4. The first is
	// the system peer unless Unsynced.
	Peers int `yaml:"peers"`
	// Offset is the system peer's offset; default 1.5ms.
	Offset time.Duration `yaml:"offset"`
	// Unsynced makes the server unsynchronised (leap 3, no system peer).
	Unsynced bool `yaml:"unsynced"`
	// Hostile makes the server answer hostile variables: escape sequences,
	// markup and invalid bytes in its strings, absurd numbers (offset
	// -1e20 ms, NaN, a negative delay, stratum 99): see ntpsim.Hostile.
	Hostile bool `yaml:"hostile"`
}

// DefaultSpec is the demo site: a core router, two distribution switches
// (one restarting every six hours with ifIndex renumbering), three access
// switches, a v3-only firewall, and two NTP servers, one of them
// unsynchronised. Every device has hardware (entities, sensors, CPU,
// memory), one access switch runs hot, and the devices are cabled to each
// other (LLDP), so the demo draws a topology.
func DefaultSpec() Spec {
	return Spec{
		Devices: []Device{
			{Name: "core-1", Interfaces: 96, AdminDown: []string{"ge-0/0/5"}, Flap: []string{"ge-0/0/6"}, FlapPeriod: 10 * time.Minute, Location: "DC1 row A", Hardware: true},
			{Name: "dist-1", Interfaces: 48, RestartEvery: 6 * time.Hour, Renumber: true, Location: "DC1 row B", Hardware: true},
			{Name: "dist-2", Interfaces: 48, Location: "DC1 row B", Hardware: true},
			{Name: "access-1", Interfaces: 24, Location: "floor 1", Hardware: true},
			{Name: "access-2", Interfaces: 24, Location: "floor 2", Hardware: true, HotSensor: true},
			{Name: "access-3", Interfaces: 24, AdminDown: []string{"ge-0/0/3"}, Location: "floor 3", Hardware: true},
			{Name: "fw-1", Interfaces: 12, Community: "-", Location: "DC1 row A", Hardware: true,
				V3: &V3{User: "outpost", AuthProto: "SHA-256", AuthPass: "demo-auth-pass", PrivProto: "AES", PrivPass: "demo-priv-pass"}},
		},
		NTP: []NTP{
			{Name: "ntp-1", Peers: 4, Offset: 1500 * time.Microsecond},
			{Name: "ntp-2", Peers: 3, Unsynced: true},
		},
		Links: []Link{
			{A: "core-1", APort: "ge-0/0/0", B: "dist-1", BPort: "ge-0/0/0"},
			{A: "core-1", APort: "ge-0/0/1", B: "dist-2", BPort: "ge-0/0/0"},
			{A: "dist-1", APort: "ge-0/0/1", B: "dist-2", BPort: "ge-0/0/1"},
			{A: "dist-1", APort: "ge-0/0/2", B: "access-1", BPort: "ge-0/0/0"},
			{A: "dist-1", APort: "ge-0/0/3", B: "access-2", BPort: "ge-0/0/0"},
			{A: "dist-2", APort: "ge-0/0/2", B: "access-3", BPort: "ge-0/0/0"},
			{A: "core-1", APort: "ge-0/0/2", B: "fw-1", BPort: "ge-0/0/0"},
		},
	}
}

// LoadSpec reads a YAML spec strictly (unknown keys are errors). Durations
// are Go durations ("10m", "6h").
func LoadSpec(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("site: %w", err)
	}
	return ParseSpec(path, b)
}

// ParseSpec decodes a YAML spec; name is used in errors.
func ParseSpec(name string, data []byte) (Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("site: %s: %w", name, err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("site: %s: %w", name, err)
	}
	return s, nil
}

// Validate checks names, counts and ports.
func (s *Spec) Validate() error {
	names := map[string]bool{}
	check := func(kind string, i int, name string, port int) error {
		if name == "" {
			return fmt.Errorf("%s[%d]: name is required", kind, i)
		}
		if names[name] {
			return fmt.Errorf("%s[%d]: duplicate name %q", kind, i, name)
		}
		names[name] = true
		if port < 0 || port > 65535 {
			return fmt.Errorf("%s[%d] (%s): port %d out of range", kind, i, name, port)
		}
		return nil
	}
	for i, d := range s.Devices {
		if err := check("devices", i, d.Name, d.Port); err != nil {
			return err
		}
		if d.Interfaces < 0 || d.Interfaces > 100000 {
			return fmt.Errorf("devices[%d] (%s): interfaces %d out of range", i, d.Name, d.Interfaces)
		}
		if d.Community == "-" && d.V3 == nil {
			return fmt.Errorf("devices[%d] (%s): neither a community nor a v3 user", i, d.Name)
		}
		if d.RestartEvery < 0 || (d.RestartEvery > 0 && d.RestartEvery < time.Second) {
			return fmt.Errorf("devices[%d] (%s): restart_every %v is too short", i, d.Name, d.RestartEvery)
		}
	}
	for i, n := range s.NTP {
		if err := check("ntp", i, n.Name, n.Port); err != nil {
			return err
		}
		if n.Peers < 0 || n.Peers > 50 {
			return fmt.Errorf("ntp[%d] (%s): peers %d out of range", i, n.Name, n.Peers)
		}
	}
	hw := map[string]bool{}
	for _, d := range s.Devices {
		hw[d.Name] = d.Hardware
	}
	for i, l := range s.Links {
		for _, end := range []struct{ dev, port string }{{l.A, l.APort}, {l.B, l.BPort}} {
			if !hw[end.dev] {
				return fmt.Errorf("links[%d]: %q is not a device with hardware: true", i, end.dev)
			}
			if end.port == "" {
				return fmt.Errorf("links[%d]: a port of %s is empty", i, end.dev)
			}
		}
		if l.A == l.B {
			return fmt.Errorf("links[%d]: %s linked to itself", i, l.A)
		}
	}
	return nil
}

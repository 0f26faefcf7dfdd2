package snmpsim

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// IF-MIB ifOperStatus values.
const (
	OperUp             = 1
	OperDown           = 2
	OperTesting        = 3
	OperUnknown        = 4
	OperDormant        = 5
	OperNotPresent     = 6
	OperLowerLayerDown = 7
)

// IANAifType values used by GenerateInterfaces.
const (
	IfTypeEthernet = 6   // ethernetCsmacd
	IfTypeLoopback = 24  // softwareLoopback
	IfTypeVirtual  = 53  // propVirtual
	IfTypeLAG      = 161 // ieee8023adLag
)

// Interface describes one row of ifTable/ifXTable and how its traffic
// behaves over time.
type Interface struct {
	Index    int    // ifIndex, > 0 and unique within the device
	Name     string // ifName, e.g. "ge-0/0/1"; unique within the device
	Descr    string // ifDescr; default Name
	Alias    string // ifAlias (the user's description)
	Type     int    // IANAifType; default IfTypeEthernet
	MTU      int    // ifMtu in bytes; default 1500
	SpeedBps uint64 // link speed in bits/s (ifSpeed saturates at 2^32-1, ifHighSpeed is Mb/s)
	MAC      net.HardwareAddr
	AdminUp  bool // ifAdminStatus up(1) or down(2); an admin-down port carries no traffic
	Oper     int  // IF-MIB ifOperStatus (OperUp ...); default OperUp when AdminUp, OperDown otherwise

	// InRate and OutRate are the mean traffic in bytes/s while the port is
	// up. Packet, multicast, broadcast, error and discard counters are
	// derived from the octet counters (fixed ratios), so they are exact too.
	InRate, OutRate float64
	// Diurnal in [0,1) is the amplitude of a daily sine curve around the
	// mean rate (0: constant). The curve follows UTC time of day, peaking at
	// 15:00.
	Diurnal float64
	// BurstEvery, BurstLength and BurstFactor add periodic bursts: for
	// BurstLength at the start of every BurstEvery (aligned to the Unix
	// epoch) the rate is multiplied by BurstFactor. Zero BurstEvery: none.
	BurstEvery, BurstLength time.Duration
	BurstFactor             float64
	// FlapPeriod > 0 makes the port flap: operationally up for the first
	// half of every period (aligned to the Unix epoch) and down for the
	// second half. A flapping port ignores Diurnal and bursts.
	FlapPeriod time.Duration
	// NoHC makes the port answer 0 for every ifXTable HC (Counter64)
	// column, as some devices do on some ports.
	NoHC bool
}

// User is an SNMPv3 USM user. Protocol names are spelled as net-snmp and
// gosnmp users type them: AuthProto "" (noAuthNoPriv), MD5, SHA, SHA-224,
// SHA-256, SHA-384, SHA-512 (hyphen optional); PrivProto "" (no privacy),
// DES, AES, AES-192, AES-256 (Blumenthal key extension), AES-192-C,
// AES-256-C (Reeder, Cisco's). Passphrases must be at least 8 characters.
type User struct {
	Name                string
	AuthProto, AuthPass string
	PrivProto, PrivPass string
}

// Config describes a simulated device. Zero values take the defaults named
// on each field.
type Config struct {
	SysName     string // default "sim-device"
	SysDescr    string // default "Outpost simulated device"
	SysObjectID string // numeric OID; default 1.3.6.1.4.1.8072.3.2.10 (net-snmp Linux)
	Location    string
	Contact     string
	// Community is the v1/v2c community; "" disables v1/v2c. Requests with
	// another community are dropped without an answer.
	Community string
	// Users are the v3 USM users; none disables v3 (requests get an
	// unknown-user report).
	Users      []User
	Interfaces []Interface
	// Clock returns the current time; default time.Now. Tests inject one to
	// predict counters exactly.
	Clock func() time.Time
	// Start is the time the device (and its counters) started; default
	// Clock() at New.
	Start time.Time
	// MaxMsgSize bounds every response in bytes; default 1472 (what many
	// switches use). Minimum 484 (RFC 3417).
	MaxMsgSize int
	// EngineID is the v3 authoritative engine ID (5 to 32 bytes); default
	// derived from SysName (RFC 3411 text format, net-snmp's enterprise).
	EngineID []byte
	// EngineBoots is snmpEngineBoots at Start; default 1. Restart adds one.
	EngineBoots int
	// Seed makes renumbering and host-resource curves reproducible.
	Seed int64
	// StorageDescrs replace the hrStorageDescr of the simulated storage
	// rows, in order (default "Physical memory", "Virtual memory", "/");
	// entries beyond the rows are ignored.
	StorageDescrs []string
	// Hardware adds entities, sensors, CPU, memory and LLDP neighbours
	// (hardware.go); nil: none.
	Hardware *Hardware
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.SysName == "" {
		out.SysName = "sim-device"
	}
	if out.SysDescr == "" {
		out.SysDescr = "Outpost simulated device"
	}
	if out.SysObjectID == "" {
		out.SysObjectID = "1.3.6.1.4.1.8072.3.2.10"
	}
	if _, err := parseOID(out.SysObjectID); err != nil {
		return out, fmt.Errorf("snmpsim: sysObjectID: %w", err)
	}
	if out.Clock == nil {
		out.Clock = time.Now
	}
	if out.Start.IsZero() {
		out.Start = out.Clock()
	}
	if out.MaxMsgSize == 0 {
		out.MaxMsgSize = 1472
	}
	if out.MaxMsgSize < 484 || out.MaxMsgSize > 65507 {
		return out, fmt.Errorf("snmpsim: MaxMsgSize %d outside 484..65507", out.MaxMsgSize)
	}
	if len(out.EngineID) == 0 {
		name := out.SysName
		if len(name) > 27 {
			name = name[:27]
		}
		out.EngineID = append([]byte{0x80, 0x00, 0x1f, 0x88, 0x04}, name...)
	}
	if len(out.EngineID) < 5 || len(out.EngineID) > 32 {
		return out, fmt.Errorf("snmpsim: engine ID must be 5 to 32 bytes, got %d", len(out.EngineID))
	}
	if out.EngineBoots == 0 {
		out.EngineBoots = 1
	}
	seenIdx := map[int]bool{}
	seenName := map[string]bool{}
	out.Interfaces = append([]Interface(nil), c.Interfaces...)
	for i := range out.Interfaces {
		f := &out.Interfaces[i]
		if f.Index <= 0 || seenIdx[f.Index] {
			return out, fmt.Errorf("snmpsim: interface %d (%q): ifIndex %d is not positive or not unique", i, f.Name, f.Index)
		}
		if f.Name == "" || seenName[f.Name] {
			return out, fmt.Errorf("snmpsim: interface %d: name %q is empty or not unique", i, f.Name)
		}
		seenIdx[f.Index], seenName[f.Name] = true, true
		if f.Descr == "" {
			f.Descr = f.Name
		}
		if f.Type == 0 {
			f.Type = IfTypeEthernet
		}
		if f.MTU == 0 {
			f.MTU = 1500
		}
		if f.Oper == 0 {
			f.Oper = OperUp
			if !f.AdminUp {
				f.Oper = OperDown
			}
		}
		if f.Oper < 1 || f.Oper > 7 {
			return out, fmt.Errorf("snmpsim: interface %q: ifOperStatus %d outside 1..7", f.Name, f.Oper)
		}
		if f.Diurnal < 0 || f.Diurnal >= 1 {
			return out, fmt.Errorf("snmpsim: interface %q: Diurnal %v outside [0,1)", f.Name, f.Diurnal)
		}
		if f.InRate < 0 || f.OutRate < 0 {
			return out, fmt.Errorf("snmpsim: interface %q: negative rate", f.Name)
		}
	}
	for _, u := range out.Users {
		if _, err := u.usm(); err != nil {
			return out, err
		}
	}
	if out.Hardware != nil {
		if err := out.Hardware.validate(out.Interfaces); err != nil {
			return out, err
		}
	}
	return out, nil
}

// usm converts a User into gosnmp's protocol constants and checks it.
// Errors name the user, never a passphrase.
func (u User) usm() (*gosnmp.UsmSecurityParameters, error) {
	if u.Name == "" {
		return nil, fmt.Errorf("snmpsim: v3 user with an empty name")
	}
	sp := &gosnmp.UsmSecurityParameters{
		UserName:               u.Name,
		AuthenticationProtocol: gosnmp.NoAuth,
		PrivacyProtocol:        gosnmp.NoPriv,
	}
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "")) }
	switch norm(u.AuthProto) {
	case "":
	case "MD5":
		sp.AuthenticationProtocol = gosnmp.MD5
	case "SHA", "SHA1":
		sp.AuthenticationProtocol = gosnmp.SHA
	case "SHA224":
		sp.AuthenticationProtocol = gosnmp.SHA224
	case "SHA256":
		sp.AuthenticationProtocol = gosnmp.SHA256
	case "SHA384":
		sp.AuthenticationProtocol = gosnmp.SHA384
	case "SHA512":
		sp.AuthenticationProtocol = gosnmp.SHA512
	default:
		return nil, fmt.Errorf("snmpsim: user %q: unknown auth protocol %q", u.Name, u.AuthProto)
	}
	switch norm(u.PrivProto) {
	case "":
	case "DES":
		sp.PrivacyProtocol = gosnmp.DES
	case "AES", "AES128":
		sp.PrivacyProtocol = gosnmp.AES
	case "AES192":
		sp.PrivacyProtocol = gosnmp.AES192
	case "AES256":
		sp.PrivacyProtocol = gosnmp.AES256
	case "AES192C":
		sp.PrivacyProtocol = gosnmp.AES192C
	case "AES256C":
		sp.PrivacyProtocol = gosnmp.AES256C
	default:
		return nil, fmt.Errorf("snmpsim: user %q: unknown privacy protocol %q", u.Name, u.PrivProto)
	}
	if sp.PrivacyProtocol != gosnmp.NoPriv && sp.AuthenticationProtocol == gosnmp.NoAuth {
		return nil, fmt.Errorf("snmpsim: user %q: privacy requires an auth protocol", u.Name)
	}
	if sp.AuthenticationProtocol != gosnmp.NoAuth {
		if len(u.AuthPass) < 8 {
			return nil, fmt.Errorf("snmpsim: user %q: auth passphrase shorter than 8 characters", u.Name)
		}
		sp.AuthenticationPassphrase = u.AuthPass
	}
	if sp.PrivacyProtocol != gosnmp.NoPriv {
		if len(u.PrivPass) < 8 {
			return nil, fmt.Errorf("snmpsim: user %q: privacy passphrase shorter than 8 characters", u.Name)
		}
		sp.PrivacyPassphrase = u.PrivPass
	}
	return sp, nil
}

package snmpsim

import (
	"fmt"
	"strings"
)

// HostileString is one value a hostile device serves in a string object.
type HostileString struct {
	Name  string // what it tests, for test names and logs
	Value string // the bytes as the device sends them (not valid UTF-8 for some)
}

// XSSMarker is the global variable the markup among the hostile strings
// sets (window.__outpostXSS = 1) if a page ever runs it: browser tests
// check that it stays undefined.
const XSSMarker = "__outpostXSS"

// longString is about 64 KB: with the protocol overhead it still fits one
// SNMP message of MaxUDPMessage bytes.
var longString = strings.Repeat("L", 64<<10-1024)

// MaxUDPMessage is the largest SNMP message over UDP/IPv4 (65,535 minus
// the IP and UDP headers); a hostile device uses it so that its 64 KB
// strings can be served.
const MaxUDPMessage = 65507

// HostileStrings returns the catalogue of hostile values Hostile serves:
// invalid UTF-8 (a lone 0xff, "c3 28", the truncated "e2 82", Latin-1
// "Büro"), NUL, CR, terminal escape sequences (ESC and the C1 CSI),
// bidirectional overrides, markup (<script>, <img onerror>, an attribute
// break-out), a path that climbs out of a directory, two long names that
// only differ after 300 bytes, a text that cleans to the same string as the
// Latin-1 one (a backslash escape typed by a user), and a 64 KB string.
func HostileStrings() []HostileString {
	return []HostileString{
		{"invalid-ff", "port\xff1"},
		{"invalid-c328", "bad\xc3\x28seq"},
		{"truncated-e282", "euro\xe2\x82"},
		{"latin1", "B\xfcro 2.OG"},
		{"latin1-as-text", `B\xfcro 2.OG`},
		{"nul", "nul\x00byte"},
		{"cr", "over\rwritten"},
		{"esc", "\x1b[2J\x1b[31mred\x1b]0;owned\x07"},
		{"c1-csi", "csi\xc2\x9b31m"},
		{"bidi", "abc\u202edcba\u2066"},
		{"script", "<script>window." + XSSMarker + "=1</script>"},
		{"img-onerror", "<img src=x onerror=\"window." + XSSMarker + "=1\">"},
		{"attr-breakout", "\"'><svg onload=window." + XSSMarker + "=1>"},
		{"path", "../../../../tmp/outpost-escape"},
		{"long-a", strings.Repeat("x", 300) + "-a"},
		{"long-b", strings.Repeat("x", 300) + "-b"},
		{"64k", longString},
	}
}

// Hostile returns cfg with every string the device answers made hostile
// (see HostileStrings): sysDescr (multi-line markup, escape sequences, an
// invalid byte, then 64 KB), sysName, sysLocation (Latin-1), sysContact
// (NUL, OSC escape), every interface's ifName, ifDescr and ifAlias (the
// catalogue in turn, at different offsets so each column sees every value;
// names stay unique as the simulator requires), one interface's
// ifPhysAddress of 300 bytes, and the HOST-RESOURCES storage descriptions.
// With Hardware, the chassis model and serial, the sensor names and the
// LLDP neighbours' names and ports are hostile too (neighbours keep their
// local interfaces, renamed). MaxMsgSize becomes MaxUDPMessage unless
// set. Counters, statuses and everything else are unchanged, so the
// device still polls normally.
func Hostile(cfg Config) Config {
	out := cfg
	cat := HostileStrings()
	out.SysDescr = "<script>window." + XSSMarker + "=1</script>\r\nsecond line \x1b[2J\xff\r\n" + longString
	out.SysName = "sw\xc3\x28<b>" + cfg.SysName + "</b>"
	out.Location = "B\xfcro 2.OG ../../etc"
	out.Contact = "\x00noc\x1b]0;title\x07@example.net"
	if out.MaxMsgSize == 0 {
		out.MaxMsgSize = MaxUDPMessage
	}
	out.Interfaces = append([]Interface(nil), cfg.Interfaces...)
	renamed := map[string]string{}
	for i := range out.Interfaces {
		f := &out.Interfaces[i]
		old := f.Name
		f.Name = cat[i%len(cat)].Value
		if round := i / len(cat); round > 0 {
			f.Name += fmt.Sprintf(" #%d", round)
		}
		renamed[old] = f.Name
		f.Descr = cat[(i+5)%len(cat)].Value
		f.Alias = cat[(i+11)%len(cat)].Value
		if i == 1 {
			mac := make([]byte, 300)
			for k := range mac {
				mac[k] = byte(k)
			}
			f.MAC = mac
		}
	}
	out.StorageDescrs = []string{
		"../../../../tmp/outpost-escape",
		"<img src=x onerror=window." + XSSMarker + "=1>",
		"C:\\ Label:\xff Serial Number 1f2e\x1b[0m",
	}
	if cfg.Hardware != nil {
		h := *cfg.Hardware
		h.Model = "<img src=x onerror=window." + XSSMarker + "=1>"
		h.Serial = "SN\x00\xff\x1b[31m"
		h.Sensors = append([]Sensor(nil), h.Sensors...)
		for i := range h.Sensors {
			h.Sensors[i].Name = cat[(i+3)%len(cat)].Value
		}
		h.Neighbors = append([]Neighbor(nil), h.Neighbors...)
		for i := range h.Neighbors {
			n := &h.Neighbors[i]
			n.LocalPort = renamed[n.LocalPort]
			n.SysName = "<script>window." + XSSMarker + "=1</script>" + n.SysName
			n.PortID = "\x1b]0;pwned\x07" + n.PortID + "\xff"
		}
		out.Hardware = &h
	}
	return out
}

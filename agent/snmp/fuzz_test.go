package snmp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/shared/secret"
)

// FuzzReportError feeds arbitrary datagrams to the decoder of
// unauthenticated v3 Report PDUs: it must never panic, and it names an
// error only for a Report.
func FuzzReportError(f *testing.F) {
	for _, oid := range []string{".1.3.6.1.6.3.15.1.1.5.0", ".1.3.6.1.6.3.15.1.1.3.0", ".1.3.6.1.6.3.15.1.1.6.0"} {
		g := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
			SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "u", AuthoritativeEngineID: "\x80\x00\x1f\x88\x04abc"}}
		pkt := g.MkSnmpPacket(gosnmp.Report, []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Counter32, Value: uint32(7)}}, 0, 0)
		if b, err := pkt.MarshalMsg(); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = reportError(b)
	})
}

// FuzzResolveOID: any text resolves to a numeric OID or an error, never a panic.
func FuzzResolveOID(f *testing.F) {
	for _, s := range []string{"IF-MIB::ifHCInOctets.1", "sysName", ".1.3.6.1.2.1.1.5.0", "ifDescr", "X::y.1", "ifName.a", "::", "1..2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		oid, err := ResolveOID(s)
		if err == nil && !isNumericOID(oid) {
			t.Fatalf("ResolveOID(%q) = %q, not numeric", s, oid)
		}
		if err == nil && strings.HasPrefix(oid, ".") {
			t.Fatalf("leading dot in %q", oid)
		}
	})
}

func TestResolveOID(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"IF-MIB::ifHCInOctets.1", "1.3.6.1.2.1.31.1.1.1.6.1", ""},
		{"ifHCInOctets.12", "1.3.6.1.2.1.31.1.1.1.6.12", ""},
		{"SNMPv2-MIB::sysUpTime.0", "1.3.6.1.2.1.1.3.0", ""},
		{"sysName", "1.3.6.1.2.1.1.5.0", ""},
		{"IF-MIB::ifNumber", "1.3.6.1.2.1.2.1.0", ""},
		{"HOST-RESOURCES-MIB::hrProcessorLoad.196608", "1.3.6.1.2.1.25.3.3.1.2.196608", ""},
		{".1.3.6.1.4.1.2021.10.1.3.1", "1.3.6.1.4.1.2021.10.1.3.1", ""},
		{"1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.1.0", ""},
		{"ifDescr", "", "add the instance"},
		{"CISCO-PROCESS-MIB::cpmCPUTotal5sec.1", "", "not a built-in object"},
		{"ifName.x", "", "not numeric"},
		{"", "", "empty"},
	}
	for _, c := range cases {
		got, err := ResolveOID(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ResolveOID(%q) = %q, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ResolveOID(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestProtocolSpellings(t *testing.T) {
	auth := map[string]gosnmp.SnmpV3AuthProtocol{"MD5": gosnmp.MD5, "sha": gosnmp.SHA, "SHA-1": gosnmp.SHA, "SHA-224": gosnmp.SHA224,
		"SHA256": gosnmp.SHA256, "sha-256": gosnmp.SHA256, "SHA-384": gosnmp.SHA384, "SHA512": gosnmp.SHA512}
	for in, want := range auth {
		if got, err := ParseAuthProtocol(in); err != nil || got != want {
			t.Errorf("ParseAuthProtocol(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	priv := map[string]gosnmp.SnmpV3PrivProtocol{"DES": gosnmp.DES, "aes": gosnmp.AES, "AES-128": gosnmp.AES, "AES-192": gosnmp.AES192,
		"AES256": gosnmp.AES256, "AES-256-C": gosnmp.AES256C, "aes192c": gosnmp.AES192C}
	for in, want := range priv {
		if got, err := ParsePrivProtocol(in); err != nil || got != want {
			t.Errorf("ParsePrivProtocol(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseAuthProtocol("SHA-3"); err == nil {
		t.Error("SHA-3 accepted")
	}
	if _, err := ParsePrivProtocol("3DES"); err == nil {
		t.Error("3DES accepted")
	}
}

func TestAssignIdentities(t *testing.T) {
	ifs := []Interface{
		{Index: 1, Name: "eth0", Descr: "Intel eth"},
		{Index: 2, Name: "dup", Descr: "port two"},
		{Index: 3, Name: "dup", Descr: "port three"},
		{Index: 4, Name: "", Descr: "", Alias: "uplink"},
		{Index: 5},
		{Index: 6, Name: "x", Descr: "same"},
		{Index: 7, Name: "", Descr: "same"},
	}
	AssignIdentities(ifs, nil)
	want := []string{"eth0", "port two", "port three", "uplink", "ifIndex.5", "x", "ifIndex.7"}
	for i, r := range ifs {
		if r.Identity != want[i] {
			t.Errorf("ifIndex %d: identity %q, want %q", r.Index, r.Identity, want[i])
		}
	}
	AssignIdentities(ifs, []string{"ifDescr", "ifIndex"})
	if ifs[0].Identity != "Intel eth" || ifs[5].Identity != "ifIndex.6" {
		t.Errorf("port_match ifDescr: %q %q", ifs[0].Identity, ifs[5].Identity)
	}
}

// FuzzDeviceStrings feeds arbitrary bytes to every string a device
// answers (system group, ifDescr, ifName, ifAlias, ifPhysAddress,
// hrStorageDescr, a user OID's value, an error text) through the
// conversion of varbinds into a Device, the inventory (wire.Host), the
// statuses of a poll and of a failed poll: nothing panics and every
// resulting string is clean (checkReportClean also decodes it with the
// collector's strict codec).
func FuzzDeviceStrings(f *testing.F) {
	for _, h := range snmpsim.HostileStrings() {
		v := []byte(h.Value)[:min(len(h.Value), 600)] // long enough to be cut; TestHostileDevice serves the 64 KB one
		f.Add(v, []byte("ge-0/0/1"), v, uint8(1))
	}
	f.Add([]byte("Linux router 6.1\r\n"), []byte("B\xfcro"), []byte(`B\xfcro`), uint8(2))
	f.Add([]byte{}, []byte{0xff}, []byte{0xc3, 0x28}, uint8(0))
	f.Fuzz(func(t *testing.T, a, b, c []byte, n uint8) {
		tg, err := New(config.SNMPTarget{Name: "fz", Address: "127.0.0.1", HostResources: true,
			SNMPSettings: config.SNMPSettings{Port: 161, Version: "2c", Community: secret.New("x")},
			OIDs:         []config.OIDSpec{{Name: "u", OID: "1.3.6.1.4.1.1.1.0"}}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		str := func(x []byte) *gosnmp.SnmpPDU { return &gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: x} }
		var sys System
		for i, v := range [][]byte{a, nil, b, c, b, a, nil} {
			if v != nil {
				sys.set(i, str(v))
			}
		}
		sys.set(sysObjectID, &gosnmp.SnmpPDU{Type: gosnmp.ObjectIdentifier, Value: string(c)})
		tab := newIfTable()
		for idx := uint32(1); idx <= 3; idx++ {
			strs := [][]byte{a, b, c}
			tab.add(dcDescr, idx, str(strs[idx%3]))
			tab.add(dcName, idx, str(strs[(idx+uint32(n))%3]))
			tab.add(dcAlias, idx, str(strs[(idx+1)%3]))
			tab.add(dcPhysAddress, idx, str(strs[(idx+2)%3]))
			tab.add(dcOperStatus, idx, &gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: int(n)})
		}
		st := map[uint32]*Storage{}
		for idx, v := range [][]byte{a, b, c} {
			addStorage(st, hrDescr, uint32(idx+1), str(v))
			addStorage(st, hrType, uint32(idx+1), &gosnmp.SnmpPDU{Type: gosnmp.ObjectIdentifier, Value: string(v)})
		}
		dev := &Device{System: sys, Interfaces: tab.interfaces(true, interfaceFilter{}, []string{"ifName", "ifAlias", "ifDescr"}), Storage: storageRows(st), Processors: []uint32{1}}
		tg.adopt(dev)
		rep := poll.Report{Host: "fz", Inventory: tg.inventory()}
		sc := &scalars{oidVals: []*gosnmp.SnmpPDU{str(b)},
			storage: map[uint32][2]*gosnmp.SnmpPDU{1: {str(a), {Type: gosnmp.Integer, Value: int(n) - 100}}},
			cpu:     map[uint32]*gosnmp.SnmpPDU{1: {Type: gosnmp.Integer, Value: int(n)}}}
		tg.emit(&rep, sc, time.Unix(1_800_000_000, 0))
		checkReportClean(t, rep)
		var down poll.Report
		tg.unreachable(&down, fmt.Errorf("decode response: %s", a))
		checkReportClean(t, down)
	})
}

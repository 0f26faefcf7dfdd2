package snmp

import (
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
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

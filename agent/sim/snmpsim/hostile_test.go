package snmpsim

import (
	"bytes"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// TestHostileServesRawBytes: a hostile device answers exactly the bytes of
// the catalogue in every string object, 64 KB strings included, to a
// plain SNMP client.
func TestHostileServesRawBytes(t *testing.T) {
	cat := HostileStrings()
	cfg := Hostile(Config{Community: "c", Interfaces: GenerateInterfaces(len(cat), 3)})
	if cfg.MaxMsgSize != MaxUDPMessage {
		t.Fatalf("MaxMsgSize %d", cfg.MaxMsgSize)
	}
	_, addr := startDevice(t, cfg)
	g := client(t, addr, gosnmp.Version2c, "c")
	get := func(oid string) []byte {
		t.Helper()
		pkt, err := g.Get([]string{oid})
		if err != nil {
			t.Fatalf("get %s: %v", oid, err)
		}
		b, ok := pkt.Variables[0].Value.([]byte)
		if !ok {
			t.Fatalf("%s: %T %v", oid, pkt.Variables[0].Value, pkt.Variables[0].Type)
		}
		return b
	}
	if d := get("1.3.6.1.2.1.1.1.0"); !bytes.Equal(d, []byte(cfg.SysDescr)) || len(d) < 64000 {
		t.Errorf("sysDescr: %d bytes, want the %d hostile ones", len(d), len(cfg.SysDescr))
	}
	for oid, want := range map[string]string{"1.3.6.1.2.1.1.4.0": cfg.Contact, "1.3.6.1.2.1.1.5.0": cfg.SysName, "1.3.6.1.2.1.1.6.0": cfg.Location,
		"1.3.6.1.2.1.25.2.3.1.3.31": cfg.StorageDescrs[2]} {
		if got := get(oid); string(got) != want {
			t.Errorf("%s = %q, want %q", oid, got, want)
		}
	}
	for i, h := range cat {
		name := get("1.3.6.1.2.1.31.1.1.1.1." + itoa(i+1))
		if string(name) != h.Value {
			t.Errorf("ifName.%d = %q (%d bytes), want %s", i+1, name[:min(len(name), 40)], len(name), h.Name)
		}
	}
	if mac := get("1.3.6.1.2.1.2.2.1.6.2"); len(mac) != 300 {
		t.Errorf("ifPhysAddress.2 has %d bytes, want 300", len(mac))
	}
	if !bytes.Equal(get("1.3.6.1.2.1.2.2.1.2.1"), []byte(cat[5].Value)) || !bytes.Equal(get("1.3.6.1.2.1.31.1.1.1.18.1"), []byte(cat[11].Value)) {
		t.Error("ifDescr.1 / ifAlias.1 are not the catalogue's values")
	}
}

package trap

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/wire"
)

func v2cPacket(t testing.TB, typ gosnmp.PDUType, id uint32, vars ...gosnmp.SnmpPDU) []byte {
	t.Helper()
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: typ, RequestID: id,
		Variables: append([]gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(100)},
			{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.3"}}, vars...)}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func v2cInform(t testing.TB, id uint32) []byte { return v2cPacket(t, gosnmp.InformRequest, id) }

func testDecoder(t testing.TB) *Decoder {
	t.Helper()
	d, err := NewDecoder([]string{"public"}, []config.SNMPv3{testUser}, []byte("\x80\x00\x1f\x88\x04outpost:test"),
		func() time.Time { return time.Unix(1_800_000_000, 0) })
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var src = netip.MustParseAddrPort("192.0.2.10:40000")

// TestDecodeHostile: huge varbind lists, 64 KB strings and non-UTF-8 come
// out bounded and clean; garbage is refused as malformed.
func TestDecodeHostile(t *testing.T) {
	d := testDecoder(t)
	var many []gosnmp.SnmpPDU
	for i := 0; i < 1000; i++ {
		many = append(many, gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.99.1", Type: gosnmp.Integer, Value: i})
	}
	m, err := d.Decode(v2cPacket(t, gosnmp.SNMPv2Trap, 1, many...), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Trap.VarBinds) != wire.MaxTrapVarBinds || m.Trap.Truncated != 1000-wire.MaxTrapVarBinds {
		t.Fatalf("%d varbinds, %d truncated", len(m.Trap.VarBinds), m.Trap.Truncated)
	}
	big := bytes.Repeat([]byte("A\x1b[31m\xff"), 60000/7)
	m, err = d.Decode(v2cPacket(t, gosnmp.SNMPv2Trap, 2, gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.99.2", Type: gosnmp.OctetString, Value: big},
		gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.99.3", Type: gosnmp.OctetString, Value: []byte("caf\xc3\xa9 ok")}), src)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Trap.Validate(); err != nil {
		t.Fatal(err)
	}
	if v := m.Trap.VarBinds[0]; !v.Hex || len(v.Value) > wire.MaxTrapValueLen || !strings.HasPrefix(v.Value, "41:1b:5b") {
		t.Fatalf("binary value %q (hex %v)", v.Value[:20], v.Hex)
	}
	if v := m.Trap.VarBinds[1]; v.Hex || v.Value != "café ok" {
		t.Fatalf("text value %q", v.Value)
	}
	for _, bad := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x02, 0x01, 0x07}, []byte("not snmp at all"), v2cPacket(t, gosnmp.SNMPv2Trap, 3)[:20]} {
		if _, err := d.Decode(bad, src); err == nil {
			t.Errorf("%x decoded", bad)
		} else if r, ok := errRefused(err); !ok || r != ReasonMalformed {
			t.Errorf("%x: %v", bad, err)
		}
	}
	if _, err := d.Decode(v2cPacket(t, gosnmp.GetRequest, 4), src); err == nil {
		t.Error("a get request decoded as a trap")
	}
}

// FuzzDecode feeds arbitrary datagrams to the decoder: it must never
// panic, and whatever it accepts must be within the wire's trap bounds.
// Seeds: testdata/fuzz/FuzzDecode plus packets built here.
func FuzzDecode(f *testing.F) {
	f.Add(v2cInform(f, 1))
	f.Add(v2cPacket(f, gosnmp.SNMPv2Trap, 2, gosnmp.SnmpPDU{Name: ".1.3.6.1.6.3.18.1.3.0", Type: gosnmp.IPAddress, Value: "198.51.100.1"}))
	v1 := &gosnmp.SnmpPacket{Version: gosnmp.Version1, Community: "public", PDUType: gosnmp.Trap,
		SnmpTrap: gosnmp.SnmpTrap{Enterprise: ".1.3.6.1.4.1.9", AgentAddress: "192.0.2.1", GenericTrap: 6, SpecificTrap: 3}}
	if b, err := v1.MarshalMsg(); err == nil {
		f.Add(b)
	}
	files, _ := filepath.Glob("testdata/seed/*.bin")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	d := testDecoder(f)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		m, err := d.Decode(append([]byte(nil), pkt...), src)
		if err != nil {
			if _, ok := errRefused(err); !ok {
				t.Fatalf("error that is not a refusal: %v", err)
			}
			return
		}
		if m.Probe {
			return
		}
		if err := m.Trap.Validate(); err != nil {
			t.Fatalf("accepted trap out of bounds: %v", err)
		}
	})
}

// BenchmarkDecode is the decoder alone on the benchmark stream's trap.
func BenchmarkDecode(b *testing.B) {
	d := testDecoder(b)
	pkt := benchStream(b, 1)[0]
	buf := make([]byte, len(pkt))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, pkt)
		if _, err := d.Decode(buf, src); err != nil {
			b.Fatal(err)
		}
	}
}

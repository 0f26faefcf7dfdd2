package trap

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// FuzzFastPathMatchesGosnmp: whatever the fast path accepts, gosnmp
// decodes too, to the same fields, and Decode gives the same trap either
// way.
func FuzzFastPathMatchesGosnmp(f *testing.F) {
	for _, s := range benchStream(f, 1) {
		f.Add(s)
	}
	f.Add(v2cPacket(f, gosnmp.SNMPv2Trap, 7,
		gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.1.0", Type: gosnmp.Counter64, Value: uint64(1) << 40},
		gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.2.0", Type: gosnmp.Counter32, Value: uint(4294967295)},
		gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.IPAddress, Value: "192.0.2.1"},
		gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.4.0", Type: gosnmp.Integer, Value: -5},
		gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.Null},
		gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.6.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.2636.1"}))
	files, _ := filepath.Glob("testdata/seed/*.bin")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	fast, slow := testDecoder(f), testDecoder(f)
	slow.noFast = true
	f.Fuzz(func(t *testing.T, pkt []byte) {
		p1, err := fastTrap(append([]byte(nil), pkt...))
		if err != nil {
			return
		}
		var g gosnmp.GoSNMP
		p2, err := g.UnmarshalTrap(append([]byte(nil), pkt...), false)
		if err != nil {
			t.Fatalf("the fast path accepted what gosnmp refuses (%v): %+v", err, p1)
		}
		type view struct {
			Version               gosnmp.SnmpVersion
			Community             string
			PDUType               gosnmp.PDUType
			RequestID             uint32
			Enterprise, AgentAddr string
			Generic, Specific     int
			Timestamp             uint
			Variables             []gosnmp.SnmpPDU
		}
		v := func(p *gosnmp.SnmpPacket) view {
			vars := make([]gosnmp.SnmpPDU, len(p.Variables))
			for i, x := range p.Variables {
				vars[i] = gosnmp.SnmpPDU{Name: x.Name, Type: x.Type, Value: x.Value}
			}
			return view{p.Version, p.Community, p.PDUType, p.RequestID, p.Enterprise, p.AgentAddress, p.GenericTrap, p.SpecificTrap, p.Timestamp, vars}
		}
		if a, b := v(p1), v(p2); !reflect.DeepEqual(a, b) {
			t.Fatalf("fast path %+v\ngosnmp    %+v", a, b)
		}
		m1, err1 := fast.Decode(append([]byte(nil), pkt...), src)
		m2, err2 := slow.Decode(append([]byte(nil), pkt...), src)
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(m1, m2) {
			t.Fatalf("Decode differs: %+v %v\nvs %+v %v", m1, err1, m2, err2)
		}
	})
}

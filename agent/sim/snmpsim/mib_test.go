package snmpsim

import (
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func TestGetExceptionsV2c(t *testing.T) {
	clk := newFakeClock()
	_, addr := startDevice(t, Config{Community: "public", Interfaces: smallInterfaces(), Clock: clk.Now})
	g := client(t, addr, gosnmp.Version2c, "public")
	tests := []struct {
		oid      string
		wantType gosnmp.Asn1BER
		want     any
	}{
		{".1.3.6.1.2.1.1.5.0", gosnmp.OctetString, "sim-device"},
		{".1.3.6.1.2.1.1.5.1", gosnmp.NoSuchInstance, nil},          // object exists, instance does not
		{".1.3.6.1.2.1.1.5", gosnmp.NoSuchInstance, nil},            // the object itself, as snmpd answers
		{".1.3.6.1.2.1.1.9.0", gosnmp.NoSuchObject, nil},            // no sysORTable here
		{".1.3.6.1.2.1.2.2.1.2.10", gosnmp.OctetString, "xe-0/0/2"}, // ifDescr defaults to the name
		{".1.3.6.1.2.1.2.2.1.2.3", gosnmp.NoSuchInstance, nil},      // the ifIndex gap
		{".1.3.6.1.2.1.2.2.1.99.1", gosnmp.NoSuchObject, nil},
		{".1.3.6.1.4.1.9.9.9.0", gosnmp.NoSuchObject, nil},
		{".1.3.6.1.2.1.2.2.1.7.2", gosnmp.Integer, 2},                 // admin down
		{".1.3.6.1.2.1.2.2.1.8.2", gosnmp.Integer, 2},                 // so oper down
		{".1.3.6.1.2.1.2.2.1.5.10", gosnmp.Gauge32, uint(4294967295)}, // ifSpeed saturates
		{".1.3.6.1.2.1.31.1.1.1.15.10", gosnmp.Gauge32, uint(10000)},  // ifHighSpeed in Mb/s
		{".1.3.6.1.2.1.31.1.1.1.18.1", gosnmp.OctetString, "uplink"},
		{".1.3.6.1.2.1.2.1.0", gosnmp.Integer, 3},
	}
	for _, tc := range tests {
		t.Run(tc.oid, func(t *testing.T) {
			r, err := g.Get([]string{tc.oid})
			if err != nil {
				t.Fatal(err)
			}
			if r.Error != gosnmp.NoError || len(r.Variables) != 1 {
				t.Fatalf("error %v, %d varbinds", r.Error, len(r.Variables))
			}
			v := r.Variables[0]
			if v.Name != tc.oid || v.Type != tc.wantType {
				t.Fatalf("got %s %v, want %s %v", v.Name, v.Type, tc.oid, tc.wantType)
			}
			if tc.want != nil {
				got := v.Value
				if b, ok := got.([]byte); ok {
					got = string(b)
				}
				if got != tc.want {
					t.Fatalf("value %#v, want %#v", got, tc.want)
				}
			}
		})
	}
}

func TestGetNextOrdering(t *testing.T) {
	clk := newFakeClock()
	_, addr := startDevice(t, Config{Community: "public", Interfaces: smallInterfaces(), Clock: clk.Now})
	g := client(t, addr, gosnmp.Version2c, "public")
	tests := []struct {
		from, want string
		wantType   gosnmp.Asn1BER
	}{
		{".1.3", ".1.3.6.1.2.1.1.1.0", gosnmp.OctetString},
		{".1.3.6.1.2.1.1", ".1.3.6.1.2.1.1.1.0", gosnmp.OctetString},
		{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.2.0", gosnmp.ObjectIdentifier},
		{".1.3.6.1.2.1.1.7.0", ".1.3.6.1.2.1.2.1.0", gosnmp.Integer},           // system -> ifNumber
		{".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.2.2.1.2.1", gosnmp.OctetString}, // column -> first row
		{".1.3.6.1.2.1.2.2.1.2.2", ".1.3.6.1.2.1.2.2.1.2.10", gosnmp.OctetString},
		{".1.3.6.1.2.1.2.2.1.2.5", ".1.3.6.1.2.1.2.2.1.2.10", gosnmp.OctetString}, // inside the gap
		{".1.3.6.1.2.1.2.2.1.2.10", ".1.3.6.1.2.1.2.2.1.3.1", gosnmp.Integer},     // last row -> next column
		{".1.3.6.1.2.1.2.2.1.20.10", ".1.3.6.1.2.1.25.1.1.0", gosnmp.TimeTicks},   // ifTable -> hrSystemUptime
		{".1.3.6.1.2.1.25.3.3.1.2.196611", ".1.3.6.1.2.1.31.1.1.1.1.1", gosnmp.OctetString},
		{".1.3.6.1.2.1.31.1.1.1.6.9", ".1.3.6.1.2.1.31.1.1.1.6.10", gosnmp.Counter64},
		{".1.3.6.1.2.1.31.1.1.1.19.10", ".1.3.6.1.6.3.10.2.1.1.0", gosnmp.OctetString}, // -> snmpEngineID
		{".1.3.6.1.6.3.10.2.1.4.0", ".1.3.6.1.6.3.10.2.1.4.0", gosnmp.EndOfMibView},
		{".1.4", ".1.4", gosnmp.EndOfMibView},
	}
	for _, tc := range tests {
		t.Run(tc.from, func(t *testing.T) {
			r, err := g.GetNext([]string{tc.from})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Variables) != 1 || r.Variables[0].Name != tc.want || r.Variables[0].Type != tc.wantType {
				t.Fatalf("GetNext(%s) = %+v, want %s %v", tc.from, r.Variables, tc.want, tc.wantType)
			}
		})
	}
}

func TestV1Semantics(t *testing.T) {
	clk := newFakeClock()
	_, addr := startDevice(t, Config{Community: "public", Interfaces: smallInterfaces(), Clock: clk.Now})
	g := client(t, addr, gosnmp.Version1, "public")

	r, err := g.Get([]string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.9.0"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.NoSuchName || r.ErrorIndex != 2 {
		t.Errorf("v1 Get of a missing object: error %v index %d, want noSuchName index 2", r.Error, r.ErrorIndex)
	}
	r, err = g.Get([]string{".1.3.6.1.2.1.31.1.1.1.6.1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.NoSuchName {
		t.Errorf("v1 Get of a Counter64: error %v, want noSuchName", r.Error)
	}
	// GetNext skips the Counter64 columns 6..13 of ifXTable.
	r, err = g.GetNext([]string{".1.3.6.1.2.1.31.1.1.1.5.10"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.NoError || r.Variables[0].Name != ".1.3.6.1.2.1.31.1.1.1.14.1" {
		t.Errorf("v1 GetNext after ifOutBroadcastPkts: %v %+v, want ifLinkUpDownTrapEnable.1", r.Error, r.Variables)
	}
	r, err = g.GetNext([]string{".1.3.6.1.6.3.10.2.1.4.0"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.NoSuchName || r.ErrorIndex != 1 {
		t.Errorf("v1 GetNext at the end of the MIB: %v index %d, want noSuchName 1", r.Error, r.ErrorIndex)
	}
	// A full v1 walk never sees a Counter64.
	n := 0
	err = g.Walk(".1.3.6.1.2.1.31.1.1.1", func(p gosnmp.SnmpPDU) error {
		n++
		if p.Type == gosnmp.Counter64 {
			t.Errorf("v1 walk returned Counter64 %s", p.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (19 - 8) * 3; n != want {
		t.Errorf("v1 walk of ifXTable: %d varbinds, want %d", n, want)
	}
}

func TestGetBulkOrderAndEnd(t *testing.T) {
	clk := newFakeClock()
	_, addr := startDevice(t, Config{Community: "public", Interfaces: smallInterfaces(), Clock: clk.Now})
	g := client(t, addr, gosnmp.Version2c, "public")
	// One non-repeater (sysUpTime), two repeaters (ifDescr, ifHighSpeed), 4 repetitions.
	r, err := g.GetBulk([]string{".1.3.6.1.2.1.1.3", ".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.31.1.1.1.15"}, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		".1.3.6.1.2.1.1.3.0",
		".1.3.6.1.2.1.2.2.1.2.1", ".1.3.6.1.2.1.31.1.1.1.15.1",
		".1.3.6.1.2.1.2.2.1.2.2", ".1.3.6.1.2.1.31.1.1.1.15.2",
		".1.3.6.1.2.1.2.2.1.2.10", ".1.3.6.1.2.1.31.1.1.1.15.10",
		".1.3.6.1.2.1.2.2.1.3.1", ".1.3.6.1.2.1.31.1.1.1.16.1",
	}
	if got := names(r.Variables); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("GetBulk order:\n got %v\nwant %v", got, want)
	}
	// Repeaters near the end: endOfMibView fills the row once the MIB ends,
	// and the response stops after the row where every repeater ended.
	r, err = g.GetBulk([]string{".1.3.6.1.6.3.10.2.1.3.0"}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Variables) != 2 || r.Variables[0].Name != ".1.3.6.1.6.3.10.2.1.4.0" || r.Variables[1].Type != gosnmp.EndOfMibView {
		t.Fatalf("GetBulk at the end: %+v", r.Variables)
	}
}

func TestWholeWalkIsSortedAndComplete(t *testing.T) {
	clk := newFakeClock()
	ifs := GenerateInterfaces(37, 7)
	_, addr := startDevice(t, Config{Community: "public", Interfaces: ifs, Clock: clk.Now})
	g := client(t, addr, gosnmp.Version2c, "public")
	var prev oid
	n := 0
	err := g.BulkWalk(".1.3", func(p gosnmp.SnmpPDU) error {
		o, err := parseOID(p.Name)
		if err != nil {
			return err
		}
		if prev != nil && compareOID(prev, o) >= 0 {
			t.Errorf("walk not increasing: %s after %s", o, prev)
		}
		prev = o
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := 7 + 1 + 1 + 4 + (20+19)*len(ifs) + 6*len(hrStorageRows) + len(hrCPUs)
	if n != want {
		t.Fatalf("walk saw %d instances, want %d", n, want)
	}
}

func TestResponseSizeLimits(t *testing.T) {
	clk := newFakeClock()
	ifs := GenerateInterfaces(200, 3)
	d, addr := startDevice(t, Config{Community: "public", Interfaces: ifs, Clock: clk.Now, MaxMsgSize: 484})
	g := client(t, addr, gosnmp.Version2c, "public")

	// A bulk that cannot fit is truncated, never larger than the limit.
	r, err := g.GetBulk([]string{".1.3.6.1.2.1.31.1.1.1.18", ".1.3.6.1.2.1.31.1.1.1.6"}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Variables) == 0 || len(r.Variables) >= 200 {
		t.Fatalf("truncated bulk returned %d varbinds", len(r.Variables))
	}
	// Encode the same request by hand to see the response size.
	req := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetBulkRequest,
		RequestID: 7, MaxRepetitions: 100, Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.31.1.1.1.18", Type: gosnmp.Null}, {Name: ".1.3.6.1.2.1.31.1.1.1.6", Type: gosnmp.Null}}}
	b, err := req.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	resp := d.Handle(b)
	if len(resp) > 484 || len(resp) < 484-60 {
		t.Errorf("truncated response is %d bytes; want close to and at most 484", len(resp))
	}

	// A Get whose answer cannot fit gets tooBig with no varbinds (v2c).
	oids := make([]string, 40)
	for i := range oids {
		oids[i] = ".1.3.6.1.2.1.31.1.1.1.18." + itoa(i+3)
	}
	r, err = g.Get(oids)
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.TooBig || len(r.Variables) != 0 {
		t.Errorf("oversized Get: %v with %d varbinds, want tooBig and none", r.Error, len(r.Variables))
	}
}

func TestSetIsRefused(t *testing.T) {
	clk := newFakeClock()
	_, addr := startDevice(t, Config{Community: "public", Interfaces: smallInterfaces(), Clock: clk.Now})
	g := client(t, addr, gosnmp.Version2c, "public")
	r, err := g.Set([]gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.NoAccess || r.ErrorIndex != 1 {
		t.Errorf("Set: %v index %d, want noAccess 1", r.Error, r.ErrorIndex)
	}
}

func TestWrongCommunityGetsNoAnswer(t *testing.T) {
	clk := newFakeClock()
	d, _ := startDevice(t, Config{Community: "public", Interfaces: smallInterfaces(), Clock: clk.Now})
	for _, community := range []string{"private", "publi", "public2", ""} {
		req := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: community, PDUType: gosnmp.GetRequest,
			RequestID: 1, Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.Null}}}
		b, err := req.MarshalMsg()
		if err != nil {
			t.Fatal(err)
		}
		if resp := d.Handle(b); resp != nil {
			t.Errorf("community %q got an answer", community)
		}
	}
}

func names(vs []gosnmp.SnmpPDU) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

func itoa(i int) string { return oid{uint32(i)}.String()[1:] }

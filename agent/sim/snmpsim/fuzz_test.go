package snmpsim

import (
	"testing"

	"github.com/gosnmp/gosnmp"
)

// FuzzHandle feeds arbitrary datagrams to the device: it must never panic,
// and whatever it answers must fit the size limit and decode with gosnmp.
func FuzzHandle(f *testing.F) {
	clk := newFakeClock()
	cfg := Config{Community: "public", Users: v3Users[:2], Interfaces: smallInterfaces(), Clock: clk.Now, MaxMsgSize: 484}
	d, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	engine := string(d.EngineID())
	for _, v := range []gosnmp.SnmpVersion{gosnmp.Version1, gosnmp.Version2c} {
		for _, typ := range []gosnmp.PDUType{gosnmp.GetRequest, gosnmp.GetNextRequest, gosnmp.GetBulkRequest} {
			p := &gosnmp.SnmpPacket{Version: v, Community: "public", PDUType: typ, RequestID: 9, NonRepeaters: 1, MaxRepetitions: 20,
				Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.Null}, {Name: ".1.3.6.1.2.1.2.2.1.2", Type: gosnmp.Null}}}
			b, err := p.MarshalMsg()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	disc := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{}, PDUType: gosnmp.GetRequest, MsgID: 1, RequestID: 1}
	b, err := disc.MarshalMsg()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, u := range v3Users[:2] {
		sp, _ := u.usm()
		sp.AuthoritativeEngineID, sp.AuthoritativeEngineBoots = engine, 1
		if err := sp.InitSecurityKeys(); err != nil {
			f.Fatal(err)
		}
		x := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv, SecurityParameters: sp}
		b, err := x.SnmpEncodePacket(gosnmp.GetBulkRequest, []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.31.1.1.1.6", Type: gosnmp.Null}}, 0, 30)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, req []byte) {
		resp := d.Handle(append([]byte(nil), req...))
		if resp == nil {
			return
		}
		if len(resp) > 484 {
			t.Fatalf("response of %d bytes exceeds MaxMsgSize 484", len(resp))
		}
		r := &berReader{b: resp}
		if _, err := r.enter(tagSequence); err != nil {
			t.Fatalf("response is not a SEQUENCE: % x", resp)
		}
		v, err := r.int()
		if err != nil {
			t.Fatalf("response has no version: % x", resp)
		}
		if v == 3 {
			if _, err := parseV3Header(resp); err != nil {
				t.Fatalf("v3 response header does not parse: % x", resp)
			}
			return // v3 answers are decoded with keys in v3_test.go
		}
		if _, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(resp); err != nil {
			t.Fatalf("response does not decode: %v\n% x", err, resp)
		}
	})
}

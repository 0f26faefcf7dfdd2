package snmpsim

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// walkRequests records the GetBulk requests (max-repetitions 50, one OID
// at a time, as snmpbulkwalk -Cr50 sends them) of a walk of ifTable and
// ifXTable, so the benchmark times only the device.
func walkRequests(b *testing.B, d *Device) (reqs [][]byte, varbinds int) {
	for _, root := range []string{".1.3.6.1.2.1.2.2", ".1.3.6.1.2.1.31.1.1"} {
		cur := root
		for {
			p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetBulkRequest,
				RequestID: uint32(len(reqs) + 1), MaxRepetitions: 50, Variables: []gosnmp.SnmpPDU{{Name: cur, Type: gosnmp.Null}}}
			req, err := p.MarshalMsg()
			if err != nil {
				b.Fatal(err)
			}
			reqs = append(reqs, req)
			resp, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(d.Handle(append([]byte(nil), req...)))
			if err != nil {
				b.Fatal(err)
			}
			done := false
			for _, v := range resp.Variables {
				if !strings.HasPrefix(v.Name, root+".") || v.Type == gosnmp.EndOfMibView {
					done = true
					break
				}
				varbinds++
				cur = v.Name
			}
			if done {
				break
			}
		}
	}
	return reqs, varbinds
}

// BenchmarkBulkWalk1000 answers a full ifTable+ifXTable bulk walk of 1,000
// interfaces (-Cr50, 1472-byte responses): in process (the device's own
// cost), over UDP with gosnmp's BulkWalk, and with net-snmp's snmpbulkwalk
// as the reference client.
func BenchmarkBulkWalk1000(b *testing.B) {
	cfg := Config{Community: "public", Interfaces: GenerateInterfaces(1000, 1)}
	b.Run("handle", func(b *testing.B) {
		d, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		reqs, vbs := walkRequests(b, d)
		if vbs != 39*1000 {
			b.Fatalf("walk saw %d varbinds, want 39000", vbs)
		}
		buf := make([]byte, 0, 2048)
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			for _, r := range reqs {
				buf = append(buf[:0], r...)
				if d.Handle(buf) == nil {
					b.Fatal("no answer")
				}
			}
		}
		sec := time.Since(start).Seconds()
		b.ReportMetric(float64(len(reqs)*b.N)/sec, "responses/s")
		b.ReportMetric(float64(vbs*b.N)/sec, "varbinds/s")
		b.ReportMetric(sec*1000/float64(b.N), "ms/walk")
	})
	b.Run("gosnmp-udp", func(b *testing.B) {
		_, addr := startDevice(b, cfg)
		g := client(b, addr, gosnmp.Version2c, "public")
		b.ResetTimer()
		start := time.Now()
		n := 0
		for i := 0; i < b.N; i++ {
			for _, root := range []string{".1.3.6.1.2.1.2.2", ".1.3.6.1.2.1.31.1.1"} {
				if err := g.BulkWalk(root, func(gosnmp.SnmpPDU) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
			}
		}
		sec := time.Since(start).Seconds()
		b.ReportMetric(float64(n)/sec, "varbinds/s")
		b.ReportMetric(sec*1000/float64(b.N), "ms/walk")
	})
	b.Run("snmpbulkwalk-udp", func(b *testing.B) {
		path, err := exec.LookPath("snmpbulkwalk")
		if err != nil {
			b.Skip("snmpbulkwalk not installed")
		}
		_, addr := startDevice(b, cfg)
		b.ResetTimer()
		start := time.Now()
		lines := 0
		for i := 0; i < b.N; i++ {
			for _, root := range []string{"1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"} {
				out, err := exec.Command(path, "-v2c", "-c", "public", "-Cr50", "-On", addr.String(), root).Output()
				if err != nil {
					b.Fatal(err)
				}
				lines += strings.Count(string(out), "\n")
			}
		}
		sec := time.Since(start).Seconds()
		if lines != 39*1000*b.N {
			b.Fatalf("snmpbulkwalk printed %d lines, want %d", lines, 39*1000*b.N)
		}
		b.ReportMetric(float64(lines)/sec, "varbinds/s")
		b.ReportMetric(sec*1000/float64(b.N), "ms/walk")
	})
}

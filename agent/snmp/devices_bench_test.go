package snmp

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// deviceTables are the tables a full discovery reads, for snmpbulkwalk.
var deviceTables = []string{
	"1.3.6.1.2.1.1", oidIfEntry, oidIfXEntry, oidEntPhysicalEntry, oidEntAliasMapping, oidEntPhySensorEntry, oidCiscoSensorEntry,
	oidCiscoThresholdEntry, oidEnvTempEntry, oidEnvFanEntry, oidEnvSupplyEntry, oidCPMEntry, oidCempEntry, oidMemPoolEntry,
	"1.3.6.1.4.1.2021.4", "1.3.6.1.4.1.2021.10", oidJnxOperatingEntry, "1.0.8802.1.1.2.1.3", "1.0.8802.1.1.2.1.4", oidCDPCacheEntry,
}

// BenchmarkRecordedDiscovery measures, for the recordings with device
// tables (snmpsimd), a full discovery with every device feature, the same
// without them (the extra cost), one poll after discovery, and
// snmpbulkwalk of the same tables from the same daemon, in milliseconds and
// requests.
func BenchmarkRecordedDiscovery(b *testing.B) {
	var recs []testpeer.Recording
	for _, r := range testpeer.RecordedDevices() {
		if r.Community == "cisco_16_switch" || r.Community == "linux-full-walk" {
			recs = append(recs, r)
		}
	}
	sim := testpeer.StartSNMPSimD(b, recs...)
	for _, rec := range recs {
		newTarget := func(b *testing.B, disable []string) *Target {
			tg, err := New(config.SNMPTarget{Name: rec.Community, Address: sim.Host, Disable: disable, SNMPSettings: config.SNMPSettings{
				Port: sim.Port, Version: "2c", Community: secret.New(rec.Community), Timeout: configfile.Duration(5 * time.Second), Retries: intp(1),
			}}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { tg.Close() })
			return tg
		}
		for _, mode := range []struct {
			name    string
			disable []string
		}{{"discover-all", nil}, {"discover-interfaces-only", config.DeviceFeatures}} {
			b.Run(mode.name+"/"+rec.Community, func(b *testing.B) {
				tg := newTarget(b, mode.disable)
				reqs := 0
				for b.Loop() {
					tg.sess.requests = 0
					if _, err := tg.Discover(context.Background()); err != nil {
						b.Fatal(err)
					}
					reqs += tg.sess.requests
				}
				b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
			})
		}
		b.Run("poll/"+rec.Community, func(b *testing.B) {
			tg := newTarget(b, nil)
			if _, err := tg.Discover(context.Background()); err != nil {
				b.Fatal(err)
			}
			reqs := 0
			for b.Loop() {
				if err := tg.Poll(context.Background(), poll.SinkFunc(func(poll.Report) {})); err != nil {
					b.Fatal(err)
				}
				reqs += tg.Requests()
			}
			b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
		b.Run("snmpbulkwalk/"+rec.Community, func(b *testing.B) {
			bin := testbed.RequireTool(b, "snmpbulkwalk")
			reqs := 0
			for b.Loop() {
				for _, tbl := range deviceTables {
					out, err := exec.Command(bin, "-v2c", "-c", rec.Community, "-Cr25", "-On", "-d", sim.Addr(), tbl).CombinedOutput()
					if err != nil {
						b.Fatalf("snmpbulkwalk %s: %v\n%s", tbl, err, out)
					}
					reqs += strings.Count(string(out), "Sending ")
				}
			}
			b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}

package snmp

import (
	"context"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// vendorDevice is a recording (written at test time) with the vendor
// tables the real-device recordings lack: JUNIPER-MIB jnxOperatingTable
// (routing engine, FPC, a power supply without temperature, a fan that is
// down), CISCO-ENHANCED-MEMPOOL-MIB with 64-bit columns, and ENTITY-SENSOR
// voltages in millivolts.
var vendorDevice = []string{
	"1.3.6.1.2.1.1.1.0|4|Juniper Networks, Inc. mx204", "1.3.6.1.2.1.1.3.0|67|100", "1.3.6.1.2.1.1.5.0|4|mx1",
	"1.3.6.1.4.1.2636.3.1.13.1.5.9.1.0.0|4|Routing Engine", "1.3.6.1.4.1.2636.3.1.13.1.6.9.1.0.0|2|2",
	"1.3.6.1.4.1.2636.3.1.13.1.7.9.1.0.0|66|41", "1.3.6.1.4.1.2636.3.1.13.1.8.9.1.0.0|66|7",
	"1.3.6.1.4.1.2636.3.1.13.1.11.9.1.0.0|66|31", "1.3.6.1.4.1.2636.3.1.13.1.15.9.1.0.0|66|16384",
	"1.3.6.1.4.1.2636.3.1.13.1.5.7.1.0.0|4|FPC: MPC 0", "1.3.6.1.4.1.2636.3.1.13.1.6.7.1.0.0|2|2",
	"1.3.6.1.4.1.2636.3.1.13.1.7.7.1.0.0|66|47", "1.3.6.1.4.1.2636.3.1.13.1.8.7.1.0.0|66|12",
	"1.3.6.1.4.1.2636.3.1.13.1.11.7.1.0.0|66|40", "1.3.6.1.4.1.2636.3.1.13.1.15.7.1.0.0|66|4096",
	"1.3.6.1.4.1.2636.3.1.13.1.5.2.1.0.0|4|PEM 0", "1.3.6.1.4.1.2636.3.1.13.1.6.2.1.0.0|2|2",
	"1.3.6.1.4.1.2636.3.1.13.1.7.2.1.0.0|66|0", "1.3.6.1.4.1.2636.3.1.13.1.15.2.1.0.0|66|0",
	"1.3.6.1.4.1.2636.3.1.13.1.5.4.1.1.0|4|Fan Tray 0 Fan 1", "1.3.6.1.4.1.2636.3.1.13.1.6.4.1.1.0|2|6",
	"1.3.6.1.4.1.2636.3.1.13.1.7.4.1.1.0|66|33",
	"1.3.6.1.4.1.9.9.221.1.1.1.1.3.1.1|4|Processor", "1.3.6.1.4.1.9.9.221.1.1.1.1.7.1.1|66|100", "1.3.6.1.4.1.9.9.221.1.1.1.1.8.1.1|66|200",
	"1.3.6.1.4.1.9.9.221.1.1.1.1.18.1.1|70|6000000000", "1.3.6.1.4.1.9.9.221.1.1.1.1.20.1.1|70|2000000000",
	"1.3.6.1.2.1.99.1.1.1.1.5|2|4", "1.3.6.1.2.1.99.1.1.1.2.5|2|8", "1.3.6.1.2.1.99.1.1.1.3.5|2|0",
	"1.3.6.1.2.1.99.1.1.1.4.5|2|12050", "1.3.6.1.2.1.99.1.1.1.5.5|2|1",
}

func TestVendorTables(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpsimd")
	}
	sim := testpeer.StartSNMPSimD(t, writeRecording(t, "vendor", vendorDevice))
	tg, err := New(config.SNMPTarget{Name: "mx1", Address: sim.Host, SNMPSettings: config.SNMPSettings{
		Port: sim.Port, Version: "2c", Community: secret.New("vendor"), Timeout: configfile.Duration(2 * time.Second), Retries: intp(1),
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev, err := tg.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	names := map[string]string{}
	for _, h := range dev.Health {
		for _, d := range h.DS {
			v := -1.0
			if d.Value != nil {
				v = *d.Value
			}
			got[h.Key] = append(got[h.Key], v)
		}
		names[h.Key] = h.Kind + " " + h.Name
	}
	const mib = 1 << 20
	want := map[string][]float64{
		"sensor:jnx.9.1.0.0": {41}, "sensor:jnx.7.1.0.0": {47}, "sensor:jnx.4.1.1.0": {33},
		"cpu:jnx.9.1.0.0": {7}, "cpu:jnx.7.1.0.0": {12},
		"mem:jnx.9.1.0.0": {0.31 * 16384 * mib, 16384 * mib}, "mem:jnx.7.1.0.0": {0.40 * 4096 * mib, 4096 * mib},
		"mem:cemp.1.1": {6e9, 8e9},
		"sensor:ent.5": {12.05},
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("%s: %v, want %v", k, g, w)
			continue
		}
		for i := range w {
			if d := g[i] - w[i]; d > 1e-6*w[i] || d < -1e-6*w[i] {
				t.Errorf("%s[%d] = %v, want %v", k, i, g[i], w[i])
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("health items %v, want %d", names, len(want))
	}
	if names["sensor:ent.5"] != wire.KindSensor+" voltsDC sensor 5" {
		t.Errorf("unnamed sensor: %q", names["sensor:ent.5"])
	}
	st := statusMap(pollOnce(t, tg))
	if s := st["sensor:jnx.4.1.1.0"]; s.Status != status.Down || s.Reason != "down" {
		t.Errorf("fan that is down: %+v", s)
	}
	if s := st["mem:cemp.1.1"]; s.Status != status.Up {
		t.Errorf("pool: %+v", s)
	}
}

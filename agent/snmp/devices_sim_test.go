package snmp

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

func simHardware() *snmpsim.Hardware {
	return &snmpsim.Hardware{Model: "OSW-48", Serial: "SIM0001", ChassisMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 1}, MgmtAddr: net.IPv4(192, 0, 2, 11),
		Sensors: []snmpsim.Sensor{
			{Name: "Inlet", Type: 8, Base: 28, Swing: 2, Warn: 45, Crit: 60},
			{Name: "CPU die", Type: 8, Precision: 1, Base: 71, Swing: 1, Warn: 65, Crit: 80}, // running hot
			{Name: "Fan 1", Type: 10, Base: 5200, Swing: 300},
		},
		Neighbors: []snmpsim.Neighbor{{LocalPort: "ge-0/0/1", ChassisMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 2}, SysName: "dist-1", PortID: "ge-0/0/47", MgmtAddr: net.IPv4(192, 0, 2, 12)}},
	}
}

// TestSimDeviceFeatures: the simulated device's hardware MIBs are what the
// agent discovers (entities with ports tied to interfaces, Cisco sensors
// with their thresholds, CPU, memory pools, UCD load and memory, an LLDP
// neighbour), and a poll reports the hot sensor as Alert; disabling every
// feature leaves only interfaces.
func TestSimDeviceFeatures(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(24, 7), Hardware: simHardware()})
	tg := b.target(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev, err := tg.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dev.Entities) != 5+24+3 || dev.Entities[0].Class != "chassis" || dev.Entities[0].Serial != "SIM0001" {
		t.Errorf("entities: %d, first %+v", len(dev.Entities), dev.Entities[0])
	}
	ports := 0
	for _, e := range dev.Entities {
		if e.Class == "port" && e.IfIndex != 0 {
			ports++
		}
	}
	if ports != 24 {
		t.Errorf("%d ports tied to interfaces", ports)
	}
	kinds := map[string]int{}
	for _, h := range dev.Health {
		kinds[h.Kind]++
	}
	if kinds[wire.KindSensor] != 3 || kinds[wire.KindProcessor] != 1 || kinds[wire.KindMemory] != 4 || kinds[wire.KindLoad] != 1 {
		t.Errorf("health kinds %v", kinds)
	}
	if len(dev.Neighbors) != 1 {
		t.Fatalf("neighbours %+v", dev.Neighbors)
	}
	n := dev.Neighbors[0]
	if n.SysName != "dist-1" || n.PortID != "ge-0/0/47" || n.LocalPort != "ge-0/0/1" || n.ChassisID != "02:00:00:00:00:02" || n.MgmtAddr != "192.0.2.12" {
		t.Errorf("neighbour %+v", n)
	}
	if len(dev.ChassisIDs) != 1 || dev.ChassisIDs[0] != "02:00:00:00:00:01" || len(dev.MgmtAddrs) != 1 || dev.MgmtAddrs[0] != "192.0.2.11" {
		t.Errorf("own ids %v %v", dev.ChassisIDs, dev.MgmtAddrs)
	}
	b.clock.Advance(time.Minute)
	st := statusMap(pollOnce(t, tg))
	if s := st["sensor:cisco.2001"]; s.Status != status.Alert {
		t.Errorf("hot sensor: %v %q", s.Status, s.Reason)
	}
	if s := st["sensor:cisco.2000"]; s.Status != status.Up {
		t.Errorf("inlet sensor: %v %q", s.Status, s.Reason)
	}

	off := b.target(t, func(tc *config.SNMPTarget) { tc.Disable = config.DeviceFeatures })
	dev, err = off.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dev.Entities)+len(dev.Neighbors)+len(dev.Health) != 0 || off.facts() != nil {
		t.Errorf("features disabled, still found %d entities, %d neighbours, %d health", len(dev.Entities), len(dev.Neighbors), len(dev.Health))
	}
}

package snmp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// badDevice is an snmpsim recording (written at test time) of a device
// with what real devices get wrong: an entity table with missing columns
// and a containment loop, a sensor with an unsupported scale, a
// transceiver whose receive power is below the device's own warning
// threshold, a temperature above its critical one, an LLDP neighbour
// advertising a name with terminal escapes and 600 bytes, and a
// JUNIPER-MIB table that never answers.
var badDevice = append(fence(), []string{
	"1.3.6.1.2.1.1.1.0|4|Outpost test switch",
	"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.516",
	"1.3.6.1.2.1.1.3.0|67|12345",
	"1.3.6.1.2.1.1.5.0|4|edge-sw",
	"1.3.6.1.2.1.2.2.1.1.3|2|3", "1.3.6.1.2.1.2.2.1.2.3|4|GigabitEthernet0/3", "1.3.6.1.2.1.2.2.1.3.3|2|6",
	"1.3.6.1.2.1.2.2.1.5.3|66|1000000000", "1.3.6.1.2.1.2.2.1.7.3|2|1", "1.3.6.1.2.1.2.2.1.8.3|2|1",
	"1.3.6.1.2.1.31.1.1.1.1.3|4|Gi0/3",
	// entities: 1 chassis, 2 module (no serial), 3 port (ifIndex 3), 4 its Rx sensor,
	// 5 and 6 fans contained in each other, 7 a name with escapes
	"1.3.6.1.2.1.47.1.1.1.1.2.1|4|Chassis", "1.3.6.1.2.1.47.1.1.1.1.4.1|2|0", "1.3.6.1.2.1.47.1.1.1.1.5.1|2|3",
	"1.3.6.1.2.1.47.1.1.1.1.7.1|4|chassis", "1.3.6.1.2.1.47.1.1.1.1.11.1|4|SER1", "1.3.6.1.2.1.47.1.1.1.1.13.1|4|M1",
	"1.3.6.1.2.1.47.1.1.1.1.2.2|4|Module", "1.3.6.1.2.1.47.1.1.1.1.4.2|2|1", "1.3.6.1.2.1.47.1.1.1.1.5.2|2|9",
	"1.3.6.1.2.1.47.1.1.1.1.7.2|4|module 1", "1.3.6.1.2.1.47.1.1.1.1.16.2|2|1",
	"1.3.6.1.2.1.47.1.1.1.1.4.3|2|2", "1.3.6.1.2.1.47.1.1.1.1.5.3|2|10", "1.3.6.1.2.1.47.1.1.1.1.7.3|4|Gi0/3",
	"1.3.6.1.2.1.47.1.1.1.1.4.4|2|3", "1.3.6.1.2.1.47.1.1.1.1.5.4|2|8", "1.3.6.1.2.1.47.1.1.1.1.7.4|4|Gi0/3 Rx Power",
	"1.3.6.1.2.1.47.1.1.1.1.4.5|2|6", "1.3.6.1.2.1.47.1.1.1.1.5.5|2|7", "1.3.6.1.2.1.47.1.1.1.1.7.5|4|fan A",
	"1.3.6.1.2.1.47.1.1.1.1.4.6|2|5", "1.3.6.1.2.1.47.1.1.1.1.5.6|2|7", "1.3.6.1.2.1.47.1.1.1.1.7.6|4|fan B",
	"1.3.6.1.2.1.47.1.1.1.1.5.7|2|8", "1.3.6.1.2.1.47.1.1.1.1.7.7|4x|1b5b33316d6576696c00ff",
	"1.3.6.1.2.1.47.1.3.2.1.2.3.0|6|1.3.6.1.2.1.2.2.1.1.3",
	// ENTITY-SENSOR: fan 5 at 4200 rpm; sensor 7 with scale 42
	"1.3.6.1.2.1.99.1.1.1.1.5|2|10", "1.3.6.1.2.1.99.1.1.1.2.5|2|9", "1.3.6.1.2.1.99.1.1.1.3.5|2|0",
	"1.3.6.1.2.1.99.1.1.1.4.5|2|4200", "1.3.6.1.2.1.99.1.1.1.5.5|2|1",
	"1.3.6.1.2.1.99.1.1.1.1.7|2|8", "1.3.6.1.2.1.99.1.1.1.2.7|2|42", "1.3.6.1.2.1.99.1.1.1.3.7|2|0",
	"1.3.6.1.2.1.99.1.1.1.4.7|2|30", "1.3.6.1.2.1.99.1.1.1.5.7|2|1",
	// CISCO-ENTITY-SENSOR: Rx power -3.5 dBm (warning below -3.0, critical below -15.0); 85 °C (critical at 80)
	"1.3.6.1.4.1.9.9.91.1.1.1.1.1.4|2|14", "1.3.6.1.4.1.9.9.91.1.1.1.1.2.4|2|9", "1.3.6.1.4.1.9.9.91.1.1.1.1.3.4|2|1",
	"1.3.6.1.4.1.9.9.91.1.1.1.1.4.4|2|-35", "1.3.6.1.4.1.9.9.91.1.1.1.1.5.4|2|1",
	"1.3.6.1.4.1.9.9.91.1.1.1.1.1.8|2|8", "1.3.6.1.4.1.9.9.91.1.1.1.1.2.8|2|9", "1.3.6.1.4.1.9.9.91.1.1.1.1.3.8|2|0",
	"1.3.6.1.4.1.9.9.91.1.1.1.1.4.8|2|85", "1.3.6.1.4.1.9.9.91.1.1.1.1.5.8|2|1",
	"1.3.6.1.4.1.9.9.91.1.2.1.1.2.4.1|2|20", "1.3.6.1.4.1.9.9.91.1.2.1.1.3.4.1|2|1", "1.3.6.1.4.1.9.9.91.1.2.1.1.4.4.1|2|-30",
	"1.3.6.1.4.1.9.9.91.1.2.1.1.2.4.2|2|30", "1.3.6.1.4.1.9.9.91.1.2.1.1.3.4.2|2|1", "1.3.6.1.4.1.9.9.91.1.2.1.1.4.4.2|2|-150",
	"1.3.6.1.4.1.9.9.91.1.2.1.1.2.8.1|2|30", "1.3.6.1.4.1.9.9.91.1.2.1.1.3.8.1|2|4", "1.3.6.1.4.1.9.9.91.1.2.1.1.4.8.1|2|80",
	// JUNIPER-MIB jnxOperatingTable: never answered (snmpsim's delay
	// variation drops requests that touch it), behind 40 objects of
	// UCD-SNMP-MIB's version group so that walks of the tables before it
	// do not run into it.
	"1.3.6.1.4.1.2636.3.1.13.1.5.9.1.0.0|4:delay|value=Routing Engine,wait=100000",
	"1.3.6.1.4.1.2636.3.1.13.1.7.9.1.0.0|2:delay|value=40,wait=100000",
	"1.3.6.1.4.1.2636.3.1.13.1.8.9.1.0.0|2:delay|value=5,wait=100000",
	// LLDP
	"1.0.8802.1.1.2.1.3.1.0|2|4", "1.0.8802.1.1.2.1.3.2.0|4x|001122334455",
	"1.0.8802.1.1.2.1.3.7.1.2.3|2|5", "1.0.8802.1.1.2.1.3.7.1.3.3|4|Gi0/3", "1.0.8802.1.1.2.1.3.7.1.4.3|4|uplink port",
	"1.0.8802.1.1.2.1.4.1.1.4.0.3.1|2|4", "1.0.8802.1.1.2.1.4.1.1.5.0.3.1|4x|aabbccddeeff",
	"1.0.8802.1.1.2.1.4.1.1.6.0.3.1|2|5", "1.0.8802.1.1.2.1.4.1.1.7.0.3.1|4|ge-0/0/1",
	"1.0.8802.1.1.2.1.4.1.1.9.0.3.1|4x|1b5d303b70776e07" + strings.Repeat("41", 600),
	"1.0.8802.1.1.2.1.4.1.1.10.0.3.1|4x|4a756e69706572204e6574776f726b730a6c696e652032",
	"1.0.8802.1.1.2.1.4.2.1.3.0.3.1.1.4.192.0.2.7|2|2",
}...)

func fence() []string {
	var out []string
	for i := 1; i <= 40; i++ {
		out = append(out, fmt.Sprintf("1.3.6.1.4.1.2021.100.%d.0|2|%d", i, i))
	}
	return out
}

// writeRecording writes records sorted in OID order (snmpsimd's GetNext
// needs it) to dir/name.snmprec.
func writeRecording(t *testing.T, name string, records []string) testpeer.Recording {
	t.Helper()
	sorted := append([]string(nil), records...)
	key := func(r string) []uint32 { oid, _, _ := strings.Cut(r, "|"); idx, _ := parseIndex(oid); return idx }
	sort.Slice(sorted, func(i, j int) bool { return indexLess(key(sorted[i]), key(sorted[j])) })
	path := filepath.Join(t.TempDir(), name+".snmprec")
	if err := os.WriteFile(path, []byte(strings.Join(sorted, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return testpeer.Recording{Community: name, Path: path}
}

func TestDeviceFeaturesBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpsimd")
	}
	sim := testpeer.StartSNMPSimD(t, writeRecording(t, "baddevice", badDevice))
	tg, err := New(config.SNMPTarget{Name: "edge", Address: sim.Host, SNMPSettings: config.SNMPSettings{
		Port: sim.Port, Version: "2c", Community: secret.New("baddevice"),
		Timeout: configfile.Duration(700 * time.Millisecond), Retries: intp(0), MaxRepetitions: 10, Interval: configfile.Duration(time.Minute),
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dev, err := tg.Discover(ctx)
	if err != nil {
		t.Fatalf("one slow table failed the discovery: %v", err)
	}
	if g := tg.gates[tblJuniper]; g == nil || g.fails != 1 {
		t.Fatalf("the silent jnxOperatingTable is not backed off: %+v", g)
	}
	ents := map[uint32]wire.Entity{}
	for _, e := range dev.Entities {
		ents[e.Index] = e
	}
	if e := ents[2]; e.Serial != "" || e.Name != "module 1" || !e.FRU || e.ContainedIn != 1 || e.Class != "module" {
		t.Errorf("partial row: %+v", e)
	}
	if ents[3].IfIndex != 3 {
		t.Errorf("port not tied to ifIndex 3: %+v", ents[3])
	}
	if a, b := ents[5].ContainedIn, ents[6].ContainedIn; a != 0 && b != 0 {
		t.Errorf("containment loop kept: 5 in %d, 6 in %d", a, b)
	}
	if n := ents[7].Name; n != `\x1b[31mevil\x00\xff` {
		t.Errorf("entity name %q", n)
	}
	health := map[string]Health{}
	for _, h := range dev.Health {
		health[h.Key] = h
	}
	if h := health["sensor:ent.7"]; h.Bad == "" || !strings.Contains(h.Bad, "scale 42") {
		t.Errorf("unsupported scale: %+v", h)
	}
	if h := health["sensor:cisco.4"]; h.Unit != "dBm" || h.IfIndex != 3 || h.DS[0].Value == nil || *h.DS[0].Value != -3.5 || len(h.Thresholds) != 2 {
		t.Errorf("optical sensor: %+v", h)
	}
	if h := health["sensor:ent.5"]; h.Name != "fan A" || h.Unit != "rpm" || *h.DS[0].Value != 4200 {
		t.Errorf("fan sensor: %+v", h)
	}
	if len(dev.Neighbors) != 1 {
		t.Fatalf("neighbours %+v", dev.Neighbors)
	}
	n := dev.Neighbors[0]
	want := wire.Neighbor{Protocol: "lldp", LocalIfIndex: 3, LocalPort: "Gi0/3", ChassisID: "aa:bb:cc:dd:ee:ff", PortID: "ge-0/0/1",
		SysName: safetext.Line(`\x1b]0;pwn\x07`+strings.Repeat("A", 600), safetext.MaxName), Platform: "Juniper Networks", MgmtAddr: "192.0.2.7"}
	if n != want {
		t.Errorf("neighbour\n got %+v\nwant %+v", n, want)
	}
	if len(dev.ChassisIDs) != 1 || dev.ChassisIDs[0] != "00:11:22:33:44:55" {
		t.Errorf("chassis ids %v", dev.ChassisIDs)
	}

	// A poll: the sensors' statuses follow the device's thresholds; the
	// slow table is not asked again by the rediscovery (its gate holds for
	// one interval).
	tg.rediscover = true
	rep := pollOnce(t, tg)
	checkReportClean(t, rep)
	st := statusMap(rep)
	for key, want := range map[string]status.Status{
		"sensor:cisco.4": status.Alert, "sensor:cisco.8": status.Down, "sensor:ent.5": status.Up, "sensor:ent.7": status.Unknown,
	} {
		if got := st[key]; got.Status != want {
			t.Errorf("%s: %v %q, want %v", key, got.Status, got.Reason, want)
		}
	}
	if g := tg.gates[tblJuniper]; g == nil || g.fails != 1 {
		t.Errorf("slow table retried within its backoff: %+v", g)
	}
	if rep.Devices == nil || len(rep.Devices.Entities) != 7 || !rep.Devices.HasNeighbors {
		t.Errorf("first poll's facts: %+v", rep.Devices)
	}
	if s := fmt.Sprint(st["sensor:cisco.8"].Reason); !strings.Contains(s, "critical") {
		t.Errorf("reason %q", s)
	}
}

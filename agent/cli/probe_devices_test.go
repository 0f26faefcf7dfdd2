package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/agent/internal/testpeer"
)

// TestProbeSNMPDeviceSections: `probe snmp --json` on the recording of a
// Cisco Catalyst 3750 stack (snmpsimd) carries the entities, sensors,
// processors (load_percent), memory pools (used_bytes, total_bytes) and CDP
// neighbours (local_ifindex, remote_name, remote_port, protocol) that the
// recording holds, and the table output has the matching sections.
func TestProbeSNMPDeviceSections(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpsimd")
	}
	var cisco testpeer.Recording
	for _, r := range testpeer.RecordedDevices() {
		if r.Community == "cisco_16_switch" {
			cisco = r
		}
	}
	sim := testpeer.StartSNMPSimD(t, cisco)
	addr := sim.Host + ":" + strconv.Itoa(sim.Port)
	code, out, errOut := runProbeSNMP("probe", "snmp", "-c", cisco.Community, "-t", "3", "-r", "1", "--json", addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Entities []struct {
			Index  uint32 `json:"index"`
			Class  string `json:"class"`
			Serial string `json:"serial"`
		} `json:"entities"`
		Sensors    []map[string]any `json:"sensors"`
		Processors []struct {
			Key         string   `json:"key"`
			LoadPercent *float64 `json:"load_percent"`
		} `json:"processors"`
		Memory []struct {
			Used  *float64 `json:"used_bytes"`
			Total *float64 `json:"total_bytes"`
		} `json:"memory"`
		Neighbors []struct {
			Protocol   string `json:"protocol"`
			Local      uint32 `json:"local_ifindex"`
			RemoteName string `json:"remote_name"`
			RemotePort string `json:"remote_port"`
		} `json:"neighbors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Entities) == 0 || got.Entities[0].Class != "stack" {
		t.Errorf("entities %+v", got.Entities)
	}
	if len(got.Processors) != 1 || got.Processors[0].LoadPercent == nil || *got.Processors[0].LoadPercent != 53 {
		t.Errorf("processors %+v (cpmCPUTotal1minRev.1 is 53 in the recording)", got.Processors)
	}
	if len(got.Memory) != 3 || got.Memory[0].Used == nil || *got.Memory[0].Used != 34973844 || *got.Memory[0].Total != 34973844+33184936 {
		t.Errorf("memory %+v (ciscoMemoryPoolUsed.1 34973844, Free.1 33184936)", got.Memory)
	}
	if len(got.Neighbors) != 1 || got.Neighbors[0].Protocol != "cdp" || got.Neighbors[0].Local != 11048 ||
		got.Neighbors[0].RemoteName != "C2960X.uac.local" || got.Neighbors[0].RemotePort != "GigabitEthernet1/0/8" {
		t.Errorf("neighbours %+v", got.Neighbors)
	}
	if len(got.Sensors) == 0 {
		t.Error("no sensors (CISCO-ENVMON-MIB has temperature, fan and supply rows)")
	}
	code, out, errOut = runProbeSNMP("probe", "snmp", "-c", cisco.Community, "-t", "3", "-r", "1", addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range []string{"Hardware (ENTITY-MIB)", "Sensors", "CPU", "Memory", "Neighbours (LLDP, CDP)", "C2960X.uac.local"} {
		if !strings.Contains(out, s) {
			t.Errorf("table output lacks %q", s)
		}
	}
}

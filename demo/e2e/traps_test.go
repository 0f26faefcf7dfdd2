package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestTrapsEndToEnd: net-snmp's snmptrap and snmpinform send v1, v2c and
// v3 authPriv traps and informs to the real agent binary; they travel
// through its spool to the real collector and come out of
// GET /api/v1/traps, named and attributed, each exactly once. The agent
// is killed with SIGKILL right after an inform was acknowledged (while
// the collector is down, so the trap exists only in the agent's spool):
// the trap still arrives.
func TestTrapsEndToEnd(t *testing.T) {
	t.Parallel()
	testbed.RequireTool(t, "snmptrap", "snmpinform")
	trapAddr := "127.0.0.1:" + strconv.Itoa(testbed.FreeUDPPort(t))
	var devAddr string
	r := newRig(t, rigConfig{Devices: 1, Interval: 2 * time.Second, Agent: func(cfg map[string]any) {
		tg := cfg["snmp"].([]any)[0].(map[string]any)
		devAddr = fmt.Sprint(tg["address"])
		tg["trap_sources"] = []any{"198.51.100.7"}
		cfg["traps"] = map[string]any{
			"listen":      trapAddr,
			"communities": []any{"public"},
			"v3_users": []any{map[string]any{"user": "trapuser", "level": "authPriv", "auth_protocol": "SHA-256",
				"auth_passphrase": "authpass123", "priv_protocol": "AES", "priv_passphrase": "privpass123"}},
		}
	}})
	send := func(name string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(cmd.Environ(), "MIBS=", "MIBDIRS=/nonexistent", "SNMPCONFPATH=/nonexistent", "HOME="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	v3 := strings.Fields("-v3 -l authPriv -u trapuser -a SHA-256 -A authpass123 -x AES -X privpass123")

	// The collector stays down at first: every trap waits in the agent's spool.
	r.startAgent()
	waitUDP(t, trapAddr)
	send("snmptrap", "-v1", "-c", "public", trapAddr, "1.3.6.1.4.1.8072.3.2.10", devAddr, "0", "0", "100")
	send("snmptrap", "-v2c", "-c", "public", trapAddr, "200", "1.3.6.1.6.3.1.1.5.3",
		"1.3.6.1.2.1.2.2.1.1.1", "i", "1", "1.3.6.1.2.1.2.2.1.7.1", "i", "1", "1.3.6.1.2.1.2.2.1.8.1", "i", "2")
	send("snmptrap", append(append(append([]string{}, v3...), "-e", "0x8000000001020304", trapAddr, "300", "1.3.6.1.6.3.1.1.5.4"),
		"1.3.6.1.6.3.18.1.3.0", "a", "198.51.100.7")...)
	// From another loopback address, naming a device no target has.
	send("snmptrap", "--clientaddr=127.0.0.2", "-v2c", "-c", "public", trapAddr, "400", "1.3.6.1.4.1.99.0.1", "1.3.6.1.6.3.18.1.3.0", "a", "203.0.113.5",
		"1.3.6.1.4.1.99.1", "s", "fan 2 failed")
	send("snmptrap", "-v2c", "-c", "wrong", trapAddr, "500", "1.3.6.1.6.3.1.1.5.1") // refused, never stored
	send("snmpinform", "-v2c", "-c", "public", "-r", "3", "-t", "3", trapAddr, "600", "1.3.6.1.6.3.1.1.5.2")
	send("snmpinform", append(append([]string{}, v3...), "-r", "3", "-t", "3", trapAddr, "700", "1.3.6.1.6.3.1.1.5.1")...)
	// snmpinform returned: the agent answered, so the inform is in its spool.
	r.killAgent()

	r.startCollector()
	r.startAgent()
	api := newAPIClient(r.env)
	type item struct {
		Host       string `json:"host"`
		Source     string `json:"source"`
		SourceFrom string `json:"source_from"`
		Version    string `json:"version"`
		Inform     bool   `json:"inform"`
		User       string `json:"user"`
		OID        string `json:"oid"`
		Name       string `json:"name"`
		Uptime     uint32 `json:"uptime"`
		VarBinds   []struct {
			Name, Value string
		} `json:"varbinds"`
	}
	var page struct {
		Items []item `json:"items"`
		Total int    `json:"total"`
	}
	r.waitUntil(60*time.Second, "6 traps in the API", func() (bool, string) {
		b, err := api.get("/api/v1/traps?rows=100")
		if err != nil {
			return false, err.Error()
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return false, err.Error()
		}
		return page.Total >= 6, fmt.Sprintf("%d traps", page.Total)
	})
	// Let a late duplicate show itself before counting.
	r.stopAgent()
	b, err := api.get("/api/v1/traps?rows=100")
	if err != nil || json.Unmarshal(b, &page) != nil {
		t.Fatalf("traps: %v", err)
	}
	if page.Total != 6 {
		t.Fatalf("%d traps stored, want 6 (each once): %+v", page.Total, page.Items)
	}
	byUptime := map[uint32]item{}
	for _, it := range page.Items {
		byUptime[it.Uptime] = it
	}
	dev := r.devices[0]
	checks := []struct {
		uptime                      uint32
		host, name, version, source string
		inform                      bool
	}{
		{100, dev, "SNMPv2-MIB::coldStart", "1", devAddr, false},
		{200, dev, "IF-MIB::linkDown", "2c", "127.0.0.1", false},
		{300, dev, "IF-MIB::linkUp", "3", "198.51.100.7", false},
		{400, "", "", "2c", "203.0.113.5", false},
		{600, dev, "SNMPv2-MIB::warmStart", "2c", "127.0.0.1", true},
		{700, dev, "SNMPv2-MIB::coldStart", "3", "127.0.0.1", true},
	}
	for _, c := range checks {
		it, ok := byUptime[c.uptime]
		if !ok {
			t.Errorf("trap with uptime %d missing", c.uptime)
			continue
		}
		if devAddr != "127.0.0.1" && c.source == "127.0.0.1" {
			c.host = "" // the device simulator binds elsewhere: the UDP source is no target
		}
		if it.Host != c.host || it.Name != c.name || it.Version != c.version || it.Source != c.source || it.Inform != c.inform {
			t.Errorf("trap %d: %+v, want host %q name %q version %s source %s inform %v", c.uptime, it, c.host, c.name, c.version, c.source, c.inform)
		}
	}
	if it := byUptime[400]; len(it.VarBinds) != 2 || it.VarBinds[1].Value != "fan 2 failed" {
		t.Errorf("unknown-source trap varbinds %+v", it.VarBinds)
	}
	if !strings.Contains(r.log("agent.log"), "wrong community") {
		t.Error("the refused trap was not logged")
	}
	r.stopCollector()
}

// waitUDP waits until something answers on a UDP port: a v2c get to the
// trap port is refused silently, so probe by binding instead.
func waitUDP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return // taken: the agent listens
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

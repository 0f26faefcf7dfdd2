package packaging_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestAgentUnitGrantsOnlyTrapPortBind: the shipped agent unit gives the
// agent CAP_NET_BIND_SERVICE and no other capability, and with exactly
// what the unit grants (setpriv as an unprivileged user: that bounding
// set, that ambient set) the agent binds the trap port 162 and receives a
// trap; without it, the bind is refused. (The test machine has no systemd
// to start the unit itself.)
func TestAgentUnitGrantsOnlyTrapPortBind(t *testing.T) {
	unit := map[string]string{}
	f, err := os.Open(filepath.Join("systemd", "outpost-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			unit[k] = v
		}
	}
	f.Close()
	for _, k := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		if unit[k] != "CAP_NET_BIND_SERVICE" {
			t.Errorf("%s=%q, want CAP_NET_BIND_SERVICE only", k, unit[k])
		}
	}
	if unit["NoNewPrivileges"] != "yes" || unit["User"] != "outpost-agent" {
		t.Errorf("unit runs as %q with NoNewPrivileges=%q", unit["User"], unit["NoNewPrivileges"])
	}

	if os.Geteuid() != 0 {
		testbed.Missing(t, "root (setpriv to an unprivileged user with the unit's capabilities)")
	}
	setpriv := testbed.RequireTool(t, "setpriv")
	snmptrap := testbed.RequireTool(t, "snmptrap")
	if c, err := net.ListenPacket("udp", "127.0.0.1:162"); err != nil {
		testbed.Missing(t, "UDP port 162 on 127.0.0.1 is in use: %v", err)
	} else {
		c.Close()
	}
	bin := filepath.Join(t.TempDir(), "outpost-agent")
	if out, err := exec.Command("go", "build", "-o", bin, "../agent/cmd/outpost-agent").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	os.Chmod(filepath.Dir(bin), 0o755)
	probe := func(caps string) *exec.Cmd {
		return exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps=-all"+caps, "--ambient-caps=-all"+caps, "--bounding-set=-all"+caps,
			bin, "probe", "traps", "--listen", "127.0.0.1:162", "-c", "public", "--count", "1")
	}
	// Without the capability: refused.
	if out, err := probe("").CombinedOutput(); err == nil || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("bound port 162 without CAP_NET_BIND_SERVICE: %v\n%s", err, out)
	}
	// With it: binds, and a trap arrives.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := probe(",+net_bind_service")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	for {
		trap := exec.CommandContext(ctx, snmptrap, "-v2c", "-c", "public", "127.0.0.1:162", "", "1.3.6.1.6.3.1.1.5.1")
		trap.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent")
		if b, err := trap.CombinedOutput(); err != nil {
			t.Fatalf("snmptrap: %v %s", err, b)
		}
		select {
		case err := <-done:
			if err != nil || !strings.Contains(out.String(), "SNMPv2-MIB::coldStart") {
				t.Fatalf("probe traps under the unit's capabilities: %v\n%s", err, out.String())
			}
			return
		case <-time.After(200 * time.Millisecond): // not listening yet: send again
		case <-ctx.Done():
			t.Fatalf("no trap received on port 162:\n%s", out.String())
		}
	}
}

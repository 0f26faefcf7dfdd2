package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestUDPBlockedByIptables is the UDP-blocked scenario with a real
// firewall: the agent runs in its own network namespace, joined to the
// root namespace by a veth pair; inside the namespace iptables drops UDP
// to the collector's QUIC port. The collector listens on the root side of
// the veth, the simulated devices bind there too (so SNMP, also UDP, still
// passes: only the collector's port is dropped). The agent's QUIC
// handshake times out, it falls back to TLS over TCP, and every polled
// sample must land exactly once. Needs root, ip and iptables; skipped
// loudly otherwise (failed under CI=true, see shared/testbed).
func TestUDPBlockedByIptables(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes; not under -short")
	}
	t.Parallel()
	if os.Geteuid() != 0 {
		testbed.Missing(t, "network namespaces need root")
		return
	}
	ipBin := testbed.RequireTool(t, "ip")
	iptBin := testbed.RequireTool(t, "iptables")
	for i, target := range []string{
		"DROP",   // sendmsg fails with EPERM: QUIC fails at once, locally
		"REJECT", // an ICMP port unreachable comes back: the handshake never completes
	} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			udpBlocked(t, ipBin, iptBin, i+1, target)
		})
	}
}

func udpBlocked(t *testing.T, ipBin, iptBin string, seq int, target string) {
	ns := newNetns(t, ipBin, seq)
	r := newRig(t, rigConfig{Devices: 2, SiteHost: ns.rootIP, IngestHost: ns.rootIP,
		AgentBin: ns.wrap(t, bins.agent), MetricsAddr: ns.nsIP + ":9464"})
	_, quicPort, _ := strings.Cut(r.env.QUICAddr, ":")
	ns.run(t, iptBin, "-A", "OUTPUT", "-p", "udp", "-d", ns.rootIP, "--dport", quicPort, "-j", target)

	r.startCollector()
	r.startAgent()
	r.waitUntil(60*time.Second, "the link to come up over TCP", func() (bool, string) {
		return r.metric("outpost_agent_link_up") == 1, "link down"
	})
	r.waitPolls(5)
	requireExact(t, r.finish())

	agentLog := r.log("agent.log")
	if !strings.Contains(agentLog, "falling back to TLS over TCP") || !strings.Contains(agentLog, `link up" transport=tcp`) {
		t.Errorf("the agent log shows no fallback to TCP")
	}
	if strings.Contains(agentLog, `link up" transport=quic`) {
		t.Errorf("a QUIC link came up through the firewall")
	}
	out := ns.run(t, iptBin, "-L", "OUTPUT", "-v", "-n", "-x")
	m := regexp.MustCompile(`(?m)^\s*(\d+)\s+\d+\s+` + target + `\s+(?:udp|17)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s rule in the namespace:\n%s", target, out)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("the firewall matched no packet: the agent never tried QUIC\n%s", out)
	} else {
		t.Logf("iptables %s matched %d UDP packets to the collector's QUIC port", target, n)
	}
}

// netns is a network namespace with a veth pair to the root namespace:
// rootIP on the root side, nsIP inside.
type netns struct {
	name, ipBin  string
	rootIP, nsIP string
	rootIf, nsIf string
}

// newNetns creates the namespace and the link, deleted in t.Cleanup
// (after the processes, which are stopped by cleanups registered later).
func newNetns(t *testing.T, ipBin string, seq int) *netns {
	t.Helper()
	id := (os.Getpid()*4+seq)%250 + 1
	n := &netns{name: fmt.Sprintf("outpost-e2e-%d-%d", os.Getpid(), seq), ipBin: ipBin,
		rootIP: fmt.Sprintf("10.231.%d.1", id), nsIP: fmt.Sprintf("10.231.%d.2", id),
		rootIf: fmt.Sprintf("oe2e%dr", id), nsIf: fmt.Sprintf("oe2e%dn", id)}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", n.name)
	t.Cleanup(func() {
		exec.Command(ipBin, "link", "del", n.rootIf).Run()
		if out, err := exec.Command(ipBin, "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", n.name, err, out)
		}
	})
	ip("link", "add", n.rootIf, "type", "veth", "peer", "name", n.nsIf)
	ip("link", "set", n.nsIf, "netns", n.name)
	ip("addr", "add", n.rootIP+"/30", "dev", n.rootIf)
	ip("link", "set", n.rootIf, "up")
	ip("-n", n.name, "addr", "add", n.nsIP+"/30", "dev", n.nsIf)
	ip("-n", n.name, "link", "set", n.nsIf, "up")
	ip("-n", n.name, "link", "set", "lo", "up")
	return n
}

// run runs a command inside the namespace and returns its output.
func (n *netns) run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(n.ipBin, append([]string{"netns", "exec", n.name, bin}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", n.name, bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// wrap writes a script that execs bin inside the namespace (ip netns exec
// execs in turn, so the agent keeps the script's pid and receives SIGTERM
// and SIGKILL directly).
func (n *netns) wrap(t *testing.T, bin string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent-in-netns")
	script := fmt.Sprintf("#!/bin/sh\nexec %s netns exec %s %s \"$@\"\n", n.ipBin, n.name, bin)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

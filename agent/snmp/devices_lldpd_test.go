package snmp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestLLDPDNeighbor uses lldpd as a real LLDP peer. A veth pair joins this
// namespace to a new one; an lldpd in each speaks LLDP on its end only
// (-I), the one here feeding net-snmp's snmpd through AgentX, so the agent
// reads lldpd's LLDP-MIB from snmpd on loopback as it would a switch's.
// Needs root (namespaces, veth, lldpd's privilege separation).
func TestLLDPDNeighbor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts lldpd and snmpd in network namespaces")
	}
	bins := map[string]string{}
	for _, n := range []string{"lldpd", "snmpd", "ip"} {
		bins[n] = testbed.RequireTool(t, n)
	}
	if os.Geteuid() != 0 {
		testbed.Missing(t, "TestLLDPDNeighbor needs root for network namespaces")
		return
	}
	dir, err := os.MkdirTemp("", "outpost-lldpd-") // short: AgentX and lldpd socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// lldpd's unprivileged side and lldpcli (which applies the config
	// files) reach the control socket here.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tag := strconv.Itoa(os.Getpid() % 100000)
	ns, vethA, vethB := "outpost-lldp-"+tag, "olA"+tag, "olB"+tag
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(bins["ip"], args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command(bins["ip"], "netns", "del", ns).Run() }) // takes the veth pair with it
	ip("link", "add", vethA, "type", "veth", "peer", "name", vethB)
	t.Cleanup(func() { exec.Command(bins["ip"], "link", "del", vethA).Run() })
	ip("link", "set", vethB, "netns", ns)
	ip("link", "set", vethA, "up")
	ip("netns", "exec", ns, "ip", "link", "set", vethB, "up")

	port := testbed.FreeUDPPort(t)
	agentx := filepath.Join(dir, "agentx")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf := write("snmpd.conf", fmt.Sprintf("agentAddress udp:127.0.0.1:%d\nrocommunity lldp-test 127.0.0.1\nmaster agentx\nagentXSocket %s\n", port, agentx))
	start := func(name string, args ...string) {
		t.Helper()
		log, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			log.Close()
			if t.Failed() {
				b, _ := os.ReadFile(log.Name())
				t.Logf("%s log:\n%s", name, b)
			}
		})
	}
	start("snmpd", bins["snmpd"], "-f", "-C", "-c", conf, "-Lf", filepath.Join(dir, "snmpd.log.txt"), "-p", filepath.Join(dir, "snmpd.pid"),
		"--persistentDir="+dir)
	waitFile(t, agentx)
	start("lldpd-a", bins["lldpd"], "-d", "-I", vethA, "-u", filepath.Join(dir, "a.sock"), "-x", "-X", agentx,
		"-O", write("a.conf", "configure lldp tx-interval 1\n"))
	start("lldpd-b", bins["ip"], "netns", "exec", ns, bins["lldpd"], "-d", "-I", vethB, "-u", filepath.Join(dir, "b.sock"), "-m", "192.0.2.99",
		"-O", write("b.conf", "configure lldp tx-interval 1\nconfigure system hostname lldp-peer-b\n"))

	tg, err := New(config.SNMPTarget{Name: "lldp-a", Address: "127.0.0.1", Disable: []string{config.FeatureCDP}, SNMPSettings: config.SNMPSettings{
		Port: port, Version: "2c", Community: secret.New("lldp-test"), Timeout: configfile.Duration(2 * time.Second), Retries: intp(1)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	var n wire.Neighbor
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		dev, err := tg.Discover(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(dev.Neighbors) > 0 {
			n = dev.Neighbors[0]
			if len(dev.ChassisIDs) != 1 {
				t.Errorf("own chassis ids %v", dev.ChassisIDs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no LLDP neighbour after 20 s (lldpd sends every second)")
		}
		time.Sleep(500 * time.Millisecond)
	}
	peerMAC := ""
	if out, err := exec.Command(bins["ip"], "netns", "exec", ns, "cat", "/sys/class/net/"+vethB+"/address").Output(); err == nil {
		peerMAC = strings.TrimSpace(string(out))
	}
	localIdx := ""
	if b, err := os.ReadFile("/sys/class/net/" + vethA + "/ifindex"); err == nil {
		localIdx = strings.TrimSpace(string(b))
	}
	if n.Protocol != wire.ProtoLLDP || n.SysName != "lldp-peer-b" || n.MgmtAddr != "192.0.2.99" || n.PortDescr != vethB ||
		n.PortID != peerMAC || strconv.FormatUint(uint64(n.LocalIfIndex), 10) != localIdx || n.LocalPort != vethA {
		t.Errorf("neighbour %+v; want lldp-peer-b, port %s (%s), address 192.0.2.99, on %s (ifIndex %s)", n, peerMAC, vethB, vethA, localIdx)
	}
}

func waitFile(t *testing.T, p string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	t.Fatalf("%s did not appear", p)
}

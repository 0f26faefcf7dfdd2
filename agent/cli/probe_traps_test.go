package cli

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestProbeTraps runs `probe traps` and sends it an inform and a v1 trap
// with net-snmp; the probe prints both, decoded, and exits after --count.
func TestProbeTraps(t *testing.T) {
	testbed.RequireTool(t, "snmptrap", "snmpinform")
	addr := "127.0.0.1:" + strconv.Itoa(testbed.FreeUDPPort(t))
	sent := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		env := []string{"MIBS=", "MIBDIRS=/nonexistent", "SNMPCONFPATH=/nonexistent", "HOME=" + t.TempDir()}
		// The inform is retransmitted until the probe listens and answers.
		inform := exec.CommandContext(ctx, "snmpinform", "-v2c", "-c", "public", "-r", "40", "-t", "0.25", addr, "4200",
			"1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.7", "i", "7", "1.3.6.1.2.1.2.2.1.2.7", "s", "ge-0/0/7")
		inform.Env = append(inform.Environ(), env...)
		if out, err := inform.CombinedOutput(); err != nil {
			sent <- err
			t.Logf("snmpinform: %s", out)
			return
		}
		trap := exec.CommandContext(ctx, "snmptrap", "-v1", "-c", "public", addr, "1.3.6.1.4.1.9", "198.51.100.9", "6", "3", "")
		trap.Env = append(trap.Environ(), env...)
		sent <- trap.Run()
	}()
	out, errOut, code := runAgent(t, "probe", "traps", "--listen", addr, "-c", "public", "--count", "2")
	if err := <-sent; err != nil {
		t.Fatalf("sending: %v", err)
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"v2c inform (answered) IF-MIB::linkDown (1.3.6.1.6.3.1.1.5.3), uptime 42s",
		"  IF-MIB::ifIndex.7 = Integer: 7\n",
		"  IF-MIB::ifDescr.7 = OctetString: ge-0/0/7\n",
		"v1 trap 1.3.6.1.4.1.9.0.3, uptime ",
		", source 198.51.100.9 (agent-addr)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, " from 127.0.0.1:") != 2 {
		t.Errorf("want 2 traps:\n%s", out)
	}
}

func TestProbeTrapsNeedsCredentials(t *testing.T) {
	_, errOut, code := runAgent(t, "probe", "traps", "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "nothing would be accepted") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

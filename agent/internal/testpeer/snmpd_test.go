package testpeer

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/shared/testbed"
)

func TestStartSNMPDAnswersV2cAndV3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	s := StartSNMPD(t, SNMPDConfig{SysName: "peer-check"})
	snmpget := testbed.RequireTool(t, "snmpget")
	out, err := exec.Command(snmpget, "-v3", "-l", "authPriv", "-u", s.User, "-a", "SHA", "-A", s.AuthPass,
		"-x", "AES", "-X", s.PrivPass, "-On", "-t", "2", s.Addr(), "1.3.6.1.2.1.1.5.0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "peer-check") {
		t.Fatalf("v3 authPriv snmpget: %v\n%s", err, out)
	}
	out, err = exec.Command(snmpget, "-v2c", "-c", "not-"+s.Community, "-t", "0.3", "-r", "0", s.Addr(), "1.3.6.1.2.1.1.5.0").CombinedOutput()
	if err == nil {
		t.Fatalf("wrong community answered: %s", out)
	}
}

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

// TestSNMPSimDServesRecordings: each recording answers under its own
// community (values as recorded, strings byte for byte through Walk), an
// unknown community gets no answer.
func TestSNMPSimDServesRecordings(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpsimd")
	}
	recs := RecordedDevices()
	s := StartSNMPSimD(t, recs[0], recs[1])
	for _, c := range []struct{ community, sysName string }{{"linux-full-walk", "tt"}, {"winxp-full-walk", ""}} {
		vars := Walk(t, s.Addr(), c.community, "1.3.6.1.2.1.1")
		if len(vars) < 5 {
			t.Fatalf("%s: system group %v", c.community, vars)
		}
		for _, v := range vars {
			if v.OID == ".1.3.6.1.2.1.1.5.0" && c.sysName != "" && string(v.Bytes) != c.sysName {
				t.Errorf("%s: sysName %q", c.community, v.Bytes)
			}
			if v.OID == ".1.3.6.1.2.1.1.3.0" && v.Text == "" {
				t.Errorf("%s: sysUpTime %+v", c.community, v)
			}
		}
	}
	// Windows XP sends its ifDescr with a trailing NUL byte: Walk keeps it.
	nul := false
	for _, v := range Walk(t, s.Addr(), "winxp-full-walk", "1.3.6.1.2.1.2.2.1.2") {
		nul = nul || strings.HasSuffix(string(v.Bytes), "\x00")
	}
	if !nul {
		t.Error("no winxp ifDescr ends in NUL")
	}
	snmpget := testbed.RequireTool(t, "snmpget")
	if out, err := exec.Command(snmpget, "-v2c", "-c", "no-such-recording", "-t", "0.3", "-r", "0", s.Addr(), "1.3.6.1.2.1.1.5.0").CombinedOutput(); err == nil {
		t.Errorf("an unknown community answered: %s", out)
	}
}

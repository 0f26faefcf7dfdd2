package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/shared/testbed"
)

func runProbeSNMP(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestProbeSNMPListsWhatSnmpwalkLists(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	d := testpeer.StartSNMPD(t, testpeer.SNMPDConfig{SysName: "probe-target"})
	walk := testbed.RequireTool(t, "snmpwalk")
	raw, err := exec.Command(walk, "-v2c", "-c", d.Community, "-On", "-Oq", d.Addr(), "1.3.6.1.2.1.2.2.1.2").CombinedOutput()
	if err != nil {
		t.Fatalf("snmpwalk: %v\n%s", err, raw)
	}
	re := regexp.MustCompile(`\.1\.3\.6\.1\.2\.1\.2\.2\.1\.2\.(\d+) "?([^"]*)"?`)
	var want []string
	for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
		want = append(want, m[1]+"="+m[2])
	}
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatalf("snmpwalk listed nothing: %s", raw)
	}
	cases := map[string][]string{
		"v2c":            {"probe", "snmp", "-v", "2c", "-c", d.Community, "-t", "1", "-r", "1", "--json", d.Addr()},
		"v3 authPriv":    {"probe", "snmp", "-v", "3", "-l", "authPriv", "-u", d.User, "-a", "SHA", "-A", d.AuthPass, "-x", "AES", "-X", d.PrivPass, "--json", d.Addr()},
		"v3 spelled out": {"probe", "snmp", "-v3", "-lauthPriv", "-u", d.User, "-a", "SHA-1", "-A", d.AuthPass, "-x", "AES-128", "-X", d.PrivPass, "--json", d.Addr()},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runProbeSNMP(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got struct {
				System     struct{ Name string }
				Interfaces []struct {
					Index  uint32
					Descr  string
					Status string
					HC     bool
				}
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got.System.Name != "probe-target" {
				t.Errorf("sysName %q", got.System.Name)
			}
			var have []string
			for _, r := range got.Interfaces {
				have = append(have, strconv.Itoa(int(r.Index))+"="+r.Descr)
			}
			sort.Strings(have)
			if strings.Join(have, ",") != strings.Join(want, ",") {
				t.Fatalf("probe lists %v, snmpwalk lists %v", have, want)
			}
		})
	}
	// The table form carries the same interfaces and the column headings.
	code, out, errOut := runProbeSNMP("probe", "snmp", "-c", d.Community, d.Addr())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Logf("probe snmp table output:\n%s", out)
	for _, h := range []string{"sysName:     probe-target", "INDEX", "NAME", "DESCR", "ALIAS", "TYPE", "SPEED", "ADMIN", "OPER", "STATUS", "HC", strconv.Itoa(len(want)) + " interfaces"} {
		if !strings.Contains(out, h) {
			t.Errorf("table output lacks %q:\n%s", h, out)
		}
	}
}

func TestProbeSNMPFailuresAreClearAndSecretFree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	d := testpeer.StartSNMPD(t, testpeer.SNMPDConfig{})
	cases := []struct {
		name    string
		args    []string
		want    string
		secrets []string
	}{
		{"wrong community", []string{"-v", "2c", "-c", "bad-community-123", "-t", "0.3", "-r", "0", d.Addr()},
			"no response from " + d.Addr() + " (wrong community, ACL, or host down)", []string{"bad-community-123"}},
		{"wrong auth passphrase", []string{"-v", "3", "-l", "authPriv", "-u", d.User, "-a", "SHA", "-A", "bad-auth-pass-1", "-x", "AES", "-X", d.PrivPass, "-t", "0.5", "-r", "0", d.Addr()},
			`wrong authentication passphrase for user "` + d.User + `"`, []string{"bad-auth-pass-1", d.PrivPass}},
		{"wrong priv passphrase", []string{"-v", "3", "-l", "authPriv", "-u", d.User, "-a", "SHA", "-A", d.AuthPass, "-x", "AES", "-X", "bad-priv-pass-1", "-t", "0.5", "-r", "0", d.Addr()},
			`wrong privacy passphrase for user "` + d.User + `"`, []string{d.AuthPass, "bad-priv-pass-1"}},
		{"unknown user", []string{"-v", "3", "-l", "authPriv", "-u", "ghost", "-a", "SHA", "-A", d.AuthPass, "-x", "AES", "-X", d.PrivPass, "-t", "0.5", "-r", "0", d.Addr()},
			`unknown SNMPv3 user "ghost"`, []string{d.AuthPass, d.PrivPass}},
		{"bad protocol name", []string{"-v", "3", "-u", d.User, "-a", "SHA-3", "-A", d.AuthPass, d.Addr()},
			`unknown authentication protocol "SHA-3"`, []string{d.AuthPass}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runProbeSNMP(append([]string{"probe", "snmp"}, c.args...)...)
			if code == 0 {
				t.Fatalf("exit 0; stdout:\n%s", out)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q does not say %q", errOut, c.want)
			}
			for _, s := range c.secrets {
				if strings.Contains(errOut, s) || strings.Contains(out, s) {
					t.Errorf("output contains the secret %q: %s%s", s, out, errOut)
				}
			}
		})
	}
}

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfigCmd(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(bad, []byte("name: site1\ncollector:\n  address: c:4700\nsnmp:\n  - name: sw1\n    address: 192.0.2.1\n    comunity: public\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStderr bool
	}{
		{"example", []string{"check-config", "-c", "../../configs/agent.example.yaml"}, 0,
			"../../configs/agent.example.yaml: OK (agent site-paris, collector collector.example.net:4700, 2 SNMP targets, 3 NTP servers, traps on :162 (1 community, 1 v3 user), spool /var/lib/outpost-agent/spool up to 1GiB)\n", "", true},
		{"unknown key", []string{"check-config", "--config", bad}, ExitConfigInvalid,
			"", "outpost-agent: " + bad + ":7:5: snmp[0]: unknown field \"comunity\" (did you mean \"community\"?)\n", false},
		{"missing file", []string{"check-config", "-c", filepath.Join(dir, "none.yaml")}, ExitConfigInvalid,
			"", "outpost-agent: " + filepath.Join(dir, "none.yaml") + ": cannot read: no such file or directory\n", false},
		{"extra argument", []string{"check-config", "x"}, 1, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if out.String() != tc.stdout {
				t.Errorf("stdout %q\nwant   %q", out.String(), tc.stdout)
			}
			if tc.stderr != "" && errb.String() != tc.stderr {
				t.Errorf("stderr %q\nwant   %q", errb.String(), tc.stderr)
			}
			if tc.noStderr && errb.Len() != 0 {
				t.Errorf("stderr %q", errb.String())
			}
			if tc.code != 0 && strings.Contains(errb.String(), "public") {
				t.Errorf("secret in output")
			}
		})
	}
}

package snmpsim

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// runTool runs a net-snmp command and returns stdout, stderr and the exit
// code.
func runTool(t *testing.T, name string, args ...string) (string, string, int) {
	t.Helper()
	path := testbed.RequireTool(t, name)
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent", "SNMPCONFPATH=/nonexistent", "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

func TestNetSNMPBulkWalk1000Interfaces(t *testing.T) {
	if testing.Short() {
		t.Skip("runs net-snmp tools")
	}
	ifs := GenerateInterfaces(1000, 1)
	_, addr := startDevice(t, Config{Community: "public", Interfaces: ifs})
	target := addr.String()

	out, stderr, code := runTool(t, "snmpbulkwalk", "-v2c", "-c", "public", "-Cr50", "-On", target, "1.3.6.1.2.1.2.2.1.2")
	if code != 0 {
		t.Fatalf("snmpbulkwalk ifDescr: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1000 {
		t.Fatalf("snmpbulkwalk listed %d interfaces, want 1000", len(lines))
	}
	for i, f := range ifs {
		want := fmt.Sprintf(".1.3.6.1.2.1.2.2.1.2.%d = STRING: %q", f.Index, f.Descr)
		if lines[i] != want {
			t.Fatalf("line %d: %q, want %q", i, lines[i], want)
		}
	}

	out, stderr, code = runTool(t, "snmpbulkwalk", "-v2c", "-c", "public", "-Cr50", "-On", target, "1.3.6.1.2.1.31.1.1")
	if code != 0 {
		t.Fatalf("snmpbulkwalk ifXTable: exit %d: %s", code, stderr)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 19*1000 {
		t.Fatalf("ifXTable walk: %d lines, want %d", len(lines), 19*1000)
	}
	if n := strings.Count(out, "= Counter64: "); n != 8*1000 {
		t.Errorf("ifXTable walk: %d Counter64 values, want 8000", n)
	}
	if !strings.Contains(out, ".1.3.6.1.2.1.31.1.1.1.1.1000 = STRING: \"ae1\"") {
		t.Errorf("ifXTable walk misses ifName.1000 = ae1")
	}

	// A wrong community gets no answer at all: the tool times out.
	_, stderr, code = runTool(t, "snmpget", "-v2c", "-c", "private", "-t", "0.3", "-r", "0", target, "1.3.6.1.2.1.1.5.0")
	if code == 0 || !strings.Contains(stderr, "Timeout") {
		t.Errorf("wrong community: exit %d, stderr %q; want a timeout", code, stderr)
	}
}

func TestNetSNMPv3(t *testing.T) {
	if testing.Short() {
		t.Skip("runs net-snmp tools")
	}
	_, addr := startDevice(t, Config{Users: v3Users, Interfaces: GenerateInterfaces(100, 1), SysName: "v3-sim"})
	tests := []struct {
		user             User
		level, a, x      string
		wantOut, wantErr string
	}{
		{v3Users[0], "authPriv", "MD5", "DES", "v3-sim", ""},
		{v3Users[1], "authPriv", "SHA", "AES", "v3-sim", ""},
		{v3Users[2], "authPriv", "SHA-224", "AES-192", "v3-sim", ""},
		{v3Users[3], "authPriv", "SHA-256", "AES-256", "v3-sim", ""},
		{v3Users[6], "authNoPriv", "SHA-256", "", "v3-sim", ""},
		{v3Users[7], "noAuthNoPriv", "", "", "v3-sim", ""},
		{User{Name: "shaaes", AuthPass: "wrong-auth-pass", PrivPass: "aes-priv-pass"}, "authPriv", "SHA", "AES", "", "Authentication failure"},
		{User{Name: "ghost", AuthPass: "sha-auth-pass", PrivPass: "aes-priv-pass"}, "authPriv", "SHA", "AES", "", "Unknown user name"},
		{User{Name: "authonly", AuthPass: "auth-only-pass", PrivPass: "aes-priv-pass"}, "authPriv", "SHA-256", "AES", "", "Unsupported security level"},
		{User{Name: "shaaes", AuthPass: "sha-auth-pass"}, "authNoPriv", "SHA", "", "", "authorizationError"},
	}
	for _, tc := range tests {
		t.Run(tc.user.Name+"/"+tc.level+"/"+tc.wantErr, func(t *testing.T) {
			args := []string{"-v3", "-l", tc.level, "-u", tc.user.Name, "-t", "1", "-r", "0", "-On"}
			if tc.a != "" {
				args = append(args, "-a", tc.a, "-A", tc.user.AuthPass)
			}
			if tc.x != "" {
				args = append(args, "-x", tc.x, "-X", tc.user.PrivPass)
			}
			args = append(args, addr.String(), "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.31.1.1.1.6.5")
			out, stderr, code := runTool(t, "snmpget", args...)
			all := out + stderr
			if tc.wantErr == "" {
				if code != 0 || !strings.Contains(out, `STRING: "`+tc.wantOut+`"`) || !strings.Contains(out, "Counter64") {
					t.Fatalf("exit %d: %s", code, all)
				}
				return
			}
			if code == 0 || !strings.Contains(all, tc.wantErr) {
				t.Fatalf("exit %d, output %q; want %q", code, all, tc.wantErr)
			}
		})
	}
}

// snmpd starts net-snmp's agent with the given extra configuration lines and
// returns its address; it is killed when the test ends.
func snmpd(t *testing.T, lines ...string) string {
	t.Helper()
	bin := testbed.RequireTool(t, "snmpd", "/usr/sbin/snmpd")
	dir := t.TempDir()
	port := testbed.FreeUDPPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := fmt.Sprintf("agentAddress udp:%s\nrocommunity public 127.0.0.1\nsysName test-device\n%s\n", addr, strings.Join(lines, "\n"))
	if err := os.WriteFile(filepath.Join(dir, "snmpd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", "-C", "-c", filepath.Join(dir, "snmpd.conf"), "-Lf", filepath.Join(dir, "log"),
		"-p", filepath.Join(dir, "pid"), "--persistentDir="+filepath.Join(dir, "persist"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, code := runTool(t, "snmpget", "-v2c", "-c", "public", "-t", "0.2", "-r", "0", addr, "1.3.6.1.2.1.1.5.0")
		if code == 0 {
			return addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("snmpd did not answer within 10s; log:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestV3ErrorsMatchSnmpd sends the same good and bad v3 requests to net-snmp's
// snmpd and to the simulator, with net-snmp's snmpget, and expects the same
// outcome: the simulator's error paths are the real ones.
func TestV3ErrorsMatchSnmpd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs snmpd")
	}
	real := snmpd(t, `createUser shaaes SHA "sha-auth-pass" AES "aes-priv-pass"`, "rouser shaaes priv",
		`createUser authonly SHA-256 "auth-only-pass"`, "rouser authonly auth")
	_, simAddr := startDevice(t, Config{Users: v3Users, Community: "public", Interfaces: smallInterfaces(), SysName: "test-device"})
	cases := []struct {
		name string
		args []string
	}{
		{"good", []string{"-l", "authPriv", "-u", "shaaes", "-a", "SHA", "-A", "sha-auth-pass", "-x", "AES", "-X", "aes-priv-pass"}},
		{"wrong auth", []string{"-l", "authPriv", "-u", "shaaes", "-a", "SHA", "-A", "wrong-auth-pass", "-x", "AES", "-X", "aes-priv-pass"}},
		{"wrong priv", []string{"-l", "authPriv", "-u", "shaaes", "-a", "SHA", "-A", "sha-auth-pass", "-x", "AES", "-X", "wrong-priv-pass"}},
		{"unknown user", []string{"-l", "authPriv", "-u", "ghost", "-a", "SHA", "-A", "sha-auth-pass", "-x", "AES", "-X", "aes-priv-pass"}},
		{"level too high", []string{"-l", "authPriv", "-u", "authonly", "-a", "SHA-256", "-A", "auth-only-pass", "-x", "AES", "-X", "aes-priv-pass"}},
		{"level too low", []string{"-l", "authNoPriv", "-u", "shaaes", "-a", "SHA", "-A", "sha-auth-pass"}},
		{"noauth for auth user", []string{"-l", "noAuthNoPriv", "-u", "shaaes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := func(addr string) (string, int) {
				args := append(append([]string{"-v3", "-t", "0.5", "-r", "0", "-On"}, tc.args...), addr, "1.3.6.1.2.1.1.5.0")
				out, stderr, code := runTool(t, "snmpget", args...)
				return strings.ReplaceAll(out+stderr, addr, "ADDR"), code
			}
			wantOut, wantCode := run(real)
			gotOut, gotCode := run(simAddr.String())
			if gotOut != wantOut || gotCode != wantCode {
				t.Errorf("snmpd: exit %d %q\nsimulator: exit %d %q", wantCode, wantOut, gotCode, gotOut)
			}
		})
	}
}

package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunAndEnrollCmdErrors covers the failures users meet first; the
// success paths run end to end in agent/run's tests.
func TestRunAndEnrollCmdErrors(t *testing.T) {
	dir := t.TempDir()
	const tok = "ope_SECRETSECRETSECRET"
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte(tok+"\n"), 0o600)
	// a TCP port that refuses connections
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	t.Setenv("OUTPOST_ENROLL_TOKEN", "")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"run without config", []string{"run", "-c", filepath.Join(dir, "none.yaml")}, ExitConfigInvalid, "cannot read"},
		{"enroll without token", []string{"enroll", "--collector", closed, "--name", "a1", "--ca-fingerprint", "sha256:00"}, 1, "no token"},
		{"enroll without fingerprint", []string{"enroll", "--collector", closed, "--name", "a1", "--token", tok}, 1, "required"},
		{"enroll, collector unreachable", []string{"enroll", "--collector", closed, "--name", "a1", "--token", tok,
			"--ca-fingerprint", "sha256:" + strings.Repeat("00", 32), "--pki-dir", filepath.Join(dir, "pki")}, 1, "connect"},
		{"enroll, token from file", []string{"enroll", "--collector", closed, "--name", "a1", "--token-file", tokFile,
			"--ca-fingerprint", "sha256:" + strings.Repeat("00", 32), "--pki-dir", filepath.Join(dir, "pki")}, 1, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tc.stderr)
			}
			if strings.Contains(errb.String()+out.String(), "SECRET") {
				t.Errorf("the token leaked into the output: %q", errb.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "pki", "agent.key")); err == nil {
		t.Error("a failed enrollment left a key behind")
	}
}

// Package testbed is support for integration tests that need real peers
// (snmpd, ntpd, rrdtool, chromium) or free loopback ports. It is imported
// only by _test.go files.
//
// The rule for a missing tool: on a developer machine the test skips with a
// loud message; with CI=true it fails, so CI can never pass by skipping.
package testbed

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the CI environment variable is set to a true value.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// Missing skips the test (developer machine) or fails it (CI) with the reason.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and a required peer is missing: "+format, args...)
	}
	t.Skipf("SKIPPING (install the peer to run this test): "+format, args...)
}

// RequireTool returns the path of a command on PATH (or the first of
// several alternatives), or stops the test through Missing.
func RequireTool(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, "none of %v is on PATH", names)
	return ""
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free udp port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// FreeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free tcp port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

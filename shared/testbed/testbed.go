// Package testbed is support for integration tests that need real peers
// (snmpd, ntpd, rrdtool, chromium) or free loopback ports. It is imported
// only by _test.go files.
//
// The rule for a missing tool: on a developer machine the test skips with a
// loud message; with CI=true it fails, so CI can never pass by skipping.
package testbed

import (
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
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

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago
// (see freePort).
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, "udp")
}

// FreeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago
// (see freePort).
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, "tcp")
}

// freePort picks a port below the kernel's ephemeral range, free for both
// TCP and UDP. A port the kernel handed out as ephemeral (":0") can be
// handed out again at any moment as the local port of some outgoing
// connection, which makes a test that stops a server and starts it again
// on the same port fail with "address already in use"; ports below the
// range are only ever taken by explicit binds.
func freePort(t testing.TB, network string) int {
	t.Helper()
	low := ephemeralLow()
	const floor = 10000
	if low-floor > 1000 {
		for range 200 {
			p := floor + rand.IntN(low-floor)
			if portFree(p) {
				return p
			}
		}
	}
	addr := "127.0.0.1:0"
	if network == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("free udp port: %v", err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("free tcp port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// portFree reports whether port can be bound on 127.0.0.1 for TCP and UDP.
func portFree(port int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux;
// 32768 elsewhere, the usual default).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}

// Eventually polls cond until it reports true, failing the test with what
// cond last said when timeout passes. Tests wait for real peers and
// processes this way: with a deadline, never a fixed sleep.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, state)
			return
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

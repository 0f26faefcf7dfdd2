package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// syncBuffer is a bytes.Buffer safe for the command's writer and the test's
// reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// runSimulate starts `simulate args...` and waits for its ready line.
func runSimulate(t *testing.T, args ...string) (out *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, append([]string{"simulate"}, args...), out, out) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "simulating;") {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("simulate exited with %d: %s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("simulate did not become ready: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

var addrLine = regexp.MustCompile(`(?m)^(snmp|ntp)\s+(\S+)\s+127\.0\.0\.1:(\d+)$`)

func TestSimulateOneDevice(t *testing.T) {
	out, stop := runSimulate(t, "--interfaces", "30", "--listen", "127.0.0.1:0", "--name", "lab-1",
		"--v3-user", "ops", "--v3-auth-pass", "ops-auth-pass", "--v3-priv-pass", "ops-priv-pass")
	m := addrLine.FindStringSubmatch(out.String())
	if m == nil || m[2] != "lab-1" {
		t.Fatalf("no address line for lab-1 in %q", out.String())
	}
	port, _ := strconv.Atoi(m[3])
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Version: gosnmp.Version2c, Community: "public", Timeout: time.Second, Retries: 1}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	r, err := g.Get([]string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.2.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Variables[0].Value.([]byte)) != "lab-1" || r.Variables[1].Value.(int) != 30 {
		t.Errorf("device answers %v", r.Variables)
	}
	g3 := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Version: gosnmp.Version3, Timeout: time.Second,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv, SecurityParameters: &gosnmp.UsmSecurityParameters{
			UserName: "ops", AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: "ops-auth-pass",
			PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "ops-priv-pass"}}
	if err := g3.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g3.Conn.Close()
	if _, err := g3.Get([]string{".1.3.6.1.2.1.1.5.0"}); err != nil {
		t.Errorf("v3: %v", err)
	}
	if code := stop(); code != 0 {
		t.Errorf("simulate exited with %d after interrupt: %s", code, out.String())
	}
	if strings.Contains(out.String(), "ops-priv-pass") || strings.Contains(out.String(), "ops-auth-pass") {
		t.Error("a passphrase was printed")
	}
}

func TestSimulateSite(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "targets.yaml")
	out, stop := runSimulate(t, "--site", "--agent-config", cfg)
	lines := addrLine.FindAllStringSubmatch(out.String(), -1)
	if len(lines) != 9 {
		t.Fatalf("%d address lines, want 9: %s", len(lines), out.String())
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if !strings.Contains(string(b), "name: "+l[2]+"\n") || !strings.Contains(string(b), "port: "+l[3]+"\n") {
			t.Errorf("agent config misses %s at port %s:\n%s", l[2], l[3], b)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestSimulateBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"simulate", "--listen", "nonsense"},
		{"simulate", "--interfaces", "5", "--listen", "127.0.0.1:0", "--max-msg-size", "100"},
		{"simulate", "--spec", "/nonexistent.yaml"},
	} {
		var out bytes.Buffer
		if code := Main(context.Background(), args, &out, &out); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, out.String())
		}
	}
}

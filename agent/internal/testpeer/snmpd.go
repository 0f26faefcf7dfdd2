package testpeer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// SNMPD is a running net-snmp snmpd on 127.0.0.1.
type SNMPD struct {
	Host      string // always 127.0.0.1
	Port      int    // UDP port
	Community string // v2c read-only community
	User      string // v3 authPriv user (SHA / AES)
	AuthPass  string // v3 authentication passphrase
	PrivPass  string // v3 privacy passphrase
	SysName   string // the sysName.0 the daemon reports
	LogFile   string // the daemon's log (-Lf)

	cmd *exec.Cmd
}

// SNMPDConfig chooses the credentials; zero fields get test defaults.
type SNMPDConfig struct {
	Community string // default "outpost-ro"
	User      string // default "outpost"
	AuthPass  string // default "authpass-0123" (at least 8 characters)
	PrivPass  string // default "privpass-4567" (at least 8 characters)
	SysName   string // default "test-device"
}

// Addr returns "127.0.0.1:PORT".
func (s *SNMPD) Addr() string { return s.Host + ":" + strconv.Itoa(s.Port) }

// StartSNMPD starts snmpd with its own configuration (-C, so the system's
// files are ignored), a v2c community, and a v3 authPriv user created with
// createUser (SHA, AES) in a private persistent directory. It returns once
// snmpget answers, or fails the test after 15 s. The daemon is killed in
// t.Cleanup; its log is printed if the test failed.
func StartSNMPD(t testing.TB, cfg SNMPDConfig) *SNMPD {
	t.Helper()
	snmpd := testbed.RequireTool(t, "snmpd", "/usr/sbin/snmpd")
	snmpget := testbed.RequireTool(t, "snmpget")
	if cfg.Community == "" {
		cfg.Community = "outpost-ro"
	}
	if cfg.User == "" {
		cfg.User = "outpost"
	}
	if cfg.AuthPass == "" {
		cfg.AuthPass = "authpass-0123"
	}
	if cfg.PrivPass == "" {
		cfg.PrivPass = "privpass-4567"
	}
	if cfg.SysName == "" {
		cfg.SysName = "test-device"
	}
	dir := t.TempDir()
	s := &SNMPD{
		Host: "127.0.0.1", Community: cfg.Community, User: cfg.User,
		AuthPass: cfg.AuthPass, PrivPass: cfg.PrivPass, SysName: cfg.SysName,
		LogFile: filepath.Join(dir, "snmpd.log"),
	}
	var lastErr error
	// A free port can be taken between the probe and snmpd's bind; retry a few.
	for attempt := 0; attempt < 3; attempt++ {
		s.Port = testbed.FreeUDPPort(t)
		if lastErr = s.start(t, snmpd, snmpget, dir); lastErr == nil {
			return s
		}
	}
	t.Fatalf("snmpd did not start: %v\n%s", lastErr, s.log())
	return nil
}

func (s *SNMPD) start(t testing.TB, snmpd, snmpget, dir string) error {
	t.Helper()
	persist := filepath.Join(dir, fmt.Sprintf("persist-%d", s.Port))
	if err := os.MkdirAll(persist, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(dir, "snmpd.conf")
	text := fmt.Sprintf(`agentAddress udp:127.0.0.1:%d
rocommunity %s 127.0.0.1
createUser %s SHA "%s" AES "%s"
rouser %s priv
sysName %s
sysLocation outpost test bed
sysContact outpost-tests
`, s.Port, s.Community, s.User, s.AuthPass, s.PrivPass, s.User, s.SysName)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(snmpd, "-f", "-C", "-c", conf, "-Lf", s.LogFile,
		"-p", filepath.Join(dir, "snmpd.pid"), "--persistentDir="+persist)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start snmpd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		out, err := exec.CommandContext(ctx, snmpget, "-v2c", "-c", s.Community, "-t", "0.3", "-r", "0",
			"-On", s.Addr(), "1.3.6.1.2.1.1.5.0").CombinedOutput()
		cancel()
		if err == nil && bytes.Contains(out, []byte(s.SysName)) {
			break
		}
		select {
		case werr := <-exited:
			exited <- werr
			return fmt.Errorf("snmpd exited early: %v", werr)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("snmpd on %s did not answer within 15s (last snmpget: %v %s)", s.Addr(), err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cmd = cmd
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("snmpd log (%s):\n%s", s.LogFile, s.log())
		}
	})
	return nil
}

func (s *SNMPD) log() string {
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

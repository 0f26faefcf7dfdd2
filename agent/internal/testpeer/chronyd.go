package testpeer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// Chrony is a pair of chronyd on loopback:
//
//   - A serves NTP on 127.0.0.1:NTPPort from its local clock at stratum 8
//     (it answers mode 3 client requests; no command port);
//   - B follows A (stratum 9), answers chrony commands on
//     127.0.0.1:CmdPort (cmdallow 127.0.0.1), and has two more sources
//     that never answer: 127.0.0.3 (nothing listens there; reach 0) and a
//     shared-memory reference clock nobody feeds (refid GPS).
//
// Neither touches this machine's clock (-x), both keep their pid, drift
// and state under a directory of their own, and neither talks to anything
// outside 127.0.0.0/8. Debian's chrony package conflicts with ntpsec, so
// the binaries come from an extracted package: $OUTPOST_CHRONYD and
// $OUTPOST_CHRONYC (.ci/run and the Makefile set them), else chronyd and
// chronyc on PATH, else /opt/chrony/usr/sbin/chronyd and
// /opt/chrony/usr/bin/chronyc (where .ci/run extracts them).
type Chrony struct {
	NTPAddr     string // A: 127.0.0.1:NTPPort (mode 3)
	CmdAddr     string // B: 127.0.0.1:CmdPort (chrony commands)
	NTPPort     int
	CmdPort     int
	ChronycPath string // path of chronyc, to compare with
	// Silent is an address on loopback (127.0.0.3) that B has as a
	// source and where nothing answers.
	Silent string

	dir  string
	a, b *daemon
}

type daemon struct {
	name, log string
	cmd       *exec.Cmd
	done      chan error
}

// Deadlines.
const (
	chronySyncWait  = 30 * time.Second // B selects A within about 5 s
	chronyStopGrace = 5 * time.Second
)

// Binary locations (see Chrony).
const (
	envChronyd     = "OUTPOST_CHRONYD"
	envChronyc     = "OUTPOST_CHRONYC"
	defaultChronyd = "/opt/chrony/usr/sbin/chronyd"
	defaultChronyc = "/opt/chrony/usr/bin/chronyc"
)

// ChronyBinaries returns the paths of chronyd and chronyc (see Chrony),
// or an error wrapping errMissing.
func chronyBinaries() (chronyd, chronyc string, err error) {
	find := func(env, name, fallback string) (string, error) {
		if p := os.Getenv(env); p != "" {
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("%w: $%s=%s: %v", errMissing, env, p, err)
			}
			return p, nil
		}
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		if _, err := os.Stat(fallback); err == nil {
			return fallback, nil
		}
		return "", fmt.Errorf("%w: %s not found ($%s, PATH, %s); .ci/run extracts Debian's chrony package to /opt/chrony", errMissing, name, env, fallback)
	}
	if chronyd, err = find(envChronyd, "chronyd", defaultChronyd); err != nil {
		return "", "", err
	}
	chronyc, err = find(envChronyc, "chronyc", defaultChronyc)
	return chronyd, chronyc, err
}

// FindChronyc returns chronyc's path, or stops the test through
// testbed.Missing.
func FindChronyc(t testing.TB) string {
	t.Helper()
	_, c, err := chronyBinaries()
	if err != nil {
		testbed.Missing(t, "chrony: %v", err)
	}
	return c
}

// SharedChrony starts one pair for a whole test binary on first use (see
// SharedNTPD for the TestMain pattern).
type SharedChrony struct {
	once sync.Once
	c    *Chrony
	err  error
}

// Get returns the shared pair, starting it on the first call; a missing
// chronyd skips the test (fails with CI=true); a pair that never
// synchronised fails it with both logs.
func (s *SharedChrony) Get(t testing.TB) *Chrony {
	t.Helper()
	s.once.Do(func() { s.c, s.err = startChrony() })
	if s.err != nil {
		if errors.Is(s.err, errMissing) {
			testbed.Missing(t, "chronyd: %v", s.err)
		}
		t.Fatalf("chronyd: %v", s.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chronyd A log:\n%s\nchronyd B log:\n%s", readLog(s.c.a.log), readLog(s.c.b.log))
		}
	})
	return s.c
}

// Stop kills the pair if it was started. Safe to call always.
func (s *SharedChrony) Stop() {
	s.once.Do(func() {})
	if s.c != nil {
		s.c.stop()
		s.c = nil
	}
}

// StartChrony starts a pair for one test and stops it in t.Cleanup.
func StartChrony(t testing.TB) *Chrony {
	t.Helper()
	var s SharedChrony
	t.Cleanup(s.Stop)
	return s.Get(t)
}

const chronyConfA = `# A: serves NTP from its local clock, no command port.
local stratum 8
port %d
bindaddress 127.0.0.1
allow 127.0.0.1
cmdport 0
bindcmdaddress /
pidfile %s/a.pid
driftfile %s/a.drift
`

const chronyConfB = `# B: follows A, answers commands on loopback.
server 127.0.0.1 port %d iburst minpoll 0 maxpoll 0
server 127.0.0.3 port %d minpoll 0 maxpoll 0
refclock SHM 2 refid GPS poll 0
port 0
cmdport %d
bindcmdaddress 127.0.0.1
bindcmdaddress /
cmdallow 127.0.0.1
pidfile %s/b.pid
driftfile %s/b.drift
`

func startChrony() (*Chrony, error) {
	chronyd, chronyc, err := chronyBinaries()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: chronyd -u root needs root (running as uid %d)", errMissing, os.Geteuid())
	}
	ntpPort, err := freeUDP()
	if err != nil {
		return nil, err
	}
	cmdPort, err := freeUDP()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "outpost-chronyd-")
	if err != nil {
		return nil, err
	}
	c := &Chrony{
		NTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ntpPort)), CmdAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(cmdPort)),
		NTPPort: ntpPort, CmdPort: cmdPort, ChronycPath: chronyc, Silent: "127.0.0.3", dir: dir,
	}
	confA := filepath.Join(dir, "a.conf")
	confB := filepath.Join(dir, "b.conf")
	if err := os.WriteFile(confA, []byte(fmt.Sprintf(chronyConfA, ntpPort, dir, dir)), 0o644); err != nil {
		c.stop()
		return nil, err
	}
	if err := os.WriteFile(confB, []byte(fmt.Sprintf(chronyConfB, ntpPort, ntpPort, cmdPort, dir, dir)), 0o644); err != nil {
		c.stop()
		return nil, err
	}
	if c.a, err = startDaemon(chronyd, "a", confA, dir); err != nil {
		c.stop()
		return nil, err
	}
	if c.b, err = startDaemon(chronyd, "b", confB, dir); err != nil {
		c.stop()
		return nil, err
	}
	deadline := time.Now().Add(chronySyncWait)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := c.Chronyc(ctx, "sources")
		cancel()
		last = out
		if err == nil && strings.Contains(out, "^* 127.0.0.1 ") {
			return c, nil
		}
		for _, d := range []*daemon{c.a, c.b} {
			select {
			case werr := <-d.done:
				d.done <- werr
				logs := readLog(d.log)
				c.stop()
				return nil, fmt.Errorf("chronyd %s exited early (%v); log:\n%s", d.name, werr, logs)
			default:
			}
		}
		if time.Now().After(deadline) {
			logs := "A:\n" + readLog(c.a.log) + "\nB:\n" + readLog(c.b.log)
			c.stop()
			return nil, fmt.Errorf("chronyd B did not select A within %v; last chronyc sources:\n%s\n%s", chronySyncWait, last, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freeUDP() (int, error) {
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.LocalAddr().(*net.UDPAddr).Port, nil
}

func startDaemon(chronyd, name, conf, dir string) (*daemon, error) {
	d := &daemon{name: name, log: filepath.Join(dir, name+".log")}
	logf, err := os.Create(d.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	d.cmd = exec.Command(chronyd, "-f", conf, "-d", "-x", "-u", "root")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start chronyd %s: %w", name, err)
	}
	d.done = make(chan error, 1)
	go func() { d.done <- d.cmd.Wait() }()
	return d, nil
}

func readLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// Chronyc runs `chronyc -h 127.0.0.1 -p CmdPort -n ARGS...` against B.
func (c *Chrony) Chronyc(ctx context.Context, args ...string) (string, error) {
	full := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(c.CmdPort), "-n"}, args...)
	out, err := exec.CommandContext(ctx, c.ChronycPath, full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("chronyc %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (c *Chrony) stop() {
	for _, d := range []*daemon{c.b, c.a} {
		if d == nil || d.cmd == nil || d.cmd.Process == nil {
			continue
		}
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(chronyStopGrace):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

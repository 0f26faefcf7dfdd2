package testpeer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// NTPD is a running ntpsec ntpd answering mode 6 on 127.0.0.1:123. Its
// associations: a LOCAL refclock at stratum 5 that becomes the system peer
// (LOCAL(0)), and an SHM refclock nobody feeds (SHM(0), reach 0). It never
// steers this machine's clock (disable ntp) and talks to nothing outside
// the machine.
type NTPD struct {
	Addr    string // always "127.0.0.1:123"
	Ntpq    string // path of ntpq, to compare with
	LogFile string // ntpd's log (-l)

	dir  string
	cmd  *exec.Cmd
	done chan error
	lock *os.File
}

// ntpdConf is the verified loopback-only configuration: ntpd listens on
// 127.0.0.1 only and answers nobody else.
const ntpdConf = `interface ignore wildcard
interface listen 127.0.0.1
restrict default
restrict 127.0.0.1
refclock local stratum 5 minpoll 3 maxpoll 3
refclock shm unit 0 refid PPS minpoll 3 maxpoll 3
tos orphanwait 1
disable ntp
driftfile %s
`

// lockPath serialises ntpd across test binaries: go test runs packages in
// parallel, and only one daemon can own 127.0.0.1:123.
const lockPath = "/tmp/outpost-testpeer-ntpd.lock"

// Deadlines.
const (
	ntpdLockWait  = 4 * time.Minute  // another test binary's daemon may hold the port
	ntpdSyncWait  = 30 * time.Second // LOCAL(0) normally is the system peer in ~5-10 s
	ntpdStopGrace = 5 * time.Second
)

// errMissing marks reasons that skip (dev machine) rather than fail.
var errMissing = errors.New("missing")

// SharedNTPD starts one ntpd for a whole test binary, on first use. Tests
// call Get; the package's TestMain calls Stop after m.Run:
//
//	var ntpd testpeer.SharedNTPD
//	func TestMain(m *testing.M) { code := m.Run(); ntpd.Stop(); os.Exit(code) }
//
// Tests that use it must not call t.Parallel with each other (they share
// one daemon's state, which is fine for reads).
type SharedNTPD struct {
	once sync.Once
	d    *NTPD
	err  error
}

// Get returns the shared daemon, starting it on the first call. If the
// daemon cannot run here (not root, port 123 taken, ntpd not installed) the
// test is skipped (failed with CI=true) with the reason; if it started but
// never selected a system peer, the test fails with ntpd's log.
func (s *SharedNTPD) Get(t testing.TB) *NTPD {
	t.Helper()
	s.once.Do(func() { s.d, s.err = startNTPD() })
	if s.err != nil {
		if errors.Is(s.err, errMissing) {
			testbed.Missing(t, "ntpd: %v", s.err)
		}
		t.Fatalf("ntpd: %v", s.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ntpd log (%s):\n%s", s.d.LogFile, s.d.Log())
		}
	})
	return s.d
}

// Stop kills the shared daemon if it was started. Safe to call always.
func (s *SharedNTPD) Stop() {
	s.once.Do(func() {}) // no start after Stop
	if s.d != nil {
		s.d.stop()
		s.d = nil
	}
}

// StartNTPD starts a daemon for one test and kills it in t.Cleanup; see
// SharedNTPD for more than one test per binary.
func StartNTPD(t testing.TB) *NTPD {
	t.Helper()
	var s SharedNTPD
	t.Cleanup(s.Stop) // registered first so it runs after Get's log dump
	return s.Get(t)
}

func startNTPD() (*NTPD, error) {
	ntpd, err := exec.LookPath("ntpd")
	if err != nil {
		if ntpd, err = exec.LookPath("/usr/sbin/ntpd"); err != nil {
			return nil, fmt.Errorf("%w: ntpd (ntpsec) is not installed", errMissing)
		}
	}
	ntpq, err := exec.LookPath("ntpq")
	if err != nil {
		return nil, fmt.Errorf("%w: ntpq (ntpsec) is not installed", errMissing)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: ntpd must bind 127.0.0.1:123, which needs root (running as uid %d)", errMissing, os.Geteuid())
	}
	lock, err := acquireLock(ntpdLockWait)
	if err != nil {
		return nil, err
	}
	// Is the port free? Another NTP daemon (a system one) makes the test
	// meaningless; say so rather than talk to it.
	probe, err := net.ListenPacket("udp", "127.0.0.1:123")
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w: 127.0.0.1:123 is taken (is a system ntpd/chronyd running? stop it): %v", errMissing, err)
	}
	probe.Close()

	dir, err := os.MkdirTemp("", "outpost-ntpd-")
	if err != nil {
		lock.Close()
		return nil, err
	}
	d := &NTPD{Addr: "127.0.0.1:123", Ntpq: ntpq, LogFile: filepath.Join(dir, "ntpd.log"), dir: dir, lock: lock}
	conf := filepath.Join(dir, "ntp.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(ntpdConf, filepath.Join(dir, "drift"))), 0o644); err != nil {
		d.cleanup()
		return nil, err
	}
	d.cmd = exec.Command(ntpd, "-n", "-c", conf, "-l", d.LogFile, "-p", filepath.Join(dir, "ntpd.pid"))
	// If the test binary dies without cleanup, take ntpd with it: a stray
	// daemon would hold port 123 for every later run.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		d.cleanup()
		return nil, fmt.Errorf("start ntpd: %w", err)
	}
	d.done = make(chan error, 1)
	go func() { d.done <- d.cmd.Wait() }()

	deadline := time.Now().Add(ntpdSyncWait)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := exec.CommandContext(ctx, ntpq, "-pn", "127.0.0.1").CombinedOutput()
		cancel()
		last = string(out)
		if err == nil && hasSystemPeer(last) {
			return d, nil
		}
		select {
		case werr := <-d.done:
			d.done <- werr
			log := d.Log()
			d.stop()
			return nil, fmt.Errorf("ntpd exited early (%v); log:\n%s", werr, log)
		default:
		}
		if time.Now().After(deadline) {
			log := d.Log()
			d.stop()
			return nil, fmt.Errorf("no system peer within %v; last ntpq -pn:\n%s\nntpd log:\n%s", ntpdSyncWait, last, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hasSystemPeer reports whether ntpq -p output has a row with tally '*'.
func hasSystemPeer(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "*") {
			return true
		}
	}
	return false
}

func acquireLock(wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("ntpd lock %s: %w", lockPath, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("ntpd lock %s: %w", lockPath, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w: another test binary held the ntpd lock %s for %v", errMissing, lockPath, wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log returns the daemon's log so far.
func (d *NTPD) Log() string {
	b, err := os.ReadFile(d.LogFile)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// Ntpqpn runs `ntpq -pn 127.0.0.1` and returns its output.
func (d *NTPD) Ntpqpn(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, d.Ntpq, "-pn", "127.0.0.1").CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ntpq -pn: %w: %s", err, out)
	}
	return string(out), nil
}

func (d *NTPD) stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(ntpdStopGrace):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
	d.cleanup()
}

func (d *NTPD) cleanup() {
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
	if d.lock != nil {
		d.lock.Close() // releases the flock
		d.lock = nil
	}
}

// ClaimNTPPort gives the test 127.0.0.1:123 for a server of its own (the
// simulator, to be read by the real ntpq, which only talks to port 123):
// it takes the lock StartNTPD uses, checks that the test runs as root and
// that the port is free, and releases the lock in t.Cleanup. Missing
// (skip, or fail in CI) when the port cannot be had.
func ClaimNTPPort(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testbed.Missing(t, "binding 127.0.0.1:123 needs root (running as uid %d)", os.Geteuid())
	}
	lock, err := acquireLock(ntpdLockWait)
	if err != nil {
		testbed.Missing(t, "%v", err)
	}
	t.Cleanup(func() { lock.Close() })
	probe, err := net.ListenPacket("udp", "127.0.0.1:123")
	if err != nil {
		testbed.Missing(t, "127.0.0.1:123 is taken (is a system ntpd/chronyd running? stop it): %v", err)
	}
	probe.Close()
	return "127.0.0.1:123"
}

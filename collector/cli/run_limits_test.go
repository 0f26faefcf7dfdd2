package cli

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/web"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

// collectorChild is `outpost-collector run` in a child process (this test
// binary re-executed through cli.Main, as TestRunSurvivesKill9 does, or
// the binary in OUTPOST_COLLECTOR_BIN), with its log on stderr.
type collectorChild struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	exit chan error // receives Wait's result once the process ends
}

// startCollector starts the collector on cfgPath; nofile > 0 runs it under
// prlimit with that many open files (soft and hard).
func startCollector(t *testing.T, cfgPath string, nofile int) *collectorChild {
	t.Helper()
	args := []string{os.Args[0], "-test.run=^TestRunSurvivesKill9$"}
	env := append(os.Environ(), testbed.CrashChildEnv(cfgPath))
	if bin := os.Getenv("OUTPOST_COLLECTOR_BIN"); bin != "" {
		args = []string{bin, "run", "-c", cfgPath}
	}
	if nofile > 0 {
		prlimit := testbed.RequireTool(t, "prlimit")
		args = append([]string{prlimit, fmt.Sprintf("--nofile=%d:%d", nofile, nofile)}, args...)
	}
	c := &collectorChild{cmd: exec.Command(args[0], args[1:]...), exit: make(chan error, 1)}
	c.cmd.Env = env
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.log.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
		}
		c.exit <- c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exit:
		case <-time.After(30 * time.Second):
			c.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("collector log:\n%s", c.logText())
		}
	})
	return c
}

func (c *collectorChild) logText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// waitLog waits for a log line matching re and returns its submatches.
func (c *collectorChild) waitLog(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(c.logText()); m != nil {
			return m
		}
		select {
		case err := <-c.exit:
			c.exit <- err
			t.Fatalf("the collector exited (%v) before logging %s", err, re)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no log line %s", re)
	return nil
}

// running fails the test if the collector has exited.
func (c *collectorChild) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.exit:
		c.exit <- err
		t.Fatalf("the collector exited: %v", err)
	default:
	}
}

// openFDs counts the child's open file descriptors (of the collector
// itself: prlimit execs it in place).
func (c *collectorChild) openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// limitsConfig writes a collector configuration with every listener on
// loopback and ca init done.
func limitsConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`name: limits
data_dir: %s
listen: {quic: "127.0.0.1:0", tcp: "127.0.0.1:0"}
metrics: {listen: "off"}
log: {format: text}
%s`, dir, extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCollector(t, "", "ca", "init", "-c", cfgPath); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// dialFrom opens a TCP connection from a loopback address of its own.
func dialFrom(from, to string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", to)
}

func getFrom(from, url string, timeout time.Duration) (int, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}}
	res, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// Idle and slow web clients cannot exhaust the collector: it runs with 160
// open files, and web.max_connections 1000 is lowered to half of that;
// one address gets a quarter of the connections, the rest are closed at
// once; a client that sends nothing is cut after the header timeout, so a
// client arriving while every connection is taken is served within it.
// Through the real `outpost-collector run`.
func TestRunSlowWebClients(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a collector process")
	}
	cfg := limitsConfig(t, "web: {listen: \"127.0.0.1:0\", max_connections: 1000}\n")
	c := startCollector(t, cfg, 160)
	webAddr := c.waitLog(t, regexp.MustCompile(`msg="web UI listening" addr=(\S+)`))[1]
	if m := c.waitLog(t, regexp.MustCompile(`msg="web.max_connections is more than half the open file limit; lowered" max_connections=1000 limit=(\d+) using=(\d+)`)); m[1] != "160" || m[2] != "80" {
		t.Fatalf("limit %s, using %s", m[1], m[2])
	}
	base := c.openFDs(t)

	// 25 idle connections from each of 127.0.0.1..6: 20 a address are
	// taken, the others closed at once, until all 80 are taken.
	var idle []net.Conn
	defer func() {
		for _, conn := range idle {
			conn.Close()
		}
	}()
	for h := 1; h <= 6; h++ {
		for i := 0; i < 25; i++ {
			conn, err := dialFrom(fmt.Sprintf("127.0.0.%d", h), webAddr)
			if err != nil {
				t.Fatal(err)
			}
			idle = append(idle, conn)
		}
	}
	start := time.Now()
	if fds := c.openFDs(t); fds > base+80+5 {
		t.Errorf("%d open files with 150 idle clients (%d before): connections beyond the limit hold descriptors", fds, base)
	}
	// A client from a seventh address waits for a slot: the idle ones are
	// cut after web.ReadHeaderTimeout.
	code, err := getFrom("127.0.0.7", "http://"+webAddr+"/login", web.ReadHeaderTimeout+10*time.Second)
	if err != nil || code != http.StatusOK {
		t.Fatalf("a new client while idle ones hold every connection: %d %v", code, err)
	}
	if el := time.Since(start); el > web.ReadHeaderTimeout+8*time.Second {
		t.Errorf("served after %v", el)
	}
	// The idle connections were closed by the collector.
	closed := 0
	for _, conn := range idle {
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := conn.Read(make([]byte, 512)); err == io.EOF || err != nil && !isTimeout(err) {
			closed++
		}
	}
	if closed < 80 {
		t.Errorf("only %d of %d idle connections were closed by the collector", closed, len(idle))
	}
	c.running(t)
	if code, err := getFrom("127.0.0.1", "http://"+webAddr+"/login", 5*time.Second); err != nil || code != http.StatusOK {
		t.Fatalf("after the idle clients: %d %v", code, err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// With its open files used up (a low RLIMIT_NOFILE and agents' TCP
// connections piling up), accept fails with "too many open files" on the
// ingest listener. The collector logs it, backs off and goes on; once the
// connections close it accepts agents and serves the web again. Before,
// the first such error stopped the whole collector.
func TestRunSurvivesFDExhaustion(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a collector process")
	}
	cfg := limitsConfig(t, "web: {listen: \"127.0.0.1:0\"}\n")
	c := startCollector(t, cfg, 96)
	webAddr := c.waitLog(t, regexp.MustCompile(`msg="web UI listening" addr=(\S+)`))[1]
	tcpAddr := c.waitLog(t, regexp.MustCompile(`transport=tcp addr=(\S+)`))[1]
	var conns []net.Conn
	for i := 0; i < 150; i++ {
		conn, err := net.DialTimeout("tcp", tcpAddr, 5*time.Second)
		if err != nil {
			break // the kernel's backlog is full: enough
		}
		conns = append(conns, conn)
	}
	c.waitLog(t, regexp.MustCompile(`msg="accept failed; retrying" listener="ingest tcp" err=.*too many open files`))
	time.Sleep(300 * time.Millisecond) // a few more rounds of backoff
	c.running(t)
	for _, conn := range conns {
		conn.Close()
	}
	// Agents are accepted again: the TLS handshake starts (the collector
	// refuses a client without a certificate, but it answers).
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", tcpAddr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.ALPN}})
		if err == nil {
			conn.Close()
			break
		}
		if !strings.Contains(err.Error(), "certificate") && time.Now().After(deadline) {
			t.Fatalf("the ingest listener after the exhaustion: %v", err)
		}
		if strings.Contains(err.Error(), "certificate") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, err := getFrom("127.0.0.1", "http://"+webAddr+"/login", 5*time.Second); err != nil || code != http.StatusOK {
		t.Fatalf("the web after the exhaustion: %d %v", code, err)
	}
	c.running(t)
	if m := regexp.MustCompile(`msg="open file limit" soft=(\d+)`).FindStringSubmatch(c.logText()); m == nil || m[1] != strconv.Itoa(96) {
		t.Errorf("open file limit not logged as 96: %v", m)
	}
}

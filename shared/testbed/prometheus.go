package testbed

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Prometheus is a Prometheus server on loopback with the remote-write
// receiver on, its own temporary storage and no scrape targets.
type Prometheus struct {
	t    testing.TB
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
	logf *os.File
}

// StartPrometheus starts Debian's prometheus on a free loopback port and
// waits until it is ready; it is stopped at the end of the test.
func StartPrometheus(t testing.TB) *Prometheus {
	t.Helper()
	p := &Prometheus{t: t, bin: RequireTool(t, "prometheus"), dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(p.dir, "prometheus.yml"), []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.addr = fmt.Sprintf("127.0.0.1:%d", FreeTCPPort(t))
	t.Cleanup(p.Stop)
	p.Start()
	return p
}

// URL is the server's base URL.
func (p *Prometheus) URL() string { return "http://" + p.addr }

// WriteURL is the remote-write receiver's URL.
func (p *Prometheus) WriteURL() string { return p.URL() + "/api/v1/write" }

// Log returns what the server logged so far.
func (p *Prometheus) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "prometheus.log"))
	return string(b)
}

// Start starts the server (again, after Stop: same port and storage).
func (p *Prometheus) Start() {
	p.t.Helper()
	if p.cmd != nil {
		p.t.Fatal("prometheus already running")
	}
	lf, err := os.OpenFile(filepath.Join(p.dir, "prometheus.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(p.bin, "--config.file="+filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(p.dir, "data"), "--web.listen-address="+p.addr,
		"--web.enable-remote-write-receiver", "--log.level=warn", "--storage.tsdb.retention.time=30d")
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		p.t.Fatal(err)
	}
	p.cmd, p.logf = cmd, lf
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(p.URL() + "/-/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("prometheus did not become ready: %v\n%s", err, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server gracefully (SIGTERM, so its WAL is complete) and
// waits for it.
func (p *Prometheus) Stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	p.logf.Close()
	p.cmd, p.logf = nil, nil
}

// Sample is one value of an instant-query result.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant PromQL query at time at and returns the vector.
func (p *Prometheus) Query(query string, at time.Time) []Sample {
	p.t.Helper()
	q := url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1e3, 'f', 3, 64)}}
	res, err := http.Get(p.URL() + "/api/v1/query?" + q.Encode())
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		p.t.Fatalf("query %q: %v %s %s", query, err, r.Error, body)
	}
	var out []Sample
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			p.t.Fatalf("query %q: value %v", query, s.Value[1])
		}
		out = append(out, Sample{Metric: s.Metric, Value: v})
	}
	return out
}

// CPUSeconds returns the CPU time (user + system) the running server has
// used, from /proc (Linux); 0 when it is not running or not readable.
func (p *Prometheus) CPUSeconds() float64 {
	if p.cmd == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which ends at the last ')'): state is
	// field 3, utime 14, stime 15, in clock ticks (100 per second on Linux).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

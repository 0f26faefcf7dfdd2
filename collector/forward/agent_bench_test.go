//go:build linux

package forward

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// BenchmarkPrometheusAgentForwarding is the reference for the forwarder's
// CPU per million samples: Prometheus 2.42 in agent mode scraping the
// same 12,000 interface counter series (1,000 interfaces × 12) every
// second and remote-writing them to a Prometheus receiver on loopback,
// for 20 s. The agent's work per sample (scrape and parse, its WAL, read
// back, encode, send) is the same kind as the forwarder's (journal read,
// decode, encode, send). Reported: samples/s the agent sent and its CPU
// seconds per million samples. Run with -benchtime 1x.
func BenchmarkPrometheusAgentForwarding(b *testing.B) {
	bin := testbed.RequireTool(b, "prometheus")
	recv := testbed.StartPrometheus(b)
	var scrapes atomic.Int64
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := scrapes.Add(1)
		bw := bufio.NewWriterSize(w, 1<<20)
		names := make([]string, 0, len(ifCounters))
		for ds := range ifCounters {
			names = append(names, ds)
		}
		for k := range 1000 {
			for d, ds := range names {
				fmt.Fprintf(bw, "%s{host=\"r%d\",ifIndex=\"%d\",ifName=\"ge-0/0/%d\"} %d\n", ifCounters[ds][1], k/100, k, k, n*1000+int64(k+d))
			}
		}
		bw.Flush()
	}))
	defer exporter.Close()
	dir := b.TempDir()
	conf := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 900ms}
scrape_configs:
  - job_name: ifs
    static_configs: [{targets: [%q]}]
remote_write:
  - url: %s
`, strings.TrimPrefix(exporter.URL, "http://"), recv.WriteURL())
	os.WriteFile(filepath.Join(dir, "agent.yml"), []byte(conf), 0o644)
	addr := fmt.Sprintf("127.0.0.1:%d", testbed.FreeTCPPort(b))
	cmd := exec.Command(bin, "--enable-feature=agent", "--config.file="+filepath.Join(dir, "agent.yml"),
		"--storage.agent.path="+filepath.Join(dir, "wal"), "--web.listen-address="+addr, "--log.level=warn")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sent := func() float64 {
		res, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return -1
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(l, "prometheus_remote_storage_samples_total{") || strings.HasPrefix(l, "prometheus_remote_storage_succeeded_samples_total{") {
				v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
				return v
			}
		}
		return 0
	}
	cpu := func() float64 {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		s := string(raw)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		return (ut + st) / 100
	}
	deadline := time.Now().Add(30 * time.Second)
	for sent() <= 0 {
		if time.Now().After(deadline) {
			b.Fatal("the agent sent nothing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.ResetTimer()
	s0, c0, t0 := sent(), cpu(), time.Now()
	time.Sleep(20 * time.Second)
	s1, c1, el := sent(), cpu(), time.Since(t0)
	b.StopTimer()
	n := s1 - s0
	if n <= 0 {
		b.Fatalf("the agent sent %v samples in %v", n, el)
	}
	b.ReportMetric(n/el.Seconds(), "samples/s")
	b.ReportMetric((c1-c0)/n*1e6, "agent-cpu-s/Msamples")
}

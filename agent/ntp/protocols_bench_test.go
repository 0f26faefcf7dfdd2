package ntp_test

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/ntp/sntp"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// BenchmarkChronyPoll times one poll of a ChronyTarget against the real
// chronyd B (tracking, then sources and sourcestats of its 3 sources: 8
// round trips), and in the same run what an operator's script does:
// `chronyc -n sources` plus `chronyc -n tracking` (process start
// included). Metric: ms/poll.
func BenchmarkChronyPoll(b *testing.B) {
	if testing.Short() {
		b.Skip("needs chronyd")
	}
	c := chronyd.Get(b)
	host, port := splitAddrB(b, c.CmdAddr)
	tg, err := ntp.New(config.NTPTarget{Name: "bench", Address: host, ChronyPort: port, Protocol: "chrony"}, ntp.TargetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	sink := poll.SinkFunc(func(poll.Report) {})
	b.Run("outpost", func(b *testing.B) {
		for b.Loop() {
			if err := tg.Poll(context.Background(), sink); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/poll")
	})
	b.Run("chronyc", func(b *testing.B) {
		for b.Loop() {
			for _, cmd := range []string{"sources", "tracking"} {
				if out, err := exec.Command(c.ChronycPath, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-n", cmd).CombinedOutput(); err != nil {
					b.Fatalf("chronyc %s: %v %s", cmd, err, out)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/poll")
	})
}

// BenchmarkSNTPPoll times plain client queries of the test ntpd on
// 127.0.0.1:123 (ntpdate only talks to port 123): one request against
// `ntpdate -q` (ntpsec's shim for ntpdig, 1 sample; Debian's sntp package
// installs the same ntpdig as sntp), and the
// agent's poll (4 samples 200 ms apart) against `ntpdig -p 4 -g 200`.
// Metric: ms/poll.
func BenchmarkSNTPPoll(b *testing.B) {
	if testing.Short() {
		b.Skip("needs ntpd")
	}
	d := ntpd.Get(b)
	one := sntp.Client{Addr: d.Addr, Samples: 1}
	four := sntp.Client{Addr: d.Addr, Samples: 4, Gap: 200 * time.Millisecond}
	query := func(c sntp.Client) func(*testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Query(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/poll")
		}
	}
	tool := func(args ...string) func(*testing.B) {
		return func(b *testing.B) {
			path := testbed.RequireTool(b, args[0])
			for b.Loop() {
				// The test ntpd never clears its leap alarm (disable ntp):
				// ntpdig takes the reply, then refuses it and exits 1.
				out, err := exec.Command(path, args[1:]...).CombinedOutput()
				if err != nil && !strings.Contains(string(out), "Response dropped: leap not in sync") {
					b.Fatalf("%v: %v %s", args, err, out)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/poll")
		}
	}
	b.Run("outpost-1-sample", query(one))
	b.Run("ntpdate-q", tool("ntpdate", "-q", "127.0.0.1"))
	b.Run("outpost-4-samples", query(four))
	b.Run("ntpdig-4-samples", tool("ntpdig", "-p", "4", "-g", "200", "127.0.0.1"))
}

func splitAddrB(b *testing.B, addr string) (string, int) {
	b.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return host, n
}

package ntp_test

import (
	"context"
	"math/rand/v2"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/sim/ntpsim"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// BenchmarkFetch times one polling round (READSTAT, READVAR of the system
// and of 10 associations, two fragments each) against the simulator on
// 127.0.0.1:123, and `ntpq -pn 127.0.0.1` on the same server in the same
// run (ntpq talks only to port 123). Metrics: ms/round for both.
func BenchmarkFetch(b *testing.B) {
	ntpq := testbed.RequireTool(b, "ntpq")
	addr := testpeer.ClaimNTPPort(b)
	now := time.Now()
	srv := ntpsim.New(ntpsim.Config{Peers: randomPeers(rand.New(rand.NewPCG(1, 1)), now, 10)})
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc) }()
	defer func() { cancel(); <-done }()

	sess, err := ntp.Client{Addr: addr}.Dial(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := ntp.Fetch(ctx, sess, nil); err != nil {
			b.Fatal(err)
		}
	}
	ours := time.Since(start)
	b.StopTimer()
	const ntpqRuns = 3
	startQ := time.Now()
	for i := 0; i < ntpqRuns; i++ {
		if out, err := exec.Command(ntpq, "-pn", "127.0.0.1").CombinedOutput(); err != nil {
			b.Fatalf("ntpq: %v %s", err, out)
		}
	}
	b.ReportMetric(float64(ours.Microseconds())/1e3/float64(b.N), "ms/round")
	b.ReportMetric(float64(time.Since(startQ).Microseconds())/1e3/ntpqRuns, "ntpq-ms/round")
}

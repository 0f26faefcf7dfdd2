package uplink

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/agent/batch"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/sample"
)

type countingReader struct {
	r io.ReadWriter
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
func (c *countingReader) Write(p []byte) (int, error) { return c.r.Write(p) }

// BenchmarkPipeline measures the agent's send path end to end on loopback:
// reports of interface counters go through the batcher into the spool (on
// disk, fsync every second), the uplink streams them over QUIC with mutual
// TLS to a collector-like reader that decodes every frame with the limited
// codec and acks. Each op is ~1M samples: 10,008 series (834 interfaces x 12
// counters, realistic 64-bit octet/packet values) polled 100 times.
// Reported: samples/s (until the last batch is acked) and bytes per sample
// on the wire (QUIC bytes received by the collector, and stream payload).
func BenchmarkPipeline(b *testing.B) {
	const series, rounds = 834 * 12, 100
	e := &env{pki: newPKI(b, "bench CA"), events: make(chan Event, 100)}
	e.client = e.pki.issue(b, "agent1", false)
	sp, err := spool.Open(spool.Options{Dir: b.TempDir(), SegmentBytes: 64 << 20, MaxBytes: 8 << 30, FsyncInterval: time.Second, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	e.sp = sp
	e.col = newTestCollector(b)
	bt, err := batch.New(sp, batch.Options{Interval: time.Hour, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}

	ln, err := quic.ListenAddr("127.0.0.1:0", serverTLS(e.pki, e.pki.issue(b, "collector.test", true), e.pki.pool),
		&quic.Config{MaxIdleTimeout: 30 * time.Second, MaxStreamReceiveWindow: 8 << 20, MaxConnectionReceiveWindow: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var srvConn atomic.Pointer[quic.Conn]
	cr := &countingReader{}
	ctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		srvConn.Store(conn)
		st, err := conn.AcceptStream(ctx)
		if err != nil {
			return
		}
		cr.r = st
		e.col.serve(cr)
		conn.CloseWithError(0, "")
	}()
	cfg := e.config(ln.Addr().String())
	cfg.Window = 64
	u, _ := New(cfg, sp)
	wg.Add(1)
	go func() { defer wg.Done(); u.Run(ctx) }()
	defer func() { cancel(); ln.Close(); wg.Wait() }()

	keys := make([]sample.Key, series)
	for i := range keys {
		keys[i] = sample.Key{Host: "edge1", Attr: fmt.Sprintf("if:ge-0/0/%d", i/12), DS: fmt.Sprintf("c%d", i%12)}
	}
	t0 := time.Unix(1_800_000_000, 0)
	pts := make([]sample.Point, 12)
	var total int
	var round int
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		for r := 0; r < rounds; r++ {
			tm := t0.Add(time.Duration(round) * time.Minute)
			round++
			for i := 0; i < series; i += 12 {
				for j := range pts {
					// octet counters around 10^11..10^12, packet counters around 10^8
					v := uint64(100_000_000_000) + uint64(i)*1_000_003 + uint64(round)*125_000_000
					if j >= 2 {
						v = uint64(100_000_000) + uint64(i)*7 + uint64(round)*9_000
					}
					pts[j] = sample.Point{Key: keys[i+j], Kind: sample.Counter64, Time: tm, Uint: v}
				}
				bt.Report(poll.Report{Host: "edge1", Points: pts})
				total += 12
			}
		}
		bt.Flush()
	}
	_, last, _ := sp.Bounds()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		e.col.mu.Lock()
		done := e.col.acked >= last
		e.col.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("collector did not ack everything")
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	e.col.mu.Lock()
	got := e.col.samples
	e.col.mu.Unlock()
	if got != total {
		b.Fatalf("collector stored %d samples, sent %d", got, total)
	}
	stats := srvConn.Load().ConnectionStats()
	b.ReportMetric(float64(total)/el.Seconds(), "samples/s")
	b.ReportMetric(float64(stats.BytesReceived)/float64(total), "wire-B/sample")
	b.ReportMetric(float64(cr.n.Load())/float64(total), "stream-B/sample")
	b.ReportMetric(0, "ns/op")
}

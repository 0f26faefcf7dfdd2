package ingest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// BenchmarkIngestQUIC measures the collector's ingest path end to end on
// loopback: real quic-go agents each send batches of 1000 counter samples
// (100 interface attributes x 10 data sources) and wait for each ack (no
// pipelining); the collector decodes, resolves, journals (fsync, group
// commit across agents) and acks; the applier queues the samples in the
// archive cache. Reported: samples/s acknowledged and wire bytes per sample.
//
// With window > 1 the agents pipeline like agent/uplink does: up to window
// batches unacknowledged, acks read by a separate goroutine.
func BenchmarkIngestQUIC(b *testing.B) {
	for _, c := range []struct{ agents, window int }{{1, 1}, {8, 1}, {1, 64}, {8, 64}} {
		b.Run(fmt.Sprintf("agents=%d/window=%d", c.agents, c.window), func(b *testing.B) { benchIngest(b, c.agents, c.window) })
	}
}

func benchIngest(b *testing.B, agents, window int) {
	s := openStack(b, b.TempDir(), stackOptions{})
	const attrs, dsPer = 100, 10
	conns := make([]*agentConn, agents)
	for n := range conns {
		name := fmt.Sprintf("bench%d", n)
		cert := s.addAgent(b, name, "*")
		a, err := dialQUIC(b, s.quicAddr, s.clientTLS(&cert))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.hello(name, epoch1, 1, uint64(b.N)); err != nil {
			b.Fatal(err)
		}
		series := &wire.Series{First: 0}
		for i := 0; i < attrs; i++ {
			for d := 0; d < dsPer; d++ {
				series.Defs = append(series.Defs, wire.SeriesDef{Host: name, Attr: fmt.Sprintf("if:%d", i), DS: fmt.Sprintf("ds%d", d), Kind: sample.Counter64})
			}
		}
		if err := a.send(series); err != nil {
			b.Fatal(err)
		}
		conns[n] = a
	}
	base := time.Now().Add(-time.Duration(b.N+10) * time.Minute).Unix()
	batchAt := func(i int, seq uint64) *wire.Batch {
		g := wire.Group{Time: (base + int64(i)*60) * 1000, Ints: make([]uint64, 0, 2*attrs*dsPer)}
		for id := 0; id < attrs*dsPer; id++ {
			g.Ints = append(g.Ints, uint64(id), uint64(i+1)*1_000_000+uint64(id)*977)
		}
		return &wire.Batch{Seq: seq, Groups: []wire.Group{g}}
	}
	// Warm up: the first batch creates every archive (a one-time cost per
	// attribute that is not what this measures).
	for _, a := range conns {
		if _, err := a.batch(batchAt(-1, 1)); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(time.Minute); counterValue(s.m.RRDUpdates) < float64(agents*attrs); {
		if time.Now().After(deadline) {
			b.Fatal("warm-up batches not applied")
		}
		time.Sleep(10 * time.Millisecond)
	}
	appends0, syncs0 := s.j.Stats().Appends, s.j.Stats().Syncs
	var mu sync.Mutex
	var wireBytes int
	var ackMu sync.Mutex
	ackCond := sync.NewCond(&ackMu)
	acked := make([]uint64, agents)
	if window > 1 {
		for n, a := range conns {
			acked[n] = 1
			go func() {
				for {
					m, err := a.recv()
					if err != nil {
						return
					}
					if ack, ok := m.(*wire.Ack); ok {
						ackMu.Lock()
						acked[n] = ack.Seq
						ackCond.Broadcast()
						ackMu.Unlock()
					}
				}
			}()
		}
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for n, a := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n; i < b.N; i += agents {
				seq := uint64(i/agents + 2)
				batch := batchAt(i, seq)
				frame, _ := a.codec.AppendFrame(nil, batch)
				mu.Lock()
				wireBytes += len(frame)
				mu.Unlock()
				if window == 1 {
					if got, err := a.batch(batch); err != nil || got != seq {
						b.Errorf("batch %d: %d %v", seq, got, err)
						return
					}
					continue
				}
				ackMu.Lock()
				for seq > acked[n]+uint64(window) {
					ackCond.Wait()
				}
				ackMu.Unlock()
				if _, err := a.rw.Write(frame); err != nil {
					b.Error(err)
					return
				}
			}
			if window > 1 {
				last := uint64((b.N-1-n)/agents + 2)
				if n >= b.N {
					last = 1
				}
				ackMu.Lock()
				for acked[n] < last {
					ackCond.Wait()
				}
				ackMu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	samples := float64(b.N * attrs * dsPer)
	b.ReportMetric(samples/elapsed.Seconds(), "samples/s")
	b.ReportMetric(float64(wireBytes)/samples, "bytes/sample")
	st := s.j.Stats()
	b.ReportMetric(float64(st.Appends-appends0)/float64(st.Syncs-syncs0), "batches/fsync")
}

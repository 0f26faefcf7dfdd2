package forward

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// promRecord is poll i of nIf interfaces, timed from start (Prometheus
// refuses samples far from its head's time, so these tests use the clock).
func promRecord(start time.Time, i, nIf int) *ingest.Record {
	t := start.Add(time.Duration(i) * time.Minute).UnixMilli()
	r := &ingest.Record{Kind: ingest.RecordBatch, Agent: "site-a", Seq: uint64(i + 1), Received: t}
	for k := 0; k < nIf; k++ {
		r.Updates = append(r.Updates, ingest.AttrUpdate{Host: "r1", Attr: fmt.Sprintf("if:%d", k), Time: t,
			Values: []ingest.DSValue{
				{DS: "in_octets", Kind: sample.Counter64, Uint: uint64(i*1000 + k)},
				{DS: "in_errors", Kind: sample.Counter32, Uint: uint64(i)},
			}})
	}
	return r
}

// wantAll checks Prometheus holds polls samples of each of nIf×2 series.
func wantAll(t *testing.T, p *testbed.Prometheus, at time.Time, nIf, polls int) {
	t.Helper()
	for _, name := range []string{"ifHCInOctets", "ifInErrors"} {
		got := p.Query(fmt.Sprintf("count_over_time(%s[3h])", name), at)
		if len(got) != nIf {
			t.Errorf("%s: %d series in Prometheus, want %d", name, len(got), nIf)
		}
		for _, s := range got {
			if int(s.Value) != polls {
				t.Errorf("%s{attribute=%q}: %v samples, want %d", name, s.Metric["attribute"], s.Value, polls)
			}
		}
	}
}

// TestPrometheusStoppedThenRestarted: samples written while Prometheus is
// down are retried and all arrive once it is back.
func TestPrometheusStoppedThenRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus")
	}
	p := testbed.StartPrometheus(t)
	b := newBed(t)
	b.opts.Endpoint.URL = p.WriteURL()
	b.opts.Endpoint.Timeout = 2 * time.Second
	b.opts.MaxBackoff = 100 * time.Millisecond
	b.opts.Now = time.Now
	const nIf, polls = 20, 40
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	for i := range 15 {
		b.append(promRecord(start, i, nIf))
	}
	f, err := New(b.opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, b.j.Tail(f.Position())) }()
	waitFor(t, func() bool { return f.Stats().SamplesSent >= 15*nIf*2 }, f)
	p.Stop()
	for i := 15; i < polls; i++ {
		b.append(promRecord(start, i, nIf))
	}
	waitFor(t, func() bool { return f.Stats().Retries >= 3 }, f)
	p.Start()
	waitFor(t, func() bool { return f.Stats().Position == b.j.End() }, f)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := f.Stats()
	if s.SamplesRejected != 0 || s.SamplesSent != polls*nIf*2 {
		t.Errorf("stats %+v: want %d sent, none refused", s, polls*nIf*2)
	}
	wantAll(t, p, start.Add(polls*time.Minute), nIf, polls)
	if strings.Contains(p.Log(), "out of order") {
		t.Errorf("Prometheus logged out-of-order samples:\n%s", p.Log())
	}
}

func waitFor(t *testing.T, cond func() bool, f *Forwarder) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out; stats %+v", f.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPrometheusCrashMidSend: the collector dies after Prometheus
// committed a request but before the forwarder learnt it (the state a
// kill -9 leaves). The restarted forwarder resends that chunk; Prometheus
// answers out of order for what it has, which counts as stored; nothing
// is missing and nothing is refused.
func TestPrometheusCrashMidSend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus")
	}
	p := testbed.StartPrometheus(t)
	b := newBed(t)
	b.opts.Now = time.Now
	b.opts.Shards = 3
	b.opts.MaxSamplesPerSend = 50
	const nIf, polls = 30, 20
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	for i := range polls {
		b.append(promRecord(start, i, nIf))
	}
	// A proxy that passes requests to Prometheus, and after the 7th
	// commits it but never answers: the forwarder hangs as a dying process would.
	var mu sync.Mutex
	n := 0
	crashed := make(chan struct{})
	release := make(chan struct{})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k > 7 {
			<-release // after the crash: nothing more reaches the store
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		req, _ := http.NewRequest(http.MethodPost, p.WriteURL(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		res.Body.Close()
		if k == 7 {
			close(crashed)
			<-release
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(res.StatusCode)
	}))
	defer proxy.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	b.opts.Endpoint.URL = proxy.URL
	f, err := New(b.opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, b.j.Tail(f.Position())) }()
	select {
	case <-crashed:
	case <-time.After(60 * time.Second):
		t.Fatal("the proxy saw no 7th request")
	}
	// What kill -9 leaves: the position file as it is now.
	posPath := filepath.Join(b.opts.Dir, "test.pos")
	saved, err := os.ReadFile(posPath)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	close(release)
	<-done
	if err := os.WriteFile(posPath, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	pos, _, _ := readPosition(posPath)
	if pos.inflight == pos.acked {
		t.Fatalf("position %+v: no chunk in flight at the crash", pos)
	}

	b.opts.Endpoint.URL = p.WriteURL()
	f2, err := New(b.opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- f2.Run(ctx2, b.j.Tail(f2.Position())) }()
	waitFor(t, func() bool { return f2.Stats().Position == b.j.End() }, f2)
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := f2.Stats()
	if s.SamplesRejected != 0 || s.AlreadyStored == 0 {
		t.Errorf("after restart: %+v; want some samples counted as already stored and none refused", s)
	}
	wantAll(t, p, start.Add(polls*time.Minute), nIf, polls)
}

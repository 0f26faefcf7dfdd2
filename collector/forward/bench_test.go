//go:build unix

package forward

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// benchRecords journals polls of nIf interfaces × 12 counters, enough for
// at least n samples, timed 10 s apart ending now.
func benchRecords(b *testing.B, j *journal.Journal, n, nIf int) int {
	b.Helper()
	codec, err := ingest.NewRecordCodec()
	if err != nil {
		b.Fatal(err)
	}
	per := nIf * len(ifCounters)
	polls := (n + per - 1) / per
	start := time.Now().Add(-time.Duration(polls) * 10 * time.Second)
	dss := make([]string, 0, len(ifCounters))
	for ds := range ifCounters {
		dss = append(dss, ds)
	}
	var last journal.Pos
	for i := range polls {
		t := start.Add(time.Duration(i) * 10 * time.Second).UnixMilli()
		r := &ingest.Record{Kind: ingest.RecordBatch, Agent: "site-a", Seq: uint64(i + 1), Received: t}
		for k := range nIf {
			u := ingest.AttrUpdate{Host: fmt.Sprintf("r%d", k/100), Attr: fmt.Sprintf("if:%d", k), Time: t}
			for d, ds := range dss {
				u.Values = append(u.Values, ingest.DSValue{DS: ds, Kind: sample.Counter64, Uint: uint64(i*1000 + k + d)})
			}
			r.Updates = append(r.Updates, u)
		}
		data, err := codec.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		if last, err = j.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	if err := j.Sync(last); err != nil {
		b.Fatal(err)
	}
	return polls * per
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchForward forwards b.N samples (rounded up to whole polls) from a
// journal to url and reports samples/s and CPU seconds per million.
func benchForward(b *testing.B, url string, extraCPU func() float64) {
	dir := b.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	total := benchRecords(b, j, max(b.N, 1_000_000), 1000) // at least 1M samples: make bench runs 1x
	f, err := New(Options{Endpoint: Endpoint{Name: "bench", URL: url}, Dir: filepath.Join(dir, "fwd"),
		Shards: 4, MaxSamplesPerSend: 10_000, BatchDeadline: 5 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	runtime.GC() // the set-up's garbage is not the forwarder's
	cpu0, ext0 := cpuSeconds(), extraCPU()
	b.ResetTimer()
	t0 := time.Now()
	go func() { done <- f.Run(ctx, j.Tail(0)) }()
	for f.Stats().SamplesSent+f.Stats().OutOfOrder < uint64(total) {
		if s := f.Stats(); s.SamplesRejected > 0 {
			b.Fatalf("refused: %+v", s)
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(t0)
	b.StopTimer()
	cpu, ext := cpuSeconds()-cpu0, extraCPU()-ext0
	cancel()
	<-done
	b.ReportMetric(float64(total)/el.Seconds(), "samples/s")
	b.ReportMetric(float64(j.End())/float64(total), "journal-bytes/sample")
	b.ReportMetric(cpu/float64(total)*1e6, "fwd-cpu-s/Msamples")
	if ext > 0 {
		b.ReportMetric(ext/float64(total)*1e6, "store-cpu-s/Msamples")
	}
}

// BenchmarkForwardToPrometheus: journal → forwarder → Prometheus
// 2.42 (Debian) on loopback, 1,000 interfaces × 12 counters per poll.
func BenchmarkForwardToPrometheus(b *testing.B) {
	p := testbed.StartPrometheus(b)
	benchForward(b, p.WriteURL(), p.CPUSeconds)
}

// BenchmarkForwardToNullStore: the forwarder's own ceiling, against a
// receiver that reads each request and answers 204.
func BenchmarkForwardToNullStore(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	benchForward(b, srv.URL, func() float64 { return 0 })
}

package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestServeExposesOwnRegistry(t *testing.T) {
	c := New()
	c.Connections.WithLabelValues("quic").Add(2)
	c.Refused.WithLabelValues("forbidden-host").Inc()
	c.Batches.Add(3)
	c.Samples.Add(3000)
	c.JournalLag.Set(4096)
	c.FlushSeconds.Observe(0.25)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.ServeListener(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`outpost_collector_connections_total{transport="quic"} 2`,
		`outpost_collector_refused_total{reason="forbidden-host"} 1`,
		"outpost_collector_batches_total 3",
		"outpost_collector_samples_total 3000",
		"outpost_collector_journal_lag_bytes 4096",
		"outpost_collector_flush_seconds_count 1",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

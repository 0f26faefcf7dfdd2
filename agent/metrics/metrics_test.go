package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/wire"
)

type fakeSpool struct{ d wire.Drops }

func (f fakeSpool) Drops() wire.Drops { return f.d }
func (f fakeSpool) Bytes() int64      { return 4096 }

func TestServeExposesOwnRegistry(t *testing.T) {
	a := New()
	if err := a.WatchSpool(fakeSpool{wire.Drops{Batches: 3, Samples: 30, Corrupt: 1}}); err != nil {
		t.Fatal(err)
	}
	a.SamplesSpooled.Add(42)
	a.LinkUp.Set(1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"outpost_agent_samples_spooled_total 42",
		"outpost_agent_link_up 1",
		"outpost_agent_batches_dropped_total 3",
		"outpost_agent_samples_dropped_total 30",
		"outpost_agent_spool_corrupt_total 1",
		"outpost_agent_spool_bytes 4096",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "go_goroutines") {
		t.Errorf("default registry collectors leaked into the agent registry")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop")
	}
	done <- nil
}

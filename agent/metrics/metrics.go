// Package metrics is the agent's own Prometheus metrics: what it spooled,
// sent, had acknowledged and lost, and the state of its link. The metrics
// live in a registry owned by Agent (never the global default registry) and
// are served on /metrics only when the configuration names a listen address.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outpost-nms/outpost/shared/wire"
)

// Agent holds the agent's metrics. All methods are safe for concurrent use.
type Agent struct {
	reg *prometheus.Registry

	// SamplesSpooled counts samples written to the spool.
	SamplesSpooled prometheus.Counter
	// BatchesSpooled counts batches written to the spool.
	BatchesSpooled prometheus.Counter
	// SpoolErrors counts batches lost because the spool could not write
	// them (disk full or failing).
	SpoolErrors prometheus.Counter
	// BatchesSent counts batch frames written to the collector (resends included).
	BatchesSent prometheus.Counter
	// BatchesAcked counts batches the collector acknowledged.
	BatchesAcked prometheus.Counter
	// Reconnects counts connection attempts after the first.
	Reconnects prometheus.Counter
	// LinkUp is 1 while a session is established (HelloAck received).
	LinkUp prometheus.Gauge
	// StringsCleaned counts strings the batcher's guard had to clean
	// (invalid UTF-8, control characters, too long) because a poller left
	// them so: each is a poller bug, and would otherwise be unsendable.
	StringsCleaned prometheus.Counter
	// Rejected counts what the collector refused for good from this
	// agent's batches (wire.Reject), by kind; "whole" is "true" when a
	// batch was refused entirely. Oversize batches the agent skipped
	// itself count here too (kind "oversize").
	Rejected *prometheus.CounterVec
}

// New builds the metrics in a fresh registry.
func New() *Agent {
	a := &Agent{
		reg: prometheus.NewRegistry(),
		SamplesSpooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_agent_samples_spooled_total", Help: "Samples written to the spool."}),
		BatchesSpooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_agent_batches_spooled_total", Help: "Batches written to the spool."}),
		SpoolErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_agent_spool_write_errors_total", Help: "Batches lost because the spool could not write them."}),
		BatchesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_agent_batches_sent_total", Help: "Batch frames sent to the collector, resends included."}),
		BatchesAcked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_agent_batches_acked_total", Help: "Batches acknowledged by the collector."}),
		Reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_agent_reconnects_total", Help: "Connection attempts after the first."}),
		LinkUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outpost_agent_link_up", Help: "1 while the collector link is up (hello acknowledged)."}),
	}
	a.reg.MustRegister(a.SamplesSpooled, a.BatchesSpooled, a.SpoolErrors, a.BatchesSent, a.BatchesAcked, a.Reconnects, a.LinkUp)
	a.StringsCleaned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "outpost_agent_strings_cleaned_total", Help: "Strings the batcher cleaned before spooling because a poller left them invalid (a poller bug)."})
	a.Rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outpost_agent_rejected_total", Help: "Batches or parts of batches the collector refused for good (the spool moves past them), by kind."},
		[]string{"kind", "whole"})
	a.reg.MustRegister(a.StringsCleaned, a.Rejected)
	return a
}

// SpoolSource is what the spool exposes to the metrics.
type SpoolSource interface {
	Drops() wire.Drops
	Bytes() int64
}

// WatchSpool registers metrics read from the spool at scrape time: its
// size and its cumulative drop and corruption counters, and, when s also
// has Bounds (as spool.Spool does), the backlog of unacknowledged batches.
func (a *Agent) WatchSpool(s SpoolSource) error {
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "outpost_agent_spool_bytes", Help: "Bytes of spooled batches on disk."},
			func() float64 { return float64(s.Bytes()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "outpost_agent_batches_dropped_total", Help: "Batches dropped unsent because the spool was full or too old (this epoch)."},
			func() float64 { return float64(s.Drops().Batches) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "outpost_agent_samples_dropped_total", Help: "Samples in dropped batches (this epoch)."},
			func() float64 { return float64(s.Drops().Samples) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "outpost_agent_spool_corrupt_total", Help: "Corrupt spool records skipped (this epoch)."},
			func() float64 { return float64(s.Drops().Corrupt) }),
	}
	if bs, ok := s.(interface {
		Bounds() (first, last, acked uint64)
	}); ok {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "outpost_agent_spool_backlog_batches", Help: "Batches in the spool not yet acknowledged by the collector (0: drained)."},
			func() float64 {
				first, last, _ := bs.Bounds()
				if first == 0 || last < first {
					return 0
				}
				return float64(last - first + 1)
			}))
	}
	for _, c := range cs {
		if err := a.reg.Register(c); err != nil {
			return fmt.Errorf("register spool metrics: %w", err)
		}
	}
	return nil
}

// Registerer returns the registry, for parts that own their metrics
// (agent/trap).
func (a *Agent) Registerer() prometheus.Registerer { return a.reg }

// Gatherer returns the registry, for tests and embedding.
func (a *Agent) Gatherer() prometheus.Gatherer { return a.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (a *Agent) Handler() http.Handler {
	return promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})
}

// Serve listens on addr and serves /metrics until ctx is done. It returns
// nil after ctx ends, or the listen or serve error.
func (a *Agent) Serve(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	return a.ServeListener(ctx, ln, log)
}

// ServeListener is Serve on an existing listener (closed on return).
func (a *Agent) ServeListener(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", a.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("metrics: serving /metrics", "addr", ln.Addr().String())
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics: %w", err)
		}
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("metrics serve: %w", err)
	}
}

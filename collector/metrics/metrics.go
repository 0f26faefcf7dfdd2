// Package metrics is the collector's own Prometheus metrics: connections,
// batches and samples received, duplicates and refusals, the journal's size
// and apply lag, archive updates and flush durations. They live in a
// registry owned by Collector (never the global default registry) and are
// served on /metrics at the configured address.
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
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outpost-nms/outpost/collector/listener"
)

// Collector holds the collector's metrics. Safe for concurrent use.
type Collector struct {
	reg *prometheus.Registry

	// Connections counts accepted agent connections by transport ("quic", "tcp").
	Connections *prometheus.CounterVec
	// ActiveSessions is the number of agent sessions past HelloAck.
	ActiveSessions prometheus.Gauge
	// Refused counts refused connections and batches by reason
	// ("unauthorized", "forbidden-host", "protocol", "unknown-series", "internal").
	Refused *prometheus.CounterVec
	// Batches counts batches journaled and acknowledged.
	Batches prometheus.Counter
	// Samples counts samples in journaled batches.
	Samples prometheus.Counter
	// Duplicates counts batches received again after they were stored (re-acked only).
	Duplicates prometheus.Counter
	// DroppedBatches counts batches agents declared lost from their spools.
	DroppedBatches prometheus.Counter
	// JournalBytes counts bytes appended to the journal.
	JournalBytes prometheus.Counter
	// JournalLag is the number of journal bytes not yet checkpointed.
	JournalLag prometheus.Gauge
	// RRDUpdates counts archive updates applied (one per attribute and time).
	RRDUpdates prometheus.Counter
	// RRDSkipped counts updates already in the archive at replay (not newer).
	RRDSkipped prometheus.Counter
	// ApplyErrors counts journal records or updates that could not be applied.
	ApplyErrors prometheus.Counter
	// FlushSeconds observes the duration of a flush of the archive cache plus checkpoint.
	FlushSeconds prometheus.Histogram
	// Traps counts SNMP traps stored, by the host they are attributed to
	// ("" for sources that match no target).
	Traps *prometheus.CounterVec
	// Rejected counts what the collector refused for good from agents'
	// batches while keeping the session (the agent moves past it), by
	// kind ("frame", "host", "clock-skew", "quota", ...) and unit
	// ("batch" for a whole batch, "sample", "status", "host", "trap", "series").
	Rejected *prometheus.CounterVec
	// AlertsFiring is the number of alerts the alerting engine last sent as firing.
	AlertsFiring prometheus.Gauge
	// AlertDeliveryErrors counts failed posts to an Alertmanager, by its URL.
	AlertDeliveryErrors *prometheus.CounterVec
}

// New builds the metrics in a fresh registry.
func New() *Collector {
	c := &Collector{
		reg: prometheus.NewRegistry(),
		Connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outpost_collector_connections_total", Help: "Agent connections accepted, by transport."}, []string{"transport"}),
		ActiveSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outpost_collector_sessions", Help: "Agent sessions established (HelloAck sent)."}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outpost_collector_refused_total", Help: "Connections or batches refused, by reason."}, []string{"reason"}),
		Batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_collector_batches_total", Help: "Batches journaled and acknowledged."}),
		Samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_collector_samples_total", Help: "Samples in journaled batches."}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_collector_duplicate_batches_total", Help: "Batches received again after being stored; re-acknowledged only."}),
		DroppedBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_collector_agent_dropped_batches_total", Help: "Batches agents declared dropped from their spools."}),
		JournalBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_collector_journal_bytes_total", Help: "Bytes appended to the ingest journal."}),
		JournalLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outpost_collector_journal_lag_bytes", Help: "Journal bytes written but not yet checkpointed."}),
		RRDUpdates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_collector_rrd_updates_total", Help: "Archive updates applied (one per attribute and time)."}),
		RRDSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_collector_rrd_updates_skipped_total", Help: "Updates found already applied at journal replay."}),
		ApplyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outpost_collector_apply_errors_total", Help: "Journal records or archive updates that could not be applied."}),
		FlushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "outpost_collector_flush_seconds", Help: "Duration of an archive flush plus journal checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
	}
	c.Traps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outpost_collector_traps_total", Help: "SNMP traps and informs stored, by host (empty: a source no target matches)."}, []string{"host"})
	c.Rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outpost_collector_rejected_total", Help: "Parts of agents' batches refused for good (the agent moves past them), by kind and unit."}, []string{"kind", "unit"})
	c.AlertsFiring = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "outpost_collector_alerts_firing", Help: "Alerts the alerting engine last sent as firing."})
	c.AlertDeliveryErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outpost_collector_alert_delivery_errors_total", Help: "Failed posts of alerts to an Alertmanager, by its URL."}, []string{"alertmanager"})
	c.reg.MustRegister(c.Traps, c.Rejected, c.AlertsFiring, c.AlertDeliveryErrors)
	c.reg.MustRegister(c.Connections, c.ActiveSessions, c.Refused, c.Batches, c.Samples, c.Duplicates, c.DroppedBatches,
		c.JournalBytes, c.JournalLag, c.RRDUpdates, c.RRDSkipped, c.ApplyErrors, c.FlushSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return c
}

// Registry returns the registry, for tests and for adding collectors.
func (c *Collector) Registry() *prometheus.Registry { return c.reg }

// Handler serves the registry in the Prometheus exposition format.
func (c *Collector) Handler() http.Handler {
	return promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{})
}

// Serve listens on addr and serves /metrics until ctx ends.
func (c *Collector) Serve(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	return c.ServeListener(ctx, ln, log)
}

// ServeListener serves /metrics on ln until ctx ends. Like the web UI's,
// the listener holds at most 64 connections (16 from one address), retries
// accept errors instead of returning them (listener.Guard), and clients
// that idle or read slowly are cut by the server's timeouts.
func (c *Collector) ServeListener(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", c.Handler())
	ln = listener.Guard(ln, listener.Options{Name: "metrics", Max: 64, PerHost: 16, Log: log})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

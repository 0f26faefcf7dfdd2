package forward

import "github.com/prometheus/client_golang/prometheus"

// Metrics exposes the forwarders' Stats as the collector's own metrics,
// labelled by remote_write endpoint name.
type Metrics struct{ fs []*Forwarder }

// NewMetrics returns a prometheus.Collector over fs.
func NewMetrics(fs []*Forwarder) *Metrics { return &Metrics{fs: fs} }

var (
	descSent       = prometheus.NewDesc("outpost_forward_samples_sent_total", "Samples the remote-write store accepted.", []string{"remote_write"}, nil)
	descRequests   = prometheus.NewDesc("outpost_forward_requests_total", "Remote-write requests accepted.", []string{"remote_write"}, nil)
	descRetries    = prometheus.NewDesc("outpost_forward_retries_total", "Remote-write requests retried after 5xx, 429, a network error or a timeout.", []string{"remote_write"}, nil)
	descRejected   = prometheus.NewDesc("outpost_forward_samples_rejected_total", "Samples the store refused for good (4xx), skipped.", []string{"remote_write"}, nil)
	descStored     = prometheus.NewDesc("outpost_forward_samples_already_stored_total", "Samples resent after a crash that the store already had.", []string{"remote_write"}, nil)
	descOOO        = prometheus.NewDesc("outpost_forward_samples_out_of_order_total", "Samples not newer than the last one sent for their series, not sent.", []string{"remote_write"}, nil)
	descDropped    = prometheus.NewDesc("outpost_forward_samples_dropped_total", "Samples dropped as older than forward.max_backlog's age.", []string{"remote_write"}, nil)
	descDroppedB   = prometheus.NewDesc("outpost_forward_journal_dropped_bytes_total", "Journal bytes removed before they were forwarded (forward.max_backlog's bytes).", []string{"remote_write"}, nil)
	descBad        = prometheus.NewDesc("outpost_forward_bad_records_total", "Journal records that did not decode, skipped.", []string{"remote_write"}, nil)
	descPosition   = prometheus.NewDesc("outpost_forward_position_bytes", "Journal position up to which everything is forwarded.", []string{"remote_write"}, nil)
	descLastErrorT = prometheus.NewDesc("outpost_forward_last_error_timestamp_seconds", "Time of the store's last error (0: none).", []string{"remote_write"}, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSent, descRequests, descRetries, descRejected, descStored, descOOO, descDropped, descDroppedB, descBad, descPosition, descLastErrorT} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, f := range m.fs {
		s := f.Stats()
		c := func(d *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), f.name)
		}
		c(descSent, s.SamplesSent)
		c(descRequests, s.Requests)
		c(descRetries, s.Retries)
		c(descRejected, s.SamplesRejected)
		c(descStored, s.AlreadyStored)
		c(descOOO, s.OutOfOrder)
		c(descDropped, s.DroppedSamples)
		c(descDroppedB, s.DroppedBytes)
		c(descBad, s.BadRecords)
		ch <- prometheus.MustNewConstMetric(descPosition, prometheus.GaugeValue, float64(s.Position), f.name)
		t := 0.0
		if !s.LastErrorTime.IsZero() {
			t = float64(s.LastErrorTime.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descLastErrorT, prometheus.GaugeValue, t, f.name)
	}
}

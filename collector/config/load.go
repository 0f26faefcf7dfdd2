package config

import (
	"cmp"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/logging"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Built-in defaults (the struct comments name them too).
const (
	DefaultName          = "collector"
	DefaultDataDir       = "/var/lib/outpost-collector"
	DefaultQUIC          = ":4700"
	DefaultTCP           = ":4701"
	DefaultMaxFrame      = wire.DefaultMaxFrame
	DefaultMaxClockSkew  = 10 * time.Minute
	DefaultWebListen     = "127.0.0.1:8080"
	DefaultSessionTTL    = 12 * time.Hour
	DefaultFlushInterval = 5 * time.Minute
	DefaultFlushWorkers  = 2
	DefaultJournalBytes  = 64 << 20
	DefaultMetricsListen = "127.0.0.1:9470"
	DefaultWebConns      = 1024
	DefaultStatusHistory = 400 * 24 * time.Hour
	DefaultTrapHistory   = 90 * 24 * time.Hour
	// Off, as the value of listen.tcp or metrics.listen, disables that listener.
	Off = "off"
)

// Load reads the collector configuration at path strictly, fills in
// defaults and validates it. Every error is one line:
// file:line[:column]: field: problem.
//
// After Load every field holds its effective value: TLS paths default to
// DataDir/pki/{ca.pem,ca.key,server.pem,server.key}; listen.tcp and
// metrics.listen are either host:port or "off".
func Load(path string) (*Config, error) {
	var c Config
	pos, err := configfile.LoadPositions(path, &c)
	if err != nil {
		return nil, err
	}
	if err := c.finish(pos); err != nil {
		return nil, err
	}
	return &c, nil
}

// Parse is Load for a file already in memory; filename is used in errors.
func Parse(filename string, data []byte) (*Config, error) {
	var c Config
	pos, err := configfile.DecodePositions(filename, data, &c)
	if err != nil {
		return nil, err
	}
	if err := c.finish(pos); err != nil {
		return nil, err
	}
	return &c, nil
}

// Default returns the configuration an empty settings mapping gives.
func Default() *Config {
	var c Config
	c.applyDefaults()
	return &c
}

func (c *Config) applyDefaults() {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Listen.QUIC == "" {
		c.Listen.QUIC = DefaultQUIC
	}
	if c.Listen.TCP == "" {
		c.Listen.TCP = DefaultTCP
	}
	c.Listen.MaxFrame = configfile.Size(c.Listen.MaxFrame.Or(DefaultMaxFrame))
	c.Listen.MaxClockSkew = configfile.Duration(c.Listen.MaxClockSkew.Or(DefaultMaxClockSkew))
	q := &c.Quotas
	q.HostsPerAgent = cmp.Or(q.HostsPerAgent, 10_000)
	q.AttributesPerHost = cmp.Or(q.AttributesPerHost, 20_000)
	q.DataSourcesPerAttribute = cmp.Or(q.DataSourcesPerAttribute, 64)
	q.ArchiveBytesPerAttr = configfile.Size(q.ArchiveBytesPerAttr.Or(64 << 20))
	q.ArchiveBytesPerAgent = configfile.Size(q.ArchiveBytesPerAgent.Or(512 << 30))
	q.SeriesPerConnection = cmp.Or(q.SeriesPerConnection, 1<<20)
	q.SeriesBytesPerConn = configfile.Size(q.SeriesBytesPerConn.Or(128 << 20))
	q.EntitiesPerHost = cmp.Or(q.EntitiesPerHost, wire.MaxEntities)
	q.NeighborsPerHost = cmp.Or(q.NeighborsPerHost, wire.MaxNeighbors)
	al := &c.Alerting
	al.Interval = configfile.Duration(al.Interval.Or(30 * time.Second))
	al.For = configfile.Duration(al.For.Or(time.Minute))
	al.AgentSilence = configfile.Duration(al.AgentSilence.Or(5 * time.Minute))
	pki := filepath.Join(c.DataDir, "pki")
	for _, f := range []struct {
		p    *string
		name string
	}{{&c.TLS.CACert, "ca.pem"}, {&c.TLS.CAKey, "ca.key"}, {&c.TLS.Cert, "server.pem"}, {&c.TLS.Key, "server.key"}} {
		if *f.p == "" {
			*f.p = filepath.Join(pki, f.name)
		}
	}
	if c.Web.Listen == "" {
		c.Web.Listen = DefaultWebListen
	}
	c.Web.SessionTTL = configfile.Duration(c.Web.SessionTTL.Or(DefaultSessionTTL))
	if c.Web.MaxConnections == 0 {
		c.Web.MaxConnections = DefaultWebConns
	}
	if c.Inventory.StatusHistory == nil {
		d := configfile.Duration(DefaultStatusHistory)
		c.Inventory.StatusHistory = &d
	}
	if c.Inventory.Traps == nil {
		d := configfile.Duration(DefaultTrapHistory)
		c.Inventory.Traps = &d
	}
	if c.RRD.Enabled == nil {
		on := true
		c.RRD.Enabled = &on
	}
	c.RRD.FlushInterval = configfile.Duration(c.RRD.FlushInterval.Or(DefaultFlushInterval))
	if c.RRD.FlushWorkers == 0 {
		c.RRD.FlushWorkers = DefaultFlushWorkers
	}
	c.Journal.SegmentBytes = configfile.Size(c.Journal.SegmentBytes.Or(DefaultJournalBytes))
	c.Forward.applyDefaults()
	if c.Metrics.Listen == "" {
		c.Metrics.Listen = DefaultMetricsListen
	}
	if c.Log.Level == "" {
		c.Log.Level = logging.DefaultLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = logging.DefaultFormat
	}
}

func (c *Config) finish(pos *configfile.Positions) error {
	c.applyDefaults()
	v := configfile.NewValidator(pos)
	fail := v.Fail
	hostPort := func(path, s string, allowOff bool) {
		if allowOff && s == Off {
			return
		}
		v.Listen(path, s)
	}
	v.Name("name", c.Name)
	if !filepath.IsAbs(c.DataDir) {
		fail("data_dir", "%q must be an absolute path", c.DataDir)
	}
	hostPort("listen.quic", c.Listen.QUIC, false)
	hostPort("listen.tcp", c.Listen.TCP, true)
	if mf := c.Listen.MaxFrame; mf < wire.MinMaxFrame || mf > wire.HardMaxFrame {
		fail("listen.max_frame", "%s out of range (%s, what every agent sizes batches to, to %s)", mf, configfile.Size(wire.MinMaxFrame), configfile.Size(wire.HardMaxFrame))
	}
	if d := c.Listen.MaxClockSkew.D(); d < time.Minute || d > 8760*time.Hour {
		fail("listen.max_clock_skew", "%s out of range (1m to 8760h)", c.Listen.MaxClockSkew)
	}
	hostPort("web.listen", c.Web.Listen, false)
	if (c.Web.TLSCert == "") != (c.Web.TLSKey == "") {
		fail("web.tls_cert", "tls_cert and tls_key must be set together")
	}
	if c.Web.SessionTTL.D() < time.Minute {
		fail("web.session_ttl", "%s is too short (at least 1m)", c.Web.SessionTTL)
	}
	if n := c.Web.MaxConnections; n < 1 || n > 1<<20 {
		fail("web.max_connections", "%d out of range (1 to %d)", n, 1<<20)
	}
	if h := c.Inventory.StatusHistory.D(); h != 0 && h < time.Hour {
		fail("inventory.status_history", "%s is too short (at least 1h, or 0 to keep everything)", c.Inventory.StatusHistory)
	}
	if h := c.Inventory.Traps.D(); h != 0 && h < time.Hour {
		fail("inventory.traps", "%s is too short (at least 1h, or 0 to keep everything)", c.Inventory.Traps)
	}
	if c.RRD.FlushInterval.D() < time.Second {
		fail("rrd.flush_interval", "%s is too short (at least 1s)", c.RRD.FlushInterval)
	}
	if n := c.RRD.FlushWorkers; n < 1 || n > 256 {
		fail("rrd.flush_workers", "%d out of range (1-256)", n)
	}
	if !c.RRD.On() && len(c.Forward.RemoteWrite) == 0 {
		fail("rrd.enabled", "false needs a forward.remote_write entry (forward-only: without a store every sample would be dropped)")
	}
	if c.Journal.SegmentBytes < 1<<20 {
		fail("journal.segment_bytes", "%s is too small (at least 1MiB)", c.Journal.SegmentBytes)
	}
	if c.Journal.SegmentBytes < c.Listen.MaxFrame {
		fail("journal.segment_bytes", "%s is smaller than listen.max_frame %s", c.Journal.SegmentBytes, c.Listen.MaxFrame)
	}
	q := &c.Quotas
	for _, f := range []struct {
		name      string
		v, lo, hi int64
	}{
		{"quotas.hosts_per_agent", int64(q.HostsPerAgent), 1, 1 << 20},
		{"quotas.attributes_per_host", int64(q.AttributesPerHost), 1, 1 << 20}, // ingest.MaxAttributesPerHost
		{"quotas.data_sources_per_attribute", int64(q.DataSourcesPerAttribute), 1, 1024},
		{"quotas.series_per_connection", int64(q.SeriesPerConnection), 1024, 1 << 24},
		{"quotas.entities_per_host", int64(q.EntitiesPerHost), 1, wire.MaxEntities},
		{"quotas.neighbors_per_host", int64(q.NeighborsPerHost), 1, wire.MaxNeighbors},
	} {
		if f.v < f.lo || f.v > f.hi {
			fail(f.name, "%d out of range (%d to %d)", f.v, f.lo, f.hi)
		}
	}
	if q.ArchiveBytesPerAttr < 64<<10 {
		fail("quotas.archive_bytes_per_attribute", "%s is too small (at least 64KiB)", q.ArchiveBytesPerAttr)
	}
	if q.ArchiveBytesPerAgent < q.ArchiveBytesPerAttr {
		fail("quotas.archive_bytes_per_agent", "%s is smaller than quotas.archive_bytes_per_attribute %s", q.ArchiveBytesPerAgent, q.ArchiveBytesPerAttr)
	}
	if q.SeriesBytesPerConn < 1<<20 {
		fail("quotas.series_bytes_per_connection", "%s is too small (at least 1MiB)", q.SeriesBytesPerConn)
	}
	for i, am := range c.Alerting.Alertmanagers {
		u, err := url.Parse(am.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(fmt.Sprintf("alerting.alertmanagers[%d].url", i), "%q is not an http(s) URL with a host", am.URL)
		}
	}
	names := map[string]bool{}
	for i, w := range c.Alerting.Webhooks {
		p := fmt.Sprintf("alerting.webhooks[%d]", i)
		u, err := url.Parse(w.URL)
		switch {
		case w.Name == "" || names[w.Name]:
			fail(p+".name", "%q: a webhook needs a unique name", w.Name)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			fail(p+".url", "%q is not an http(s) URL with a host", w.URL)
		case len(w.Secret.Reveal()) < 16:
			fail(p+".secret", "at least 16 characters (the HMAC key of the signature)")
		}
		names[w.Name] = true
	}
	if d := c.Alerting.Interval.D(); d < time.Second || d > time.Hour {
		fail("alerting.interval", "%s out of range (1s to 1h)", c.Alerting.Interval)
	}
	if d := c.Alerting.For.D(); d < 0 || d > 24*time.Hour {
		fail("alerting.for", "%s out of range (0 to 24h)", c.Alerting.For)
	}
	if d := c.Alerting.AgentSilence.D(); d < c.Alerting.Interval.D() {
		fail("alerting.agent_silence", "%s is shorter than alerting.interval %s", c.Alerting.AgentSilence, c.Alerting.Interval)
	}
	checkRules(c.Alerting.Rules, fail)
	c.Forward.check(c.Journal.SegmentBytes, v)
	hostPort("metrics.listen", c.Metrics.Listen, true)
	if _, err := logging.ParseLevel(c.Log.Level); err != nil {
		fail("log.level", "%v", err)
	}
	if err := logging.CheckFormat(c.Log.Format); err != nil {
		fail("log.format", "%v", err)
	}
	return v.Err()
}

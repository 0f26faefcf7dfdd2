// Package config is the collector's configuration: the YAML schema, its
// defaults and its validation, loaded strictly (see shared/configfile).
package config

import (
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/secret"
)

// Config is the whole collector configuration file.
type Config struct {
	Name      string    `yaml:"name"`     // shown to agents and in the UI; default "collector"
	DataDir   string    `yaml:"data_dir"` // archives, journal, inventory, PKI; default /var/lib/outpost-collector
	Listen    Listen    `yaml:"listen"`
	TLS       TLS       `yaml:"tls"`
	Web       Web       `yaml:"web"`
	RRD       RRD       `yaml:"rrd"`
	Journal   Journal   `yaml:"journal"`
	Inventory Inventory `yaml:"inventory"`
	Metrics   Metrics   `yaml:"metrics"`
	Log       Log       `yaml:"log"`
	Quotas    Quotas    `yaml:"quotas"`
	Alerting  Alerting  `yaml:"alerting"`
	Forward   Forward   `yaml:"forward"`
}

// Alerting sends alerts from the built-in rules (host unreachable,
// interface down that was up, NTP unsynchronised or offset beyond its
// threshold, agent silent) to Prometheus Alertmanager.
type Alerting struct {
	Alertmanagers []Alertmanager      `yaml:"alertmanagers"` // none and no webhooks: alerting off
	Webhooks      []Webhook           `yaml:"webhooks"`      // signed JSON posts of each alert change
	Interval      configfile.Duration `yaml:"interval"`      // evaluation and re-send period, default 30s
	For           configfile.Duration `yaml:"for"`           // how long a status holds before it fires, default 1m
	AgentSilence  configfile.Duration `yaml:"agent_silence"` // no session for this long: AgentSilent, default 5m
	ExternalURL   string              `yaml:"external_url"`  // the web UI's address for links in alerts
	// Rules are the user's alert rules and overrides of built-in ones
	// (rules.go); re-read on SIGHUP.
	Rules []Rule `yaml:"rules"`
}

// Webhook is one webhook that receives each change of an alert (firing,
// resolved) as JSON signed with HMAC-SHA256 (header X-Outpost-Signature).
type Webhook struct {
	Name   string        `yaml:"name"`   // unique; names the webhook in metrics and the outbox
	URL    string        `yaml:"url"`    // http(s)
	Secret secret.Secret `yaml:"secret"` // the HMAC key; never logged
}

// Alertmanager is one Alertmanager to send to.
type Alertmanager struct {
	URL string `yaml:"url"` // base URL, e.g. http://alertmanager:9093
}

// Quotas bound what one agent can make the collector create. What
// exceeds one is refused (the rest of the agent's data flows) and shown
// with the reason on the Agents page. Zero takes the default.
type Quotas struct {
	HostsPerAgent           int             `yaml:"hosts_per_agent"`             // default 10000
	AttributesPerHost       int             `yaml:"attributes_per_host"`         // default 20000, at most 1048576
	DataSourcesPerAttribute int             `yaml:"data_sources_per_attribute"`  // default 64, at most 1024
	ArchiveBytesPerAttr     configfile.Size `yaml:"archive_bytes_per_attribute"` // default 64MiB
	ArchiveBytesPerAgent    configfile.Size `yaml:"archive_bytes_per_agent"`     // default 512GiB
	SeriesPerConnection     int             `yaml:"series_per_connection"`       // default 1048576
	SeriesBytesPerConn      configfile.Size `yaml:"series_bytes_per_connection"` // default 128MiB
	EntitiesPerHost         int             `yaml:"entities_per_host"`           // hardware entities kept per host; default and at most 4096
	NeighborsPerHost        int             `yaml:"neighbors_per_host"`          // LLDP/CDP neighbours kept per host; default and at most 2048
}

// Listen sets the agent-facing listeners.
type Listen struct {
	QUIC     string          `yaml:"quic"`      // UDP address, default ":4700"
	TCP      string          `yaml:"tcp"`       // TLS-over-TCP fallback, default ":4701"; "off" disables
	MaxFrame configfile.Size `yaml:"max_frame"` // default 4MiB, from wire.MinMaxFrame (1MiB) to wire.HardMaxFrame (16MiB)
	// MaxClockSkew is how far ahead of the collector's clock an agent's
	// sample may be timed; later samples are refused (counted as
	// clock-skew on the Agents page) so one wrong clock cannot move an
	// archive into the future. Default 10m, 1m to 8760h.
	MaxClockSkew configfile.Duration `yaml:"max_clock_skew"`
}

// TLS names the collector's PKI files; defaults live under DataDir/pki
// (written by `outpost-collector ca init`): ca.pem, ca.key, server.pem, server.key.
type TLS struct {
	CACert string `yaml:"ca_cert"`
	CAKey  string `yaml:"ca_key"`
	Cert   string `yaml:"cert"`
	Key    string `yaml:"key"`
}

// Web is the UI and JSON API listener.
type Web struct {
	Listen     string              `yaml:"listen"`      // default 127.0.0.1:8080
	SessionTTL configfile.Duration `yaml:"session_ttl"` // default 12h
	TLSCert    string              `yaml:"tls_cert"`    // serve HTTPS when both are set
	TLSKey     string              `yaml:"tls_key"`
	// MaxConnections bounds the web connections open at once (a quarter
	// of them from one client address); default 1024, at most half the
	// open file limit the collector gets.
	MaxConnections int `yaml:"max_connections"`
}

// Inventory tunes the inventory database.
type Inventory struct {
	// StatusHistory is how long attributes' status changes are kept;
	// older ones are deleted every hour. Default 9600h (400 days); 0 keeps
	// them forever.
	StatusHistory *configfile.Duration `yaml:"status_history"`
	// Traps is how long received SNMP traps are kept; older ones are
	// deleted every hour. Default 2160h (90 days); 0 keeps them forever.
	Traps *configfile.Duration `yaml:"traps"`
	// MIBDirs are directories of MIB files whose object names name trap
	// and varbind OIDs (besides the built-in standard names). Absent:
	// /usr/share/snmp/mibs; an empty list: none. Missing directories are
	// skipped.
	MIBDirs []string `yaml:"mib_dirs"`
}

// RRD turns the round-robin archives on or off and tunes their write-back
// cache.
type RRD struct {
	// Enabled false runs the collector forward-only (the ingest tier of a
	// deployment whose graphs come from a remote-write store): it journals,
	// applies inventory, status and events, and forwards every sample, but
	// writes no archives (and quotas.archive_bytes_* do not apply). It
	// needs at least one forward.remote_write entry. Default true.
	Enabled       *bool               `yaml:"enabled"`
	FlushInterval configfile.Duration `yaml:"flush_interval"` // default 5m
	FlushWorkers  int                 `yaml:"flush_workers"`  // default 2
}

// On reports whether archives are written (rrd.enabled, default true).
func (r RRD) On() bool { return r.Enabled == nil || *r.Enabled }

// Journal tunes the ingest write-ahead log.
type Journal struct {
	SegmentBytes configfile.Size `yaml:"segment_bytes"` // default 64MiB
}

// Metrics is the Prometheus endpoint.
type Metrics struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:9470; "off" disables
}

// Log selects the log level (debug, info, warn, error; default info) and
// format (text, json; default text), as shared/logging.New takes them.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Package config is the agent's configuration: the YAML schema, its
// defaults and its validation. Load reads a file strictly: an unknown key, a
// wrong type, a bad duration or size, or a file that is not UTF-8 YAML gives
// one error naming the file, line and field (see shared/configfile).
//
// Besides the targets and where their data goes, the file sets the
// agent's own resources: the spool's bounds, polling concurrency, and
// memory_limit, the process's soft memory limit (Config.MemoryLimit;
// DefaultMemoryLimit when absent; agent/run applies it).
package config

import (
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/secret"
)

// Config is the whole agent configuration file.
type Config struct {
	// Name identifies the agent to the collector; it must equal the common
	// name of the agent's certificate.
	Name      string       `yaml:"name"`
	Collector Collector    `yaml:"collector"`
	Spool     Spool        `yaml:"spool"`
	Scheduler Scheduler    `yaml:"scheduler"`
	Metrics   Metrics      `yaml:"metrics"`
	Log       Log          `yaml:"log"`
	Defaults  SNMPDefaults `yaml:"snmp_defaults"`
	SNMP      []SNMPTarget `yaml:"snmp"`
	NTP       []NTPTarget  `yaml:"ntp"`
	// Traps is the SNMP trap and inform receiver; nil (no traps section):
	// none runs.
	Traps *Traps `yaml:"traps"`
	// MemoryLimit is the agent process's soft memory limit: the Go
	// runtime collects garbage more often as its memory nears it
	// (runtime/debug.SetMemoryLimit), instead of letting the heap grow to
	// twice what is live. It is not a hard cap: memory that is really in
	// use is never refused. 0 or absent: DefaultMemoryLimit for the
	// number of targets (see EffectiveMemoryLimit), unless GOMEMLIMIT is
	// set in the environment (then the runtime's limit stays); at least
	// 8MiB. Set, it overrides GOMEMLIMIT.
	MemoryLimit configfile.Size `yaml:"memory_limit"`
}

// Collector is where and how the agent connects.
type Collector struct {
	Address      string              `yaml:"address"`       // host:port of the QUIC (UDP) listener
	TCPFallback  string              `yaml:"tcp_fallback"`  // host:port of the TLS-over-TCP listener; "" disables
	ServerName   string              `yaml:"server_name"`   // TLS name to verify; default: the host of Address
	CA           string              `yaml:"ca"`            // PEM of the collector's CA; default /var/lib/outpost-agent/pki/ca.pem
	Cert         string              `yaml:"cert"`          // PEM of the agent certificate; default /var/lib/outpost-agent/pki/agent.pem
	Key          string              `yaml:"key"`           // PEM of the agent key; default /var/lib/outpost-agent/pki/agent.key
	KeepAlive    configfile.Duration `yaml:"keepalive"`     // default 15s
	IdleTimeout  configfile.Duration `yaml:"idle_timeout"`  // default 60s
	ReconnectMin configfile.Duration `yaml:"reconnect_min"` // default 1s
	ReconnectMax configfile.Duration `yaml:"reconnect_max"` // default 2m
}

// Spool bounds the on-disk buffer.
type Spool struct {
	Dir           string              `yaml:"dir"`            // default /var/lib/outpost-agent/spool
	MaxBytes      configfile.Size     `yaml:"max_bytes"`      // default 1GiB
	MaxAge        configfile.Duration `yaml:"max_age"`        // default 72h
	SegmentBytes  configfile.Size     `yaml:"segment_bytes"`  // default 16MiB
	FsyncInterval configfile.Duration `yaml:"fsync_interval"` // default 1s
	BatchInterval configfile.Duration `yaml:"batch_interval"` // default 1s: period of the batcher's safety flush (every report is written to the spool before the poll returns)
}

// Scheduler bounds polling concurrency.
type Scheduler struct {
	MaxConcurrent int `yaml:"max_concurrent"` // default 64 targets polled at once
}

// Metrics is the optional Prometheus endpoint (off unless Listen is set).
type Metrics struct {
	Listen string `yaml:"listen"`
}

// Log selects the log level (debug, info, warn, error; default info) and
// format (text, json; default text), as shared/logging.New takes them.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// SNMPDefaults apply to every SNMP target that does not set the field.
type SNMPDefaults struct {
	SNMPSettings `yaml:",inline"`
}

// SNMPSettings are the per-target settings that can also be defaulted.
type SNMPSettings struct {
	Port           int                 `yaml:"port"`            // default 161
	Version        string              `yaml:"version"`         // 1, 2c, 3; default 2c
	Community      secret.Secret       `yaml:"community"`       // v1/v2c
	V3             *SNMPv3             `yaml:"v3"`              // v3 credentials
	Interval       configfile.Duration `yaml:"interval"`        // default 60s
	Timeout        configfile.Duration `yaml:"timeout"`         // per request, default 2s
	Retries        *int                `yaml:"retries"`         // default 1
	MaxRepetitions int                 `yaml:"max_repetitions"` // GetBulk, default 25
	MaxOIDs        int                 `yaml:"max_oids"`        // per Get, default 60
	Rediscover     configfile.Duration `yaml:"rediscover"`      // default 1h
	// PortMatch orders the keys that identify an interface across ifIndex
	// renumbering: ifName, ifDescr, ifAlias, ifIndex. Default: all four in that order.
	PortMatch []string `yaml:"port_match"`
}

// SNMPv3 holds USM credentials.
type SNMPv3 struct {
	User           string        `yaml:"user"`
	Level          string        `yaml:"level"`         // noAuthNoPriv, authNoPriv, authPriv
	AuthProtocol   string        `yaml:"auth_protocol"` // MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512
	AuthPassphrase secret.Secret `yaml:"auth_passphrase"`
	PrivProtocol   string        `yaml:"priv_protocol"` // DES, AES, AES-192, AES-256, AES-192-C, AES-256-C
	PrivPassphrase secret.Secret `yaml:"priv_passphrase"`
	Context        string        `yaml:"context"`
}

// SNMPTarget is one SNMP device.
type SNMPTarget struct {
	Name          string `yaml:"name"`    // the host's identity in the inventory
	Address       string `yaml:"address"` // IP or DNS name
	SNMPSettings  `yaml:",inline"`
	Interfaces    InterfaceFilter `yaml:"interfaces"`
	OIDs          []OIDSpec       `yaml:"oids"`
	HostResources bool            `yaml:"host_resources"` // poll HOST-RESOURCES-MIB storage and processors
	// TrapSources are addresses besides Address that this device's traps
	// come from (other interfaces, a loopback used as trap source).
	TrapSources []string `yaml:"trap_sources"`
	// Disable lists device features (DeviceFeatures) not to discover or
	// poll on this target: "entities", "sensors", "cpu", "memory",
	// "lldp", "cdp". All are on by default.
	Disable []string `yaml:"disable"`
}

// InterfaceFilter selects interfaces by ifName/ifDescr glob (path.Match).
type InterfaceFilter struct {
	Include []string `yaml:"include"` // default: all
	Exclude []string `yaml:"exclude"`
	Disable bool     `yaml:"disable"` // poll no interfaces
}

// OIDSpec is a user-listed OID that becomes an attribute.
type OIDSpec struct {
	Name string   `yaml:"name"` // attribute name; key "oid:<name>"
	OID  string   `yaml:"oid"`  // numeric (1.3.6.1...) or MIB::name
	Type string   `yaml:"type"` // gauge, counter32, counter64, derive, absolute; default gauge
	Min  *float64 `yaml:"min"`
	Max  *float64 `yaml:"max"`
}

// NTPTarget is one NTP server or chronyd.
type NTPTarget struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	// Protocol is how the server is asked: "mode6" (ntpd's control
	// queries, as ntpq), "chrony" (chronyd's command port, as chronyc),
	// "sntp" (plain client requests: the offset against the agent's own
	// clock), or "auto" (the default: mode 6, then chrony, then sntp;
	// the first that answers is used until it fails).
	Protocol        string              `yaml:"protocol"`
	Port            int                 `yaml:"port"`             // the NTP port (mode6, sntp); default 123
	ChronyPort      int                 `yaml:"chrony_port"`      // chronyd's command port (chrony, auto); default 323
	Interval        configfile.Duration `yaml:"interval"`         // default 60s
	Timeout         configfile.Duration `yaml:"timeout"`          // per request, default 2s
	Retries         *int                `yaml:"retries"`          // default 2
	OffsetThreshold configfile.Duration `yaml:"offset_threshold"` // default 100ms
}

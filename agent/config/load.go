package config

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/agent/batch"
	"github.com/outpost-nms/outpost/agent/schedule"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/agent/uplink"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/logging"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/secret"
)

// Built-in defaults (the struct comments name them too).
const (
	DefaultPKIDir          = "/var/lib/outpost-agent/pki"
	DefaultSpoolDir        = "/var/lib/outpost-agent/spool"
	DefaultKeepAlive       = uplink.DefaultKeepAlive
	DefaultIdleTimeout     = uplink.DefaultIdleTimeout
	DefaultReconnectMin    = uplink.DefaultBackoffMin
	DefaultReconnectMax    = uplink.DefaultBackoffMax
	DefaultSpoolMaxBytes   = spool.DefaultMaxBytes
	DefaultSpoolMaxAge     = spool.DefaultMaxAge
	DefaultSegmentBytes    = spool.DefaultSegmentBytes
	DefaultFsyncInterval   = spool.DefaultFsyncInterval
	DefaultBatchInterval   = batch.DefaultInterval
	DefaultMaxConcurrent   = schedule.DefaultMaxConcurrent
	DefaultSNMPPort        = 161
	DefaultSNMPVersion     = "2c"
	DefaultInterval        = 60 * time.Second
	DefaultTimeout         = 2 * time.Second
	DefaultSNMPRetries     = 1
	DefaultMaxRepetitions  = 25
	DefaultMaxOIDs         = 60
	DefaultRediscover      = time.Hour
	DefaultNTPPort         = 123
	DefaultChronyPort      = 323
	DefaultNTPProtocol     = "auto"
	DefaultNTPRetries      = 2
	DefaultOffsetThreshold = 100 * time.Millisecond
	MinPassphraseLen       = 8
	// MemoryLimitBase and MemoryLimitPerTarget make DefaultMemoryLimit.
	MemoryLimitBase      = 16 << 20
	MemoryLimitPerTarget = 10 << 10
	// MinMemoryLimit is the smallest memory_limit accepted: below it the
	// runtime alone would keep the collector running all the time.
	MinMemoryLimit = 8 << 20
)

// DefaultMemoryLimit is the soft memory limit of an agent with this many
// targets (SNMP and NTP) when memory_limit is not set: MemoryLimitBase
// plus MemoryLimitPerTarget a target (25.8 MiB for 1,000 targets). What
// the agent keeps grows with its targets (series, inventories, interface
// state: measured, about 15 KB of live heap a target of 8 interfaces). Targets with many
// interfaces need more: the agent raises a default limit that the live
// heap outgrows (agent/run), and a memory_limit set in the file should
// leave room above the live heap for the same reason.
func DefaultMemoryLimit(targets int) int64 {
	return MemoryLimitBase + int64(targets)*MemoryLimitPerTarget
}

// EffectiveMemoryLimit is memory_limit, or DefaultMemoryLimit for the
// configuration's targets when it is 0 or absent.
func (c *Config) EffectiveMemoryLimit() int64 {
	return c.MemoryLimit.Or(DefaultMemoryLimit(len(c.SNMP) + len(c.NTP)))
}

// NTPProtocols are the values of an NTP target's protocol.
var NTPProtocols = []string{"auto", "mode6", "chrony", "sntp"}

// DefaultPortMatch is the default order of interface identity keys.
func DefaultPortMatch() []string { return []string{"ifName", "ifDescr", "ifAlias", "ifIndex"} }

// Load reads the agent configuration at path strictly, fills in defaults and
// validates it. Every error is one line: file:line[:column]: field: problem.
//
// After Load, every SNMP target's SNMPSettings holds its effective settings
// (see SNMPTargetSettings) and protocol names are canonical: Version is
// "1", "2c" or "3"; V3.Level is noAuthNoPriv, authNoPriv or authPriv;
// V3.AuthProtocol is one of MD5, SHA, SHA224, SHA256, SHA384, SHA512 ("" when
// the level has no auth); V3.PrivProtocol one of DES, AES, AES192, AES256,
// AES192C, AES256C ("" when the level has no privacy). These are gosnmp's
// names (gosnmp.SHA256, gosnmp.AES256C, ...).
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

// SNMPTargetSettings returns the effective settings of c.SNMP[i]: each field
// the target sets, else the field of snmp_defaults, else the built-in
// default. V3 is taken whole from the target or, when the target has no v3
// block, from snmp_defaults (blocks are not merged field by field). The
// result shares no slices or pointers with c. After Load, c.SNMP[i].SNMPSettings
// already equals this; the method serves configs built in code.
func (c *Config) SNMPTargetSettings(i int) SNMPSettings {
	return resolveSNMP(c.SNMP[i].SNMPSettings, c.Defaults.SNMPSettings)
}

func resolveSNMP(t, d SNMPSettings) SNMPSettings {
	r := t
	if r.Port == 0 {
		r.Port = d.Port
	}
	if r.Port == 0 {
		r.Port = DefaultSNMPPort
	}
	if r.Version == "" {
		r.Version = d.Version
	}
	if r.Version == "" {
		r.Version = DefaultSNMPVersion
	}
	if r.Community.IsZero() {
		r.Community = d.Community
	}
	if r.V3 == nil {
		r.V3 = d.V3
	}
	if r.V3 != nil {
		v3 := *r.V3
		r.V3 = &v3
	}
	r.Interval = configfile.Duration(t.Interval.Or(d.Interval.Or(DefaultInterval)))
	r.Timeout = configfile.Duration(t.Timeout.Or(d.Timeout.Or(DefaultTimeout)))
	retries := DefaultSNMPRetries
	if t.Retries != nil {
		retries = *t.Retries
	} else if d.Retries != nil {
		retries = *d.Retries
	}
	r.Retries = &retries
	if r.MaxRepetitions == 0 {
		r.MaxRepetitions = d.MaxRepetitions
	}
	if r.MaxRepetitions == 0 {
		r.MaxRepetitions = DefaultMaxRepetitions
	}
	if r.MaxOIDs == 0 {
		r.MaxOIDs = d.MaxOIDs
	}
	if r.MaxOIDs == 0 {
		r.MaxOIDs = DefaultMaxOIDs
	}
	r.Rediscover = configfile.Duration(t.Rediscover.Or(d.Rediscover.Or(DefaultRediscover)))
	if r.PortMatch == nil {
		r.PortMatch = d.PortMatch
	}
	if r.PortMatch == nil {
		r.PortMatch = DefaultPortMatch()
	}
	r.PortMatch = append([]string(nil), r.PortMatch...)
	return r
}

// retriesOr returns the target's retry count, or def when it is not set.
func (t NTPTarget) retriesOr(def int) int {
	if t.Retries == nil {
		return def
	}
	return *t.Retries
}

// applyDefaults fills every unset field except the SNMP targets' settings.
func (c *Config) applyDefaults() {
	col := &c.Collector
	if col.CA == "" {
		col.CA = DefaultPKIDir + "/ca.pem"
	}
	if col.Cert == "" {
		col.Cert = DefaultPKIDir + "/agent.pem"
	}
	if col.Key == "" {
		col.Key = DefaultPKIDir + "/agent.key"
	}
	if col.ServerName == "" {
		if host, _, err := net.SplitHostPort(col.Address); err == nil {
			col.ServerName = host
		}
	}
	col.KeepAlive = configfile.Duration(col.KeepAlive.Or(DefaultKeepAlive))
	col.IdleTimeout = configfile.Duration(col.IdleTimeout.Or(DefaultIdleTimeout))
	col.ReconnectMin = configfile.Duration(col.ReconnectMin.Or(DefaultReconnectMin))
	col.ReconnectMax = configfile.Duration(col.ReconnectMax.Or(DefaultReconnectMax))
	s := &c.Spool
	if s.Dir == "" {
		s.Dir = DefaultSpoolDir
	}
	s.MaxBytes = configfile.Size(s.MaxBytes.Or(DefaultSpoolMaxBytes))
	s.MaxAge = configfile.Duration(s.MaxAge.Or(DefaultSpoolMaxAge))
	s.SegmentBytes = configfile.Size(s.SegmentBytes.Or(DefaultSegmentBytes))
	s.FsyncInterval = configfile.Duration(s.FsyncInterval.Or(DefaultFsyncInterval))
	s.BatchInterval = configfile.Duration(s.BatchInterval.Or(DefaultBatchInterval))
	if c.Scheduler.MaxConcurrent == 0 {
		c.Scheduler.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.Log.Level == "" {
		c.Log.Level = logging.DefaultLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = logging.DefaultFormat
	}
	for i := range c.NTP {
		n := &c.NTP[i]
		if n.Port == 0 {
			n.Port = DefaultNTPPort
		}
		if n.ChronyPort == 0 {
			n.ChronyPort = DefaultChronyPort
		}
		if n.Protocol == "" {
			n.Protocol = DefaultNTPProtocol
		}
		n.Interval = configfile.Duration(n.Interval.Or(DefaultInterval))
		n.Timeout = configfile.Duration(n.Timeout.Or(DefaultTimeout))
		r := n.retriesOr(DefaultNTPRetries)
		n.Retries = &r
		n.OffsetThreshold = configfile.Duration(n.OffsetThreshold.Or(DefaultOffsetThreshold))
	}
	c.applyTrapDefaults()
	for i := range c.SNMP {
		for j := range c.SNMP[i].OIDs {
			if c.SNMP[i].OIDs[j].Type == "" {
				c.SNMP[i].OIDs[j].Type = "gauge"
			}
		}
	}
}

// finish validates the raw values that defaults would hide, resolves
// defaults, then validates the result.
func (c *Config) finish(pos *configfile.Positions) error {
	v := validator{configfile.NewValidator(pos)}
	// snmp_defaults are checked on their own so that an error points there.
	v.snmpSettings("snmp_defaults", &c.Defaults.SNMPSettings, false)
	for i, n := range c.NTP {
		// A command port on a target that never uses it is a mistake
		// (defaults would hide it).
		if n.ChronyPort != 0 && (n.Protocol == "mode6" || n.Protocol == "sntp") {
			v.Fail(fmt.Sprintf("ntp[%d].chrony_port", i), "applies to protocol chrony or auto only (this target's protocol is %s; its NTP port is port)", n.Protocol)
		}
		if n.Port != 0 && n.Protocol == "chrony" {
			v.Fail(fmt.Sprintf("ntp[%d].port", i), "the NTP port (mode6, sntp) does not apply to protocol chrony: set chronyd's command port with chrony_port")
		}
	}
	if v.Err() != nil {
		return v.Err()
	}
	c.applyDefaults()
	for i := range c.SNMP {
		c.SNMP[i].SNMPSettings = resolveSNMP(c.SNMP[i].SNMPSettings, c.Defaults.SNMPSettings)
	}
	v.config(c)
	return v.Err()
}

// validator checks a Config with the checks both sides share
// (configfile.Validator: the earliest error in the file wins) plus the
// agent's own.
type validator struct{ *configfile.Validator }

func (v validator) config(c *Config) {
	v.Name("name", c.Name)
	col := c.Collector
	if col.Address == "" {
		v.Fail("collector.address", "required (host:port of the collector's QUIC listener)")
	} else {
		v.Dial("collector.address", col.Address)
	}
	if col.TCPFallback != "" {
		v.Dial("collector.tcp_fallback", col.TCPFallback)
	}
	if col.ReconnectMax < col.ReconnectMin {
		v.Fail("collector.reconnect_max", "%s is less than reconnect_min %s", col.ReconnectMax, col.ReconnectMin)
	}
	if col.IdleTimeout <= col.KeepAlive {
		v.Fail("collector.idle_timeout", "%s must be longer than keepalive %s", col.IdleTimeout, col.KeepAlive)
	}
	s := c.Spool
	if s.SegmentBytes < 64<<10 {
		v.Fail("spool.segment_bytes", "%s is too small (at least 64KiB)", s.SegmentBytes)
	}
	if s.MaxBytes < 2*s.SegmentBytes {
		v.Fail("spool.max_bytes", "%s must be at least two segments (segment_bytes %s)", s.MaxBytes, s.SegmentBytes)
	}
	if s.MaxAge.D() < time.Minute {
		v.Fail("spool.max_age", "%s is too short (at least 1m)", s.MaxAge)
	}
	if s.FsyncInterval.D() > time.Minute {
		v.Fail("spool.fsync_interval", "%s is too long (at most 1m)", s.FsyncInterval)
	}
	if s.BatchInterval.D() > time.Minute {
		v.Fail("spool.batch_interval", "%s is too long (at most 1m)", s.BatchInterval)
	}
	if n := c.Scheduler.MaxConcurrent; n < 1 || n > 10000 {
		v.Fail("scheduler.max_concurrent", "%d out of range (1-10000)", n)
	}
	if c.Metrics.Listen != "" {
		v.Listen("metrics.listen", c.Metrics.Listen)
	}
	if _, err := logging.ParseLevel(c.Log.Level); err != nil {
		v.Fail("log.level", "%v", err)
	}
	if err := logging.CheckFormat(c.Log.Format); err != nil {
		v.Fail("log.format", "%v", err)
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < MinMemoryLimit {
		v.Fail("memory_limit", "%s is too small (at least %s)", c.MemoryLimit, configfile.Size(MinMemoryLimit))
	}
	names := map[string]string{} // target name -> path of its first use
	for i := range c.SNMP {
		t := &c.SNMP[i]
		p := fmt.Sprintf("snmp[%d]", i)
		v.target(p, t.Name, names)
		v.Host(p+".address", t.Address)
		v.snmpSettings(p, &t.SNMPSettings, true)
		v.interfaces(p+".interfaces", t.Interfaces)
		v.disable(p+".disable", t.Disable)
		oidNames := map[string]bool{}
		for j, o := range t.OIDs {
			v.oid(fmt.Sprintf("%s.oids[%d]", p, j), o, oidNames)
		}
	}
	v.traps(c)
	for i, n := range c.NTP {
		p := fmt.Sprintf("ntp[%d]", i)
		v.target(p, n.Name, names)
		v.Host(p+".address", n.Address)
		v.Port(p+".port", n.Port)
		v.Port(p+".chrony_port", n.ChronyPort)
		if !slices.Contains(NTPProtocols, n.Protocol) {
			v.Fail(p+".protocol", "unknown protocol %q (want %s)", n.Protocol, strings.Join(NTPProtocols, ", "))
		}
		v.intervalTimeout(p, n.Interval, n.Timeout, *n.Retries)
		if n.OffsetThreshold.D() > time.Hour {
			v.Fail(p+".offset_threshold", "%s is too large (at most 1h)", n.OffsetThreshold)
		}
	}
}

// target checks a target name and that it is unique across snmp and ntp.
func (v validator) target(p, name string, names map[string]string) {
	v.Name(p+".name", name)
	if first, dup := names[name]; dup && name != "" {
		v.Fail(p+".name", "duplicate target name %q (also used by %s at line %d)", name, first, v.Line(first+".name"))
	}
	names[name] = p
}

func (v validator) intervalTimeout(p string, interval, timeout configfile.Duration, retries int) {
	if interval.D() < time.Second {
		v.Fail(p+".interval", "%s is too short (at least 1s)", interval)
	}
	if interval.D() > 24*time.Hour {
		v.Fail(p+".interval", "%s is too long (at most 24h)", interval)
	}
	if interval.D()%time.Second != 0 {
		v.Fail(p+".interval", "%s must be a whole number of seconds", interval)
	}
	if timeout.D() < time.Millisecond {
		v.Fail(p+".timeout", "%s is too short (at least 1ms)", timeout)
	}
	if timeout >= interval {
		v.Fail(p+".timeout", "%s must be shorter than the interval %s", timeout, interval)
	}
	if retries < 0 || retries > 10 {
		v.Fail(p+".retries", "%d out of range (0-10)", retries)
	}
}

var portMatchKeys = []string{"ifName", "ifDescr", "ifAlias", "ifIndex"}

// snmpSettings validates settings; resolved means defaults are applied and
// the version-dependent credentials must be complete.
func (v validator) snmpSettings(p string, s *SNMPSettings, resolved bool) {
	if s.Port != 0 || resolved {
		v.Port(p+".port", s.Port)
	}
	if s.Version != "" {
		ver, ok := canonicalVersion(s.Version)
		if !ok {
			v.Fail(p+".version", "unknown SNMP version %q (want 1, 2c or 3)", s.Version)
		}
		s.Version = ver
	}
	if s.V3 != nil {
		v.v3(p+".v3", s.V3, resolved)
	}
	if !resolved {
		if s.Interval != 0 && s.Interval.D() < time.Second {
			v.Fail(p+".interval", "%s is too short (at least 1s)", s.Interval)
		}
		if s.Retries != nil && (*s.Retries < 0 || *s.Retries > 10) {
			v.Fail(p+".retries", "%d out of range (0-10)", *s.Retries)
		}
	} else {
		v.intervalTimeout(p, s.Interval, s.Timeout, *s.Retries)
		switch s.Version {
		case "1", "2c":
			if s.Community.IsZero() {
				v.Fail(p+".community", "required for SNMP version %s (set it here or in snmp_defaults)", s.Version)
			}
		case "3":
			if s.V3 == nil {
				v.Fail(p+".v3", "required for SNMP version 3 (set it here or in snmp_defaults)")
			}
		}
		if s.Rediscover < s.Interval {
			v.Fail(p+".rediscover", "%s must not be shorter than the interval %s", s.Rediscover, s.Interval)
		}
	}
	if s.MaxRepetitions < 0 || s.MaxRepetitions > 1000 {
		v.Fail(p+".max_repetitions", "%d out of range (1-1000)", s.MaxRepetitions)
	}
	if s.MaxOIDs < 0 || s.MaxOIDs > 1000 {
		v.Fail(p+".max_oids", "%d out of range (1-1000)", s.MaxOIDs)
	}
	seen := map[string]bool{}
	for i, k := range s.PortMatch {
		kp := fmt.Sprintf("%s.port_match[%d]", p, i)
		canon := ""
		for _, valid := range portMatchKeys {
			if strings.EqualFold(k, valid) {
				canon = valid
			}
		}
		if canon == "" {
			v.Fail(kp, "unknown interface key %q (want ifName, ifDescr, ifAlias or ifIndex)", k)
		} else if seen[canon] {
			v.Fail(kp, "%s listed twice", canon)
		} else {
			s.PortMatch[i] = canon
		}
		seen[canon] = true
	}
	if s.PortMatch != nil && len(s.PortMatch) == 0 {
		v.Fail(p+".port_match", "must list at least one key")
	}
}

func canonicalVersion(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "v1":
		return "1", true
	case "2", "2c", "v2c", "v2":
		return "2c", true
	case "3", "v3":
		return "3", true
	}
	return s, false
}

// canonicalProtocol maps what users type (SHA-256, sha256, AES-256-C) to
// gosnmp's name (SHA256, AES256C) by dropping '-' and '_' and upper-casing.
func canonicalProtocol(s string, valid []string) (string, bool) {
	k := strings.ToUpper(strings.NewReplacer("-", "", "_", "", " ", "").Replace(s))
	if k == "SHA1" {
		k = "SHA"
	}
	if k == "AES128" {
		k = "AES"
	}
	for _, v := range valid {
		if k == v {
			return v, true
		}
	}
	return s, false
}

// AuthProtocols and PrivProtocols are the canonical SNMPv3 protocol names.
var (
	authProtocols = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	privProtocols = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}
)

// v3 checks (and canonicalises in place) a v3 block.
func (v validator) v3(p string, u *SNMPv3, resolved bool) {
	if u.User == "" {
		v.Fail(p+".user", "required")
	}
	var level string
	switch strings.ToLower(u.Level) {
	case "noauthnopriv":
		level = "noAuthNoPriv"
	case "authnopriv":
		level = "authNoPriv"
	case "authpriv":
		level = "authPriv"
	case "":
		v.Fail(p+".level", "required (noAuthNoPriv, authNoPriv or authPriv)")
		return
	default:
		v.Fail(p+".level", "unknown security level %q (want noAuthNoPriv, authNoPriv or authPriv)", u.Level)
		return
	}
	u.Level = level
	needAuth := level != "noAuthNoPriv"
	needPriv := level == "authPriv"
	if needAuth {
		if u.AuthProtocol == "" {
			v.Fail(p+".auth_protocol", "required for level %s (MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512)", level)
		} else if canon, ok := canonicalProtocol(u.AuthProtocol, authProtocols); !ok {
			v.Fail(p+".auth_protocol", "unknown authentication protocol %q (want MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512)", u.AuthProtocol)
		} else {
			u.AuthProtocol = canon
		}
		v.passphrase(p+".auth_passphrase", u.AuthPassphrase, level)
	} else if u.AuthProtocol != "" || !u.AuthPassphrase.IsZero() {
		v.Fail(p+".auth_protocol", "set, but level %s uses no authentication", level)
	}
	if needPriv {
		if u.PrivProtocol == "" {
			v.Fail(p+".priv_protocol", "required for level authPriv (DES, AES, AES-192, AES-256, AES-192-C or AES-256-C)")
		} else if canon, ok := canonicalProtocol(u.PrivProtocol, privProtocols); !ok {
			v.Fail(p+".priv_protocol", "unknown privacy protocol %q (want DES, AES, AES-192, AES-256, AES-192-C or AES-256-C)", u.PrivProtocol)
		} else {
			u.PrivProtocol = canon
		}
		v.passphrase(p+".priv_passphrase", u.PrivPassphrase, level)
	} else if u.PrivProtocol != "" || !u.PrivPassphrase.IsZero() {
		v.Fail(p+".priv_protocol", "set, but level %s uses no privacy (use authPriv)", level)
	}
}

func (v validator) passphrase(p string, s secret.Secret, level string) {
	switch n := len(s.Reveal()); {
	case n == 0:
		v.Fail(p, "required for level %s", level)
	case n < MinPassphraseLen:
		v.Fail(p, "must be at least %d characters", MinPassphraseLen)
	}
}

func (v validator) interfaces(p string, f InterfaceFilter) {
	for i, g := range f.Include {
		if _, err := path.Match(g, ""); err != nil {
			v.Fail(fmt.Sprintf("%s.include[%d]", p, i), "bad pattern %q: %v", g, err)
		}
	}
	for i, g := range f.Exclude {
		if _, err := path.Match(g, ""); err != nil {
			v.Fail(fmt.Sprintf("%s.exclude[%d]", p, i), "bad pattern %q: %v", g, err)
		}
	}
}

var (
	numericOIDRE = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)+$`)
	mibOIDRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*::[a-zA-Z][A-Za-z0-9-]*(\.[0-9]+)*$`)
	oidNameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

func (v validator) oid(p string, o OIDSpec, names map[string]bool) {
	switch {
	case o.Name == "":
		v.Fail(p+".name", "required")
	case !oidNameRE.MatchString(o.Name):
		v.Fail(p+".name", "%q is not a valid name (letters, digits, '.', '_', '-')", o.Name)
	case names[o.Name]:
		v.Fail(p+".name", "duplicate OID name %q in this target", o.Name)
	}
	names[o.Name] = true
	switch {
	case o.OID == "":
		v.Fail(p+".oid", "required")
	case !numericOIDRE.MatchString(o.OID) && !mibOIDRE.MatchString(o.OID):
		v.Fail(p+".oid", "%q is neither a numeric OID (1.3.6.1.2.1.1.3.0) nor MIB::name (SNMPv2-MIB::sysUpTime.0)", o.OID)
	}
	if _, err := sample.ParseKind(o.Type); err != nil {
		v.Fail(p+".type", "%v", err)
	}
	if o.Min != nil && o.Max != nil && *o.Min > *o.Max {
		v.Fail(p+".min", "min %g is above max %g", *o.Min, *o.Max)
	}
}

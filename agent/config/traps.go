package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"strings"

	"github.com/outpost-nms/outpost/shared/secret"
)

// Traps configures the agent's SNMP trap and inform receiver (agent/trap).
// The receiver runs only when the file has a traps section.
type Traps struct {
	// Listen is the UDP address to receive on; default ":162" (a
	// privileged port: see the README's "Traps" section).
	Listen string `yaml:"listen"`
	// Communities accepted in v1 and v2c traps and informs. None: v1 and
	// v2c notifications are refused.
	Communities []secret.Secret `yaml:"communities"`
	// V3Users are the USM users accepted in v3 traps and informs, with the
	// settings and validation of an SNMP target's v3 block (context
	// ignored). A trap's keys are localised to the sending device's
	// engine ID (learnt from each trap); an inform's to the agent's own
	// EngineID, which the sender discovers first.
	V3Users []SNMPv3 `yaml:"v3_users"`
	// EngineID is the agent's own SNMP engine ID as hex (10 to 64 hex
	// digits), which informs are addressed to. Default: derived from the
	// agent's name (EffectiveEngineID).
	EngineID string `yaml:"engine_id"`
	// RatePerSource is the sustained traps per second accepted from one
	// source address (token bucket); default 100.
	RatePerSource float64 `yaml:"rate_per_source"`
	// Burst is the bucket's size: how many traps one source may send at
	// once; default 200.
	Burst int `yaml:"burst"`
	// QueueSize bounds the traps received and not yet spooled; beyond it
	// traps are dropped and counted (informs stay unanswered, so the
	// sender retries). Default 10000.
	QueueSize int `yaml:"queue_size"`
}

// Trap receiver defaults.
const (
	DefaultTrapListen    = ":162"
	DefaultTrapRate      = 100
	DefaultTrapBurst     = 200
	DefaultTrapQueueSize = 10000
)

// EffectiveEngineID returns the engine ID informs are addressed to, as
// bytes: EngineID when set, else RFC 3411 format 4 (text) under net-snmp's
// enterprise number with "outpost:" and the agent's name (cut to fit 32
// bytes), so it is stable across restarts and differs between agents.
func (c *Config) EffectiveEngineID() []byte {
	if c.Traps != nil && c.Traps.EngineID != "" {
		b, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(c.Traps.EngineID), "0x"))
		if err == nil {
			return b
		}
	}
	id := append([]byte{0x80, 0x00, 0x1f, 0x88, 0x04}, "outpost:"+c.Name...)
	if len(id) > 32 {
		id = id[:32]
	}
	return id
}

func (c *Config) applyTrapDefaults() {
	t := c.Traps
	if t == nil {
		return
	}
	if t.Listen == "" {
		t.Listen = DefaultTrapListen
	}
	if t.RatePerSource == 0 {
		t.RatePerSource = DefaultTrapRate
	}
	if t.Burst == 0 {
		t.Burst = DefaultTrapBurst
	}
	if t.QueueSize == 0 {
		t.QueueSize = DefaultTrapQueueSize
	}
}

func (v validator) traps(c *Config) {
	for i := range c.SNMP {
		for j, s := range c.SNMP[i].TrapSources {
			if net.ParseIP(s) == nil {
				v.Fail(fmt.Sprintf("snmp[%d].trap_sources[%d]", i, j), "%q is not an IP address", s)
			}
		}
	}
	t := c.Traps
	if t == nil {
		return
	}
	v.Listen("traps.listen", t.Listen)
	for i, cm := range t.Communities {
		if cm.IsZero() {
			v.Fail(fmt.Sprintf("traps.communities[%d]", i), "empty community")
		}
	}
	users := map[string]int{}
	for i := range t.V3Users {
		p := fmt.Sprintf("traps.v3_users[%d]", i)
		u := &t.V3Users[i]
		v.v3(p, u, true)
		if u.Context != "" {
			v.Fail(p+".context", "does not apply to traps")
		}
		if first, dup := users[u.User]; dup && u.User != "" {
			v.Fail(p+".user", "duplicate user %q (also traps.v3_users[%d])", u.User, first)
		}
		users[u.User] = i
	}
	if len(t.Communities) == 0 && len(t.V3Users) == 0 {
		v.Fail("traps", "accepts nothing: set communities (v1, v2c) or v3_users")
	}
	if t.EngineID != "" {
		b, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(t.EngineID), "0x"))
		switch {
		case err != nil:
			v.Fail("traps.engine_id", "%q is not hex", t.EngineID)
		case len(b) < 5 || len(b) > 32:
			v.Fail("traps.engine_id", "%d bytes; an engine ID has 5 to 32 (RFC 3411)", len(b))
		}
	}
	if t.RatePerSource < 0 || t.RatePerSource > 1e6 {
		v.Fail("traps.rate_per_source", "%g out of range (0-1000000 traps per second)", t.RatePerSource)
	}
	if t.Burst < 1 || t.Burst > 1e6 {
		v.Fail("traps.burst", "%d out of range (1-1000000)", t.Burst)
	}
	if t.QueueSize < 1 || t.QueueSize > 1e6 {
		v.Fail("traps.queue_size", "%d out of range (1-1000000)", t.QueueSize)
	}
}

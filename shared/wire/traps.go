package wire

import "fmt"

// Trap is one SNMP notification (a v1 trap, a v2c/v3 trap, or an inform)
// that an agent received, decoded and attributed. It travels in
// Batch.Traps (key 6) and so gets the spool's and the journal's delivery:
// exactly once into the collector's store.
//
// Traps are CBOR maps with integer keys: later versions add keys that this
// one skips; the keys are fixed forever. Every string in a Trap has been
// through shared/safetext on the agent (device bytes are untrusted), and
// the collector checks the bounds again (Validate).
type Trap struct {
	// Time is when the agent received the trap, Unix milliseconds.
	Time int64 `cbor:"1,keyasint"`
	// Host is the name of the target the trap is attributed to; "" when
	// no target matches the source (an unknown source is kept, not dropped).
	Host string `cbor:"2,keyasint,omitempty"`
	// Source is the address the trap was attributed by: the
	// snmpTrapAddress.0 varbind, else the v1 agent-addr, else the UDP
	// source IP (see SourceFrom).
	Source string `cbor:"3,keyasint"`
	// From is the UDP source, ip:port.
	From string `cbor:"4,keyasint,omitempty"`
	// Version is the SNMP version: 1, 2 (v2c) or 3.
	Version uint8 `cbor:"5,keyasint"`
	// Inform is true for an InformRequest (acknowledged by the agent
	// after the trap was spooled).
	Inform bool `cbor:"6,keyasint,omitempty"`
	// OID is the notification's identity (snmpTrapOID.0; a v1 trap is
	// translated as RFC 3584 section 3.1 says), numeric without a
	// leading dot.
	OID string `cbor:"7,keyasint"`
	// Uptime is the sender's sysUpTime.0 (v1: time-stamp), in
	// hundredths of a second.
	Uptime uint32 `cbor:"8,keyasint,omitempty"`
	// VarBinds are the notification's variables, in order, without
	// sysUpTime.0 and snmpTrapOID.0 (carried in Uptime and OID).
	VarBinds []VarBind `cbor:"9,keyasint,omitempty"`
	// User is the SNMPv3 security name (never a community: those are
	// secrets).
	User string `cbor:"10,keyasint,omitempty"`
	// SourceFrom says which field Source came from.
	SourceFrom TrapSourceKind `cbor:"11,keyasint,omitempty"`
	// Enterprise, Generic and Specific are a v1 trap's own fields.
	Enterprise string `cbor:"12,keyasint,omitempty"`
	Generic    int32  `cbor:"13,keyasint,omitempty"`
	Specific   int32  `cbor:"14,keyasint,omitempty"`
	// Truncated counts varbinds the agent left out because the trap had
	// more than MaxTrapVarBinds.
	Truncated uint32 `cbor:"15,keyasint,omitempty"`
}

// TrapSourceKind says where a trap's Source address came from.
type TrapSourceKind uint8

// Where a trap's source address came from, in the order attribution tries them.
const (
	SourceUDP         TrapSourceKind = 0 // the UDP source address
	SourceTrapAddress TrapSourceKind = 1 // the snmpTrapAddress.0 varbind (1.3.6.1.6.3.18.1.3.0)
	SourceAgentAddr   TrapSourceKind = 2 // the v1 trap's agent-addr field
)

// String names the kind as the API shows it.
func (k TrapSourceKind) String() string {
	switch k {
	case SourceTrapAddress:
		return "snmpTrapAddress"
	case SourceAgentAddr:
		return "agent-addr"
	default: // SourceUDP: the datagram's source, below
	}
	return "udp"
}

// VarBind is one variable of a trap.
type VarBind struct {
	// OID is numeric, without a leading dot.
	OID string `cbor:"1,keyasint"`
	// Type is the value's ASN.1 BER tag as SNMP uses it (0x02 Integer,
	// 0x04 OctetString, 0x06 ObjectIdentifier, 0x40 IPAddress,
	// 0x41 Counter32, 0x42 Gauge32, 0x43 TimeTicks, 0x46 Counter64, 0x80
	// noSuchObject, ...); VarBindTypeName names it.
	Type uint8 `cbor:"2,keyasint"`
	// Value is the value as text: integers in decimal, OIDs numeric,
	// addresses dotted, strings escaped by shared/safetext, and octet
	// strings that are not text as hex pairs separated by ':' (Hex set).
	Value string `cbor:"3,keyasint,omitempty"`
	// Hex is true when Value is the hex form of an octet string.
	Hex bool `cbor:"4,keyasint,omitempty"`
}

// Trap bounds: an agent cuts anything larger before it spools, and the
// collector refuses a batch whose traps exceed them.
const (
	MaxTrapVarBinds  = 128  // varbinds kept per trap (the rest counted in Truncated)
	MaxTrapValueLen  = 1024 // bytes of a varbind's Value text
	MaxTrapOIDLen    = 512  // bytes of an OID's text (128 sub-identifiers)
	MaxTrapStringLen = 256  // bytes of Host, Source, From, User, Enterprise
)

// VarBindTypeName names a VarBind.Type as SNMP specifications spell it.
func VarBindTypeName(t uint8) string {
	switch t {
	case 0x01:
		return "Boolean"
	case 0x02:
		return "Integer"
	case 0x03:
		return "BitString"
	case 0x04:
		return "OctetString"
	case 0x05:
		return "Null"
	case 0x06:
		return "ObjectIdentifier"
	case 0x07:
		return "ObjectDescription"
	case 0x40:
		return "IpAddress"
	case 0x41:
		return "Counter32"
	case 0x42:
		return "Gauge32"
	case 0x43:
		return "TimeTicks"
	case 0x44:
		return "Opaque"
	case 0x45:
		return "NsapAddress"
	case 0x46:
		return "Counter64"
	case 0x47:
		return "Uinteger32"
	case 0x78:
		return "OpaqueFloat"
	case 0x79:
		return "OpaqueDouble"
	case 0x80:
		return "noSuchObject"
	case 0x81:
		return "noSuchInstance"
	case 0x82:
		return "endOfMibView"
	}
	return fmt.Sprintf("type-0x%02x", t)
}

// Validate checks a trap's bounds and required fields.
func (t *Trap) Validate() error {
	if t.Version != 1 && t.Version != 2 && t.Version != 3 {
		return fmt.Errorf("trap: version %d", t.Version)
	}
	if t.OID == "" || len(t.OID) > MaxTrapOIDLen {
		return fmt.Errorf("trap: OID length %d", len(t.OID))
	}
	for _, s := range []string{t.Host, t.Source, t.From, t.User, t.Enterprise} {
		if len(s) > MaxTrapStringLen {
			return fmt.Errorf("trap %s: a string field of %d bytes (at most %d)", t.OID, len(s), MaxTrapStringLen)
		}
	}
	if len(t.VarBinds) > MaxTrapVarBinds {
		return fmt.Errorf("trap %s: %d varbinds (at most %d)", t.OID, len(t.VarBinds), MaxTrapVarBinds)
	}
	for i := range t.VarBinds {
		v := &t.VarBinds[i]
		if v.OID == "" || len(v.OID) > MaxTrapOIDLen {
			return fmt.Errorf("trap %s: varbind %d: OID length %d", t.OID, i, len(v.OID))
		}
		if len(v.Value) > MaxTrapValueLen {
			return fmt.Errorf("trap %s: varbind %d: value of %d bytes", t.OID, i, len(v.Value))
		}
	}
	return nil
}

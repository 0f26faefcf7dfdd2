package trap

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/snmp"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/snmpname"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Refusal reasons, as counted (metric label) and logged.
const (
	ReasonMalformed       = "malformed"        // not an SNMP message gosnmp can decode
	ReasonCommunity       = "wrong_community"  // v1/v2c with a community not configured
	ReasonNoV1V2          = "v1_v2c_disabled"  // v1/v2c while no community is configured
	ReasonV3Auth          = "v3_auth"          // unknown user, wrong key, bad digest, or decryption error
	ReasonNoV3            = "v3_disabled"      // v3 while no user is configured
	ReasonNotNotification = "not_notification" // a get, set or response sent to the trap port
)

// RefusedError is a message the receiver refuses: counted under Reason,
// logged at most once per source per minute, never stored.
type RefusedError struct {
	Reason string
	Err    error
}

func (e *RefusedError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *RefusedError) Unwrap() error { return e.Err }

func refuse(reason string, format string, args ...any) error {
	return &RefusedError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Message is a decoded datagram.
type Message struct {
	// Trap is the notification, with Source and SourceFrom set from the
	// message (snmpTrapAddress.0, v1 agent-addr, else the UDP source) and
	// Host left empty (attribution is the caller's).
	Trap wire.Trap
	// Reply, when set, is what to send back to the sender: an inform's
	// response (only after the trap is spooled), or the report answering
	// an SNMPv3 engine ID discovery (at once; then Probe is true and Trap
	// is empty).
	Reply []byte
	Probe bool
	// Key identifies an inform across the sender's retransmissions (same
	// source, request ID and content), for deduplication.
	Key uint64
	// Candidates are the addresses the trap may be attributed by, in the
	// order attribution tries them: the snmpTrapAddress.0 varbind, the v1
	// agent-addr, the UDP source. Trap.Source is the first.
	Candidates []Candidate
}

// Candidate is an address a trap may be attributed by.
type Candidate struct {
	Addr netip.Addr
	From wire.TrapSourceKind
}

// Decoder decodes trap datagrams with gosnmp and checks their credentials.
// It is not safe for concurrent use (one per reading goroutine).
type Decoder struct {
	plain       gosnmp.GoSNMP // decodes v1/v2c (no security parameters)
	noFast      bool          // decode everything with gosnmp (tests compare both)
	communities [][]byte
	v3          *gosnmp.GoSNMP // with the users' security parameters table; nil without users
	probe       *gosnmp.GoSNMP // decodes unauthenticated engine ID discovery requests
	engineID    string
	boots       uint32
	start       time.Time
	now         func() time.Time
}

// NewDecoder builds a decoder accepting the communities (v1, v2c) and the
// v3 users (canonical, as config.Load leaves them), answering engine ID
// discovery with engineID. now is the clock for receive times.
func NewDecoder(communities []string, users []config.SNMPv3, engineID []byte, now func() time.Time) (*Decoder, error) {
	if now == nil {
		now = time.Now
	}
	d := &Decoder{engineID: string(engineID), boots: 1, start: now(), now: now}
	for _, c := range communities {
		d.communities = append(d.communities, []byte(c))
	}
	if len(users) > 0 {
		gosnmp.PasswordCaching(true) // a trap's keys are localised per sending engine; cache the password digests
		table := gosnmp.NewSnmpV3SecurityParametersTable(gosnmp.Logger{})
		for i := range users {
			usm, flags, err := usmOf(&users[i])
			if err != nil {
				return nil, err
			}
			_ = flags
			usm.AuthoritativeEngineID = d.engineID // informs are addressed to this agent
			if err := table.Add(users[i].User, usm); err != nil {
				return nil, fmt.Errorf("trap: v3 user %q: %w", users[i].User, err)
			}
		}
		d.v3 = &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel}
		d.v3.SetTrapSecurityParametersTable(table)
		d.probe = &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
			SecurityParameters: &gosnmp.UsmSecurityParameters{AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv}}
	}
	return d, nil
}

// usmOf turns a validated v3 block into gosnmp's USM parameters.
func usmOf(u *config.SNMPv3) (*gosnmp.UsmSecurityParameters, gosnmp.SnmpV3MsgFlags, error) {
	flags, err := snmp.ParseLevel(u.Level)
	if err != nil {
		return nil, 0, fmt.Errorf("trap: v3 user %q: %w", u.User, err)
	}
	usm := &gosnmp.UsmSecurityParameters{UserName: u.User, AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv}
	if flags&gosnmp.AuthNoPriv != 0 {
		if usm.AuthenticationProtocol, err = snmp.ParseAuthProtocol(u.AuthProtocol); err != nil {
			return nil, 0, err
		}
		usm.AuthenticationPassphrase = u.AuthPassphrase.Reveal()
	}
	if flags == gosnmp.AuthPriv {
		if usm.PrivacyProtocol, err = snmp.ParsePrivProtocol(u.PrivProtocol); err != nil {
			return nil, 0, err
		}
		usm.PrivacyPassphrase = u.PrivPassphrase.Reveal()
	}
	return usm, flags, nil
}

// peekVersion reads the version of an SNMP message: SEQUENCE { INTEGER
// version, ... } with a one-byte version.
func peekVersion(b []byte) (int, bool) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, false
	}
	i := 2
	if b[1]&0x80 != 0 {
		n := int(b[1] & 0x7f)
		if n == 0 || n > 4 {
			return 0, false
		}
		i += n
	}
	if len(b) < i+3 || b[i] != 0x02 || b[i+1] != 1 {
		return 0, false
	}
	return int(b[i+2]), true
}

// Decode decodes one datagram from src. pkt may be modified (gosnmp
// blanks the digest in place while authenticating). The result shares no
// memory with pkt. A refused message returns a *RefusedError.
func (d *Decoder) Decode(pkt []byte, src netip.AddrPort) (m Message, err error) {
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not take the receiver down
			m, err = Message{}, refuse(ReasonMalformed, "decoder panic: %v", r)
		}
	}()
	ver, ok := peekVersion(pkt)
	if !ok {
		return m, refuse(ReasonMalformed, "not an SNMP message")
	}
	var p *gosnmp.SnmpPacket
	switch ver {
	case int(gosnmp.Version1), int(gosnmp.Version2c):
		if len(d.communities) == 0 {
			return m, refuse(ReasonNoV1V2, "v1/v2c traps are not accepted (no community configured)")
		}
		if p, err = fastTrap(pkt); err != nil || d.noFast {
			if p, err = d.plain.UnmarshalTrap(pkt, false); err != nil {
				return m, refuse(ReasonMalformed, "%v", err)
			}
		}
		if !d.communityOK(p.Community) {
			return m, refuse(ReasonCommunity, "wrong community")
		}
	case int(gosnmp.Version3):
		if d.v3 == nil {
			return m, refuse(ReasonNoV3, "v3 traps are not accepted (no v3 user configured)")
		}
		if m, ok := d.discovery(pkt); ok {
			return m, nil
		}
		if p, err = d.v3.UnmarshalTrap(pkt, true); err != nil {
			return m, refuse(ReasonV3Auth, "%v", err)
		}
	default:
		return m, refuse(ReasonMalformed, "SNMP version field %d", ver)
	}
	return d.notification(p, src)
}

// discovery answers an RFC 3414 section 4 engine ID discovery request (the
// first step of a v3 inform) with a report carrying this agent's engine ID.
func (d *Decoder) discovery(pkt []byte) (Message, bool) {
	cp := append([]byte(nil), pkt...)
	p, err := d.probe.UnmarshalTrap(cp, true)
	if err != nil || p.PDUType != gosnmp.GetRequest || len(p.Variables) != 0 || p.MsgFlags&gosnmp.AuthPriv != gosnmp.NoAuthNoPriv {
		return Message{}, false
	}
	usm, ok := p.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if !ok || usm.UserName != "" || usm.AuthoritativeEngineID != "" {
		return Message{}, false
	}
	rep := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.NoAuthNoPriv, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: d.engineID, AuthoritativeEngineBoots: d.boots,
			AuthoritativeEngineTime: uint32(d.now().Sub(d.start) / time.Second), AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv},
		ContextEngineID: d.engineID, PDUType: gosnmp.Report, MsgID: p.MsgID, RequestID: p.RequestID, MsgMaxSize: 65507,
		Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.6.3.15.1.1.4.0", Type: gosnmp.Counter32, Value: uint32(1)}}}
	b, err := rep.MarshalMsg()
	if err != nil {
		return Message{}, false
	}
	return Message{Reply: b, Probe: true}, true
}

func (d *Decoder) communityOK(c string) bool {
	ok := 0
	for _, want := range d.communities {
		ok |= subtle.ConstantTimeCompare([]byte(c), want)
	}
	return ok == 1
}

// notification turns a decoded trap or inform into a wire.Trap.
func (d *Decoder) notification(p *gosnmp.SnmpPacket, src netip.AddrPort) (Message, error) {
	var m Message
	t := &m.Trap
	t.Time = d.now().UnixMilli()
	t.From = src.String()
	t.Source = src.Addr().Unmap().String()
	vars := p.Variables
	var agentAddr, trapAddr netip.Addr
	switch p.PDUType {
	case gosnmp.Trap: // SNMPv1
		t.Version = 1
		t.Enterprise = cleanOID(p.Enterprise)
		t.Generic, t.Specific = int32(p.GenericTrap), int32(p.SpecificTrap)
		t.Uptime = uint32(p.Timestamp)
		t.OID = snmpname.V1GenericOID(t.Enterprise, p.GenericTrap, p.SpecificTrap)
		if a, err := netip.ParseAddr(p.AgentAddress); err == nil && !a.IsUnspecified() {
			agentAddr = a.Unmap()
		}
	case gosnmp.SNMPv2Trap, gosnmp.InformRequest:
		t.Version = 2
		if p.Version == gosnmp.Version3 {
			t.Version = 3
			if usm, ok := p.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
				t.User = safetext.Line(usm.UserName, wire.MaxTrapStringLen)
			}
		}
		t.Inform = p.PDUType == gosnmp.InformRequest
		// RFC 3416 4.2.6: sysUpTime.0 and snmpTrapOID.0 come first; take
		// them from the first two places, in either order.
		for i := 0; i < 2 && len(vars) > 0; i++ {
			switch strings.TrimPrefix(vars[0].Name, ".") {
			case snmpname.SysUpTime0:
				t.Uptime = uint32(gosnmp.ToBigInt(vars[0].Value).Uint64())
			case snmpname.SnmpTrapOID0:
				if s, ok := vars[0].Value.(string); ok {
					t.OID = cleanOID(s)
				}
			default:
				i = 2
				continue
			}
			vars = vars[1:]
		}
		if t.OID == "" {
			return m, refuse(ReasonMalformed, "notification without snmpTrapOID.0")
		}
	default:
		return m, refuse(ReasonNotNotification, "PDU type %v", p.PDUType)
	}
	if len(vars) > wire.MaxTrapVarBinds {
		t.Truncated = uint32(len(vars) - wire.MaxTrapVarBinds)
		vars = vars[:wire.MaxTrapVarBinds]
	}
	t.VarBinds = make([]wire.VarBind, 0, len(vars))
	for _, v := range vars {
		vb := varBind(v)
		if vb.OID == snmpname.SnmpTrapAddress0 && !trapAddr.IsValid() {
			if a, err := netip.ParseAddr(vb.Value); err == nil && !a.IsUnspecified() {
				trapAddr = a.Unmap()
			}
		}
		t.VarBinds = append(t.VarBinds, vb)
	}
	if trapAddr.IsValid() {
		m.Candidates = append(m.Candidates, Candidate{trapAddr, wire.SourceTrapAddress})
	}
	if agentAddr.IsValid() {
		m.Candidates = append(m.Candidates, Candidate{agentAddr, wire.SourceAgentAddr})
	}
	m.Candidates = append(m.Candidates, Candidate{src.Addr().Unmap(), wire.SourceUDP})
	t.Source, t.SourceFrom = m.Candidates[0].Addr.String(), m.Candidates[0].From
	if t.Inform {
		m.Key = informKey(src.Addr(), p.RequestID, t)
		p.PDUType = gosnmp.GetResponse
		p.Error, p.ErrorIndex = gosnmp.NoError, 0
		p.MsgFlags &^= gosnmp.Reportable
		b, err := p.MarshalMsg()
		if err != nil {
			return m, refuse(ReasonMalformed, "cannot encode the inform's response: %v", err)
		}
		m.Reply = b
	}
	return m, nil
}

// informKey identifies an inform across retransmissions: the UDP source
// address, the request ID and the content.
func informKey(src netip.Addr, reqID uint32, t *wire.Trap) uint64 {
	h := fnv.New64a()
	b := src.AppendTo(make([]byte, 0, 256))
	b = strconv.AppendUint(append(b, '|'), uint64(reqID), 10)
	b = append(append(b, '|'), t.OID...)
	for _, v := range t.VarBinds {
		b = append(append(append(append(b, '|'), v.OID...), '='), v.Value...)
	}
	h.Write(b)
	return h.Sum64()
}

// cleanOID drops the leading dot and bounds an OID's text.
func cleanOID(s string) string {
	s = strings.TrimPrefix(s, ".")
	if len(s) > wire.MaxTrapOIDLen {
		s = s[:wire.MaxTrapOIDLen]
	}
	return safetext.Line(s, wire.MaxTrapOIDLen)
}

// varBind renders one variable (see wire.VarBind).
func varBind(v gosnmp.SnmpPDU) wire.VarBind {
	vb := wire.VarBind{OID: cleanOID(v.Name), Type: uint8(v.Type)}
	if vb.OID == "" {
		vb.OID = "0"
	}
	switch val := v.Value.(type) {
	case nil:
	case []byte:
		vb.Value, vb.Hex = octets(val)
	case string:
		if v.Type == gosnmp.ObjectIdentifier {
			vb.Value = cleanOID(val)
		} else {
			vb.Value, vb.Hex = octets([]byte(val))
		}
	case int:
		vb.Value = strconv.Itoa(val)
	case uint:
		vb.Value = strconv.FormatUint(uint64(val), 10)
	case uint32:
		vb.Value = strconv.FormatUint(uint64(val), 10)
	case uint64:
		vb.Value = strconv.FormatUint(val, 10)
	case int64:
		vb.Value = strconv.FormatInt(val, 10)
	case float32:
		vb.Value = strconv.FormatFloat(float64(val), 'g', -1, 32)
	case float64:
		vb.Value = strconv.FormatFloat(val, 'g', -1, 64)
	default:
		vb.Value = safetext.Line(fmt.Sprint(val), wire.MaxTrapValueLen)
	}
	return vb
}

// octets renders an octet string: as text (through safetext) when it
// reads as text (isText), else as hex pairs; both bounded to
// wire.MaxTrapValueLen.
func octets(b []byte) (string, bool) {
	if isText(b) {
		return safetext.Line(string(b), wire.MaxTrapValueLen), false
	}
	max := (wire.MaxTrapValueLen + 1) / 3
	if len(b) > max {
		b = b[:max]
	}
	var sb strings.Builder
	sb.Grow(3 * len(b))
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String(), true
}

func isText(b []byte) bool {
	// Text: no control characters (other than tab and line ends), and at
	// most a quarter of the bytes outside valid UTF-8 (a Latin-1 "B\xfcro"
	// is text with a visible escape; a MAC address or an index is binary).
	invalid := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			invalid++
		}
		i += n
	}
	return 4*invalid <= len(b)
}

// errRefused reports whether err is a refusal and its reason.
func errRefused(err error) (string, bool) {
	var r *RefusedError
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return "", false
}

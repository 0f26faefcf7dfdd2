package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
)

// Errors a poll or a probe can return, for callers that branch on them
// (errors.Is). The messages they are wrapped in name the host and the user,
// never a community or a passphrase.
var (
	// ErrNoResponse: the device did not answer any retry. For v1/v2c this is
	// also what a wrong community looks like: agents drop such requests.
	ErrNoResponse = errors.New("no response")
	// ErrUnknownUser: the v3 user is not configured on the device.
	ErrUnknownUser = errors.New("unknown SNMPv3 user")
	// ErrWrongAuth: the authentication passphrase (or protocol) is wrong.
	ErrWrongAuth = errors.New("wrong authentication passphrase")
	// ErrWrongPriv: the privacy passphrase (or protocol) is wrong.
	ErrWrongPriv = errors.New("wrong privacy passphrase")
	// ErrNotInTimeWindow: the device refused the engine boots/time.
	ErrNotInTimeWindow = errors.New("not in time window")
	// ErrSecurityLevel: the device does not allow the requested security level for the user.
	ErrSecurityLevel = errors.New("unsupported security level")
	// ErrUnknownEngineID: the device refused the engine ID.
	ErrUnknownEngineID = errors.New("unknown engine ID")
	// ErrAccessDenied: the device answered authorizationError or noAccess:
	// its access control does not let this user, level or community read.
	ErrAccessDenied = errors.New("access denied")
)

// agentError explains an error-status in a response to oid.
func (s *session) agentError(e gosnmp.SNMPError, oid string) error {
	if e == gosnmp.AuthorizationError || e == gosnmp.NoAccess {
		if s.version == gosnmp.Version3 {
			return fmt.Errorf("%s: %w for user %q at security level %s (the device requires another level, or its view excludes %s)",
				s.addr, ErrAccessDenied, s.user, s.level, oid)
		}
		return fmt.Errorf("%s: %w for this community (its view excludes %s)", s.addr, ErrAccessDenied, oid)
	}
	return fmt.Errorf("%s: request for %s: agent error %s", s.addr, oid, e)
}

// session is a target's SNMP client. proto holds the settings and the
// target's own SecurityParameters (gosnmp stores the discovered engine ID,
// boots and time there); it never sends. connect builds the one live
// *gosnmp.GoSNMP from it for the length of a poll, and close drops it, so
// an idle target holds no socket and no 64 KB receive buffer (1,000
// targets would otherwise pin 64 MB). It is used by one goroutine at a
// time (the target's poll); it is never shared between targets.
type session struct {
	proto   *gosnmp.GoSNMP
	g       *gosnmp.GoSNMP // live during a poll, nil between polls
	ctx     context.Context
	addr    string // host:port, for messages
	version gosnmp.SnmpVersion
	user    string // v3 user name ("" for v1/v2c)
	level   string // v3 level as configured, for messages

	rec      *recordingConn
	requests int           // requests sent since the last reset (retries included)
	minRTT   time.Duration // shortest send-to-receive time since the last reset
	sentAt   time.Time
}

// newSession builds the GoSNMP for one target from its effective settings.
// It does not open the socket (connect does). SecurityParameters are fresh
// per session: gosnmp writes the discovered engine ID, boots and time into
// them, so they must never be shared.
func newSession(address string, s config.SNMPSettings) (*session, error) {
	version, err := ParseVersion(s.Version)
	if err != nil {
		return nil, err
	}
	if s.Port <= 0 || s.Port > 65535 {
		return nil, fmt.Errorf("port %d out of range", s.Port)
	}
	retries := DefaultRetries
	if s.Retries != nil {
		retries = *s.Retries
	}
	ss := &session{
		addr:    net.JoinHostPort(address, strconv.Itoa(s.Port)),
		version: version,
	}
	g := &gosnmp.GoSNMP{
		Target:         address,
		Port:           uint16(s.Port),
		Transport:      "udp",
		Version:        version,
		Timeout:        s.Timeout.Or(DefaultTimeout),
		Retries:        retries,
		MaxOids:        s.MaxOIDs,
		MaxRepetitions: uint32(s.MaxRepetitions),
		Context:        context.Background(),
	}
	if g.MaxOids <= 0 {
		g.MaxOids = DefaultMaxOIDs
	}
	switch version {
	case gosnmp.Version1, gosnmp.Version2c:
		if s.Community.IsZero() {
			return nil, fmt.Errorf("SNMP v%s needs a community", s.Version)
		}
		g.Community = s.Community.Reveal()
	case gosnmp.Version3:
		v3 := s.V3
		if v3 == nil || v3.User == "" {
			return nil, fmt.Errorf("SNMP v3 needs v3.user")
		}
		auth, err := ParseAuthProtocol(v3.AuthProtocol)
		if err != nil {
			return nil, err
		}
		priv, err := ParsePrivProtocol(v3.PrivProtocol)
		if err != nil {
			return nil, err
		}
		var flags gosnmp.SnmpV3MsgFlags
		if v3.Level != "" {
			if flags, err = ParseLevel(v3.Level); err != nil {
				return nil, err
			}
		} else {
			switch {
			case !v3.PrivPassphrase.IsZero():
				flags = gosnmp.AuthPriv
			case !v3.AuthPassphrase.IsZero():
				flags = gosnmp.AuthNoPriv
			default:
				flags = gosnmp.NoAuthNoPriv
			}
		}
		usm := &gosnmp.UsmSecurityParameters{UserName: v3.User}
		if flags&gosnmp.AuthNoPriv != 0 {
			if auth == gosnmp.NoAuth {
				auth = gosnmp.MD5 // net-snmp's default when only a passphrase is given
			}
			if len(v3.AuthPassphrase.Reveal()) < 8 {
				return nil, fmt.Errorf("SNMP v3 user %q: the authentication passphrase must be at least 8 characters", v3.User)
			}
			usm.AuthenticationProtocol = auth
			usm.AuthenticationPassphrase = v3.AuthPassphrase.Reveal()
		} else {
			usm.AuthenticationProtocol = gosnmp.NoAuth
		}
		if flags == gosnmp.AuthPriv {
			if priv == gosnmp.NoPriv {
				priv = gosnmp.DES // net-snmp's default
			}
			if len(v3.PrivPassphrase.Reveal()) < 8 {
				return nil, fmt.Errorf("SNMP v3 user %q: the privacy passphrase must be at least 8 characters", v3.User)
			}
			usm.PrivacyProtocol = priv
			usm.PrivacyPassphrase = v3.PrivPassphrase.Reveal()
		} else {
			usm.PrivacyProtocol = gosnmp.NoPriv
		}
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = flags
		g.SecurityParameters = usm
		g.ContextName = v3.Context
		ss.user = v3.User
		ss.level = levelName(flags)
	}
	g.PreSend = func(*gosnmp.GoSNMP) {
		ss.requests++
		ss.sentAt = time.Now()
	}
	g.OnRecv = func(*gosnmp.GoSNMP) {
		if rtt := time.Since(ss.sentAt); ss.minRTT == 0 || rtt < ss.minRTT {
			ss.minRTT = rtt
		}
	}
	ss.proto = g
	ss.ctx = context.Background()
	return ss, nil
}

func levelName(f gosnmp.SnmpV3MsgFlags) string {
	switch f {
	case gosnmp.AuthPriv:
		return "authPriv"
	case gosnmp.AuthNoPriv:
		return "authNoPriv"
	default: // noAuthNoPriv (and gosnmp's Reportable flag alone), below
	}
	return "noAuthNoPriv"
}

// connect builds the live client and opens its socket, unless it is open.
func (s *session) connect() error {
	if s.g != nil {
		return nil
	}
	p := s.proto
	g := &gosnmp.GoSNMP{
		Target: p.Target, Port: p.Port, Transport: "udp", Community: p.Community, Version: p.Version,
		Context: s.ctx, Timeout: p.Timeout, Retries: p.Retries, MaxOids: p.MaxOids, MaxRepetitions: p.MaxRepetitions,
		SecurityModel: p.SecurityModel, MsgFlags: p.MsgFlags, SecurityParameters: p.SecurityParameters,
		ContextName: p.ContextName, PreSend: p.PreSend, OnRecv: p.OnRecv,
	}
	if err := g.Connect(); err != nil {
		return fmt.Errorf("%s: %w", s.addr, err)
	}
	s.rec = &recordingConn{Conn: g.Conn}
	g.Conn = s.rec
	s.g = g
	return nil
}

// recordingConn keeps the last small datagram received, so that a v3
// Report PDU that gosnmp discards as "not authentic" (agents send
// wrongDigest and unknownUserName reports unauthenticated) can still be
// read to explain the failure. It hides net.PacketConn on purpose: gosnmp
// then reads with Read.
type recordingConn struct {
	net.Conn
	last []byte
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && n <= 512 {
		c.last = append(c.last[:0], b[:n]...)
	} else if n > 0 {
		c.last = c.last[:0]
	}
	return n, err
}

// close closes the socket and drops the live client; connect builds a new one.
func (s *session) close() {
	if s.g != nil {
		_ = s.g.Close()
		s.g, s.rec = nil, nil
	}
}

// setContext makes every request of this poll honour ctx.
func (s *session) setContext(ctx context.Context) {
	s.ctx = ctx
	if s.g != nil {
		s.g.Context = ctx
	}
}

// explain turns a gosnmp error into one a user understands: v3 Report PDUs
// are named, silence is "no response from HOST:PORT (...)". Secrets never
// appear: gosnmp's errors do not carry them and neither do ours.
func (s *session) explain(err error) error {
	if err == nil {
		return nil
	}
	user := s.user
	if s.version == gosnmp.Version3 {
		err = s.diagnoseV3(err)
	}
	switch {
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return fmt.Errorf("%s: %w %q (the device has no such user)", s.addr, ErrUnknownUser, user)
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return fmt.Errorf("%s: %w for user %q (or wrong authentication protocol)", s.addr, ErrWrongAuth, user)
	case errors.Is(err, gosnmp.ErrDecryption):
		return fmt.Errorf("%s: %w for user %q (or wrong privacy protocol)", s.addr, ErrWrongPriv, user)
	case errors.Is(err, gosnmp.ErrNotInTimeWindow):
		return fmt.Errorf("%s: %w for user %q (engine boots/time rejected; the device clock or engine ID changed)", s.addr, ErrNotInTimeWindow, user)
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return fmt.Errorf("%s: %w %s for user %q", s.addr, ErrSecurityLevel, s.level, user)
	case errors.Is(err, gosnmp.ErrUnknownEngineID):
		return fmt.Errorf("%s: %w", s.addr, ErrUnknownEngineID)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", s.addr, err)
	case isTimeout(err):
		if s.version == gosnmp.Version3 {
			return fmt.Errorf("%w from %s (wrong port, ACL, host down, or a v3 privacy setting the device cannot decrypt)", ErrNoResponse, s.addr)
		}
		return fmt.Errorf("%w from %s (wrong community, ACL, or host down)", ErrNoResponse, s.addr)
	}
	return fmt.Errorf("%s: %w", s.addr, err)
}

func isTimeout(err error) bool {
	if errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// A refused UDP port surfaces as "connection refused" on the next read.
	return strings.Contains(err.Error(), "timeout") || strings.Contains(err.Error(), "connection refused")
}

// diagnoseV3 refines a v3 failure that gosnmp cannot name by itself:
//   - "not authentic": the agent answered with an unauthenticated Report;
//     read its counter OID from the recorded datagram.
//   - silence at authPriv: agents drop what they cannot decrypt (net-snmp
//     logs "error parsing ScopedPDU" and sends nothing). If the same user
//     answers at authNoPriv, reachability and authentication are fine, so
//     the privacy passphrase (or protocol) is wrong.
func (s *session) diagnoseV3(err error) error {
	if strings.Contains(err.Error(), "not authentic") && s.rec != nil && len(s.rec.last) > 0 {
		if r := reportError(s.rec.last); r != nil {
			return r
		}
	}
	if isTimeout(err) && s.proto.MsgFlags&gosnmp.AuthPriv == gosnmp.AuthPriv && s.ctx.Err() == nil {
		usm, _ := s.proto.SecurityParameters.(*gosnmp.UsmSecurityParameters)
		if usm == nil {
			return err
		}
		probe := &gosnmp.GoSNMP{
			Target: s.proto.Target, Port: s.proto.Port, Transport: "udp", Version: gosnmp.Version3,
			Timeout: max(s.proto.Timeout, time.Second), Retries: 1, Context: s.ctx, MaxOids: 1,
			SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthNoPriv,
			SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: usm.UserName,
				AuthenticationProtocol: usm.AuthenticationProtocol, AuthenticationPassphrase: usm.AuthenticationPassphrase},
		}
		if probe.Connect() != nil {
			return err
		}
		defer probe.Conn.Close()
		_, perr := probe.Get([]string{oidSysUpTime})
		if perr == nil || errors.Is(perr, gosnmp.ErrUnknownSecurityLevel) {
			return fmt.Errorf("%w (%w)", gosnmp.ErrDecryption, err)
		}
	}
	return err
}

// USM statistics OIDs that a v3 Report carries.
const (
	usmStatsPrefix = ".1.3.6.1.6.3.15.1.1."
)

// reportError decodes a datagram as an unauthenticated v3 Report and
// returns the gosnmp error its counter stands for, or nil.
func reportError(buf []byte) error {
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
		MsgFlags: gosnmp.NoAuthNoPriv, SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "report-decoder"}}
	pkt, err := dec.SnmpDecodePacket(buf)
	if err != nil || pkt.PDUType != gosnmp.Report || len(pkt.Variables) == 0 {
		return nil
	}
	switch strings.TrimPrefix(pkt.Variables[0].Name, usmStatsPrefix) {
	case "1.0":
		return gosnmp.ErrUnknownSecurityLevel
	case "2.0":
		return gosnmp.ErrNotInTimeWindow
	case "3.0":
		return gosnmp.ErrUnknownUsername
	case "4.0":
		return gosnmp.ErrUnknownEngineID
	case "5.0":
		return gosnmp.ErrWrongDigest
	case "6.0":
		return gosnmp.ErrDecryption
	}
	return nil
}

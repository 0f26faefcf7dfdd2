package chrony

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	fb "github.com/facebook/time/ntp/chrony"
)

// Client defaults and limits.
const (
	DefaultPort    = 323
	DefaultTimeout = 2 * time.Second
	DefaultRetries = 2
	// MaxReplyLen is the largest datagram read; chronyd's replies are
	// under 600 bytes. A longer one is ignored.
	MaxReplyLen = 1024
	// MaxSources caps the sources read from one daemon (chronyd's own
	// default limit of configured sources is far lower).
	MaxSources = 256
)

// Protocol constants (chrony's candm.h).
const (
	protoVersion = 6
	pktTypeReply = 2
	replyHeadLen = 28
)

// replyLen is the shortest reply of each type this package reads: the
// header and the reply's fields (chrony's pktlength.c, without EOR).
var replyLen = map[fb.ReplyType]int{
	fb.RpyNSources:    replyHeadLen + 4,
	fb.RpySourceData:  replyHeadLen + 48,
	fb.RpyTracking:    replyHeadLen + 76,
	fb.RpySourceStats: replyHeadLen + 56,
}

// Errors a query ends with, for callers that branch.
var (
	// ErrTimeout: no valid reply on any attempt. chronyd answers nothing
	// to an address its cmdallow rules do not allow, so this is also what
	// a refusal looks like; the wrapping error says so.
	ErrTimeout = errors.New("no answer to chrony command requests (timeout)")
	// ErrRefused: ICMP port unreachable; nothing listens on the command port.
	ErrRefused = errors.New("nothing listens on the chrony command port (ICMP port unreachable)")
)

// Status is the status field of a reply (chrony's STT_ codes).
type Status uint16

// Status codes this package names.
const (
	StatusSuccess       Status = 0
	StatusFailed        Status = 1
	StatusUnauth        Status = 2
	StatusInvalid       Status = 3
	StatusNoSuchSource  Status = 4
	StatusNoHostAccess  Status = 10
	StatusBadPktVersion Status = 18
	StatusBadPktLength  Status = 19
)

func (s Status) String() string {
	switch s {
	case StatusUnauth:
		return "not authorised"
	case StatusNoHostAccess:
		return "no command access from this host"
	case StatusInvalid:
		return "invalid command"
	case StatusNoSuchSource:
		return "no such source"
	case StatusBadPktVersion:
		return "protocol version mismatch"
	case StatusBadPktLength:
		return "packet length mismatch"
	case StatusFailed:
		return "failure"
	default: // StatusSuccess and codes newer than this client: by number, below
	}
	return fmt.Sprintf("status %d", uint16(s))
}

// StatusError is a reply whose status is not success.
type StatusError struct {
	Addr    string // the daemon, host:port
	Local   string // the address the request came from (what cmdallow must allow)
	Command string // "tracking", "sources", ...
	Status  Status
}

func (e *StatusError) Error() string {
	if e.Refused() {
		return fmt.Sprintf("chronyd at %s refused the %s command (%s: add `cmdallow %s` to chrony.conf)", e.Addr, e.Command, e.Status, e.Local)
	}
	return fmt.Sprintf("chronyd at %s answered the %s command with %s", e.Addr, e.Command, e.Status)
}

// Refused reports whether chronyd refused the command for the client's
// address (not authorised, or no command access from this host).
func (e *StatusError) Refused() bool {
	return e.Status == StatusUnauth || e.Status == StatusNoHostAccess
}

// Client queries one chronyd. Zero values of Timeout and Retries mean
// their defaults; a negative Retries means a single attempt.
type Client struct {
	// Addr is the daemon's command port as host:port.
	Addr string
	// LocalAddr, when set, is the local IP address to send from.
	LocalAddr string
	// Timeout bounds one attempt. Default DefaultTimeout.
	Timeout time.Duration
	// Retries is how many attempts follow a timed-out one. Default DefaultRetries.
	Retries int
}

// Dial opens a connected UDP socket to the daemon (so that ICMP port
// unreachable shows as ErrRefused).
func (c Client) Dial(ctx context.Context) (*Session, error) {
	d := net.Dialer{}
	if c.LocalAddr != "" {
		ip := net.ParseIP(c.LocalAddr)
		if ip == nil {
			return nil, fmt.Errorf("chrony %s: bad local address %q", c.Addr, c.LocalAddr)
		}
		d.LocalAddr = &net.UDPAddr{IP: ip}
	}
	conn, err := d.DialContext(ctx, "udp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("chrony %s: %w", c.Addr, err)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	local := conn.LocalAddr().String()
	if h, _, err := net.SplitHostPort(local); err == nil {
		local = h
	}
	return &Session{c: c, conn: conn, local: local, seq: rand.Uint32()}, nil
}

// Session is a socket to one daemon, for one goroutine at a time.
type Session struct {
	c     Client
	conn  net.Conn
	local string
	seq   uint32
	buf   [MaxReplyLen + 1]byte
}

// Close closes the socket.
func (s *Session) Close() error { return s.conn.Close() }

// LocalIP is the address requests come from: what chronyd's cmdallow
// must allow.
func (s *Session) LocalIP() string { return s.local }

// ignored counts datagrams that were not the awaited reply.
type ignored struct {
	wrongSeq, notReply, version, short, other int
	last                                      string
}

func (l *ignored) String() string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(l.wrongSeq, "with a wrong sequence number")
	add(l.notReply, "that were not replies to this command")
	add(l.version, "of another protocol version")
	add(l.short, "too short for their reply type (truncated)")
	add(l.other, "malformed (last: "+l.last+")")
	if len(parts) == 0 {
		return "nothing received"
	}
	return "replies ignored: " + strings.Join(parts, ", ")
}

// check decides whether datagram b is the reply to command cmd with
// sequence number seq: "" when it is (its status still to be read), else
// what is wrong, after counting it in log.
func check(b []byte, cmd uint16, seq uint32, log *ignored) bool {
	switch {
	case len(b) < replyHeadLen:
		log.short++
		return false
	case len(b) > MaxReplyLen:
		log.other++
		log.last = fmt.Sprintf("%d bytes", len(b))
		return false
	case b[0] != protoVersion:
		log.version++
		return false
	case b[1] != pktTypeReply || binary.BigEndian.Uint16(b[4:]) != cmd:
		log.notReply++
		return false
	case binary.BigEndian.Uint32(b[16:]) != seq:
		log.wrongSeq++
		return false
	}
	status := Status(binary.BigEndian.Uint16(b[8:]))
	if status != StatusSuccess {
		return true // a header is all an error reply needs
	}
	rtype := fb.ReplyType(binary.BigEndian.Uint16(b[6:]))
	if need, ok := replyLen[rtype]; ok && len(b) < need {
		log.short++
		return false
	}
	return true
}

// datagrams adapts the socket to facebook's Client: Write sends the
// request (and notes its command and sequence number), Read returns the
// first datagram that check accepts.
type datagrams struct {
	conn io.ReadWriter
	buf  []byte
	cmd  uint16
	seq  uint32
	log  *ignored
	// got is set when a reply was accepted, with its status.
	got    bool
	status Status
}

func (d *datagrams) Write(p []byte) (int, error) {
	if len(p) >= 12 {
		d.cmd = binary.BigEndian.Uint16(p[4:])
		d.seq = binary.BigEndian.Uint32(p[8:])
	}
	return d.conn.Write(p)
}

func (d *datagrams) Read(p []byte) (int, error) {
	for {
		n, err := d.conn.Read(d.buf)
		if err != nil {
			return 0, err
		}
		if check(d.buf[:n], d.cmd, d.seq, d.log) {
			d.got, d.status = true, Status(binary.BigEndian.Uint16(d.buf[8:]))
			return copy(p, d.buf[:n]), nil
		}
	}
}

// decode runs facebook's decoder on a reply that check accepted and
// turns a non-success status into *StatusError.
func decode(rw io.ReadWriter, req fb.RequestPacket, seq uint32) (fb.ResponsePacket, error) {
	fc := fb.Client{Connection: rw, Sequence: seq - 1}
	return fc.Communicate(req)
}

// command names for errors.
func commandName(req fb.RequestPacket) string {
	switch req.(type) {
	case *fb.RequestTracking:
		return "tracking"
	case *fb.RequestSources:
		return "sources"
	case *fb.RequestSourceData:
		return "sources (source data)"
	case *fb.RequestSourceStats:
		return "sourcestats"
	}
	return fmt.Sprintf("command %d", req.GetCommand())
}

// query sends req and returns the decoded reply of type want.
func (s *Session) query(ctx context.Context, req fb.RequestPacket, want fb.ReplyType) (fb.ResponsePacket, error) {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	name := commandName(req)
	var log ignored
	attempts := s.c.Retries + 1
	for attempt := 0; attempt < attempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(s.c.Timeout)
		ctxBound := false
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline, ctxBound = d, true
		}
		if err := s.conn.SetReadDeadline(deadline); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.seq++
		d := &datagrams{conn: s.conn, buf: s.buf[:], log: &log}
		resp, err := decode(d, req, s.seq)
		if err == nil {
			if resp.GetType() != want {
				return nil, fmt.Errorf("chrony %s: %s: reply of type %d, want %d", s.c.Addr, name, resp.GetType(), want)
			}
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("chrony %s: %s: %w (chronyd not running there, or its cmdport/bindcmdaddress differ)", s.c.Addr, name, ErrRefused)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if ctxBound {
				return nil, fmt.Errorf("chrony %s: %s: %w: %s", s.c.Addr, name, context.DeadlineExceeded, log.String())
			}
			continue
		}
		switch {
		case d.got && d.status != StatusSuccess:
			return nil, &StatusError{Addr: s.c.Addr, Local: s.local, Command: name, Status: d.status}
		case d.got:
			// The decoder's complaint about a reply that check accepted.
			return nil, fmt.Errorf("chrony %s: %s: bad reply: %w", s.c.Addr, name, err)
		}
		return nil, fmt.Errorf("chrony %s: %s: %w", s.c.Addr, name, err)
	}
	return nil, fmt.Errorf("chrony %s: %s: %w after %d attempts of %v: %s; chronyd drops command requests from addresses that cmdallow does not allow: add `cmdallow %s` to chrony.conf (and a bindcmdaddress this agent reaches)",
		s.c.Addr, name, ErrTimeout, attempts, s.c.Timeout, log.String(), s.local)
}

package ntp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
)

// Client defaults.
const (
	DefaultTimeout = config.DefaultTimeout
	DefaultRetries = config.DefaultNTPRetries
)

// Errors a query ends with, for callers that branch (the probe command, the
// target's status).
var (
	// ErrTimeout: no complete, valid reply within the timeout on any attempt.
	// The wrapping error says what was (not) received.
	ErrTimeout = errors.New("request timed out")
	// ErrRefused: the host answered with ICMP port unreachable.
	ErrRefused = errors.New("no NTP daemon listening (ICMP port unreachable)")
)

// Client queries one NTP server with mode 6 control messages. The zero
// values of Timeout, Retries and MaxResponse mean their defaults; set
// Retries to a negative number for a single attempt.
type Client struct {
	// Addr is the server as host:port.
	Addr string
	// Timeout bounds one attempt: from sending a request until its last
	// fragment. Default DefaultTimeout (2 s).
	Timeout time.Duration
	// Retries is how many more attempts follow a timed-out one. Default 2.
	Retries int
	// MaxResponse caps the reassembled size of one reply in bytes. Default
	// DefaultMaxResponse.
	MaxResponse int
}

// Dial opens a connected UDP socket to the server. A connected socket lets
// the kernel report ICMP port unreachable as ErrRefused.
func (c Client) Dial(ctx context.Context) (*Session, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("ntp %s: %w", c.Addr, err)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	if c.MaxResponse <= 0 {
		c.MaxResponse = DefaultMaxResponse
	}
	return &Session{c: c, conn: conn, seq: uint16(rand.N(1 << 16)), buf: make([]byte, 2048)}, nil
}

// Session is a UDP socket to one server, used for one round of queries by
// one goroutine at a time.
type Session struct {
	c    Client
	conn net.Conn
	seq  uint16
	buf  []byte
}

// Close closes the socket.
func (s *Session) Close() error { return s.conn.Close() }

// Response is a complete, reassembled reply.
type Response struct {
	Status  uint16 // system status word (assoc 0) or the peer's status word
	AssocID uint16
	Data    []byte
}

// attemptLog gathers what an attempt saw, to explain a timeout.
type attemptLog struct {
	wrongSeq, malformed, mismatched int
	lastMalformed, reassembly       string
}

func (l attemptLog) String(missing string) string {
	parts := []string{missing}
	if l.reassembly != "" {
		parts = append(parts, "reassembly failed: "+l.reassembly)
	}
	if l.wrongSeq > 0 {
		parts = append(parts, fmt.Sprintf("%d replies with a wrong sequence number ignored", l.wrongSeq))
	}
	if l.mismatched > 0 {
		parts = append(parts, fmt.Sprintf("%d replies for another opcode or association ignored", l.mismatched))
	}
	if l.malformed > 0 {
		parts = append(parts, fmt.Sprintf("%d malformed packets ignored (last: %s)", l.malformed, l.lastMalformed))
	}
	return strings.Join(parts, "; ")
}

// Query sends one request and returns the reassembled reply. It retries on
// timeout (a new sequence number each attempt), and fails with:
// ErrRefused at once when the port is unreachable; *ServerError at once
// when the server sets the error bit; an error wrapping ErrTimeout, saying
// what was missing or ignored, when no attempt completed; an error wrapping
// ctx.Err() (context.DeadlineExceeded or Canceled) when ctx ends first. Replies with another sequence number, opcode or association,
// and packets that do not parse, are ignored (and counted in the timeout
// error): a stray datagram never ends a query early.
func (s *Session) Query(ctx context.Context, op uint8, assoc uint16, data []byte) (Response, error) {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	attempts := s.c.Retries + 1
	var why string
	for attempt := 0; attempt < attempts; attempt++ {
		resp, done, err := s.attempt(ctx, op, assoc, data, &why)
		if done {
			return resp, err
		}
	}
	return Response{}, fmt.Errorf("ntp %s: %s assoc %d: %w after %d attempts of %v: %s",
		s.c.Addr, opName(op), assoc, ErrTimeout, attempts, s.c.Timeout, why)
}

// attempt runs one request/reply exchange. done reports a final outcome
// (success or an error not worth retrying); otherwise why explains the
// timeout.
func (s *Session) attempt(ctx context.Context, op uint8, assoc uint16, data []byte, why *string) (Response, bool, error) {
	s.seq++
	seq := s.seq
	req := Packet{Version: ControlVersion, Opcode: op, Sequence: seq, AssocID: assoc, Data: data}
	if err := ctx.Err(); err != nil {
		return Response{}, true, err
	}
	if _, err := s.conn.Write(req.Append(nil)); err != nil {
		return Response{}, true, s.netErr(op, assoc, err)
	}
	deadline := time.Now().Add(s.c.Timeout)
	ctxBound := false // the caller's deadline comes first: no point retrying
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxBound = d, true
	}
	if err := s.conn.SetReadDeadline(deadline); err != nil {
		return Response{}, true, err
	}
	// A cancellation from now on resets the deadline after ours (AfterFunc
	// runs after ctx is done), so checking here closes the race.
	if err := ctx.Err(); err != nil {
		return Response{}, true, err
	}
	r := NewReassembler(s.c.MaxResponse)
	var log attemptLog
	for {
		n, err := s.conn.Read(s.buf)
		if err != nil {
			if ctx.Err() != nil {
				return Response{}, true, ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				*why = log.String(r.Missing())
				if ctxBound {
					// The socket deadline may fire a moment before ctx's own timer.
					return Response{}, true, fmt.Errorf("ntp %s: %s assoc %d: %w: %s",
						s.c.Addr, opName(op), assoc, context.DeadlineExceeded, *why)
				}
				return Response{}, false, nil
			}
			return Response{}, true, s.netErr(op, assoc, err)
		}
		p, err := ParsePacket(s.buf[:n])
		switch {
		case err != nil:
			log.malformed++
			log.lastMalformed = err.Error()
			continue
		case !p.Response:
			log.mismatched++
			continue
		case p.Sequence != seq:
			log.wrongSeq++
			continue
		case p.Opcode != op || p.AssocID != assoc:
			log.mismatched++
			continue
		case p.Error:
			return Response{}, true, fmt.Errorf("ntp %s: %w", s.c.Addr,
				&ServerError{Opcode: op, AssocID: assoc, Code: ErrorCode(p.Status >> 8)})
		}
		// Copy: the read buffer is reused.
		p.Data = append([]byte(nil), p.Data...)
		complete, err := r.Add(p)
		if err != nil {
			// This reply is unusable; wait out the attempt so late or
			// duplicated fragments of it do not confuse the next one.
			log.reassembly = err.Error()
			r = NewReassembler(s.c.MaxResponse)
			continue
		}
		if complete {
			return Response{Status: r.Status(), AssocID: assoc, Data: r.Data()}, true, nil
		}
	}
}

func (s *Session) netErr(op uint8, assoc uint16, err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("ntp %s: %s assoc %d: %w", s.c.Addr, opName(op), assoc, ErrRefused)
	}
	return fmt.Errorf("ntp %s: %s assoc %d: %w", s.c.Addr, opName(op), assoc, err)
}

// Association is one entry of the READSTAT list.
type Association struct {
	ID     uint16
	Status PeerStatus
}

// ReadStat asks for the association list (READSTAT on assoc 0) and returns
// the system status word and the associations in the server's order.
func (s *Session) ReadStat(ctx context.Context) (SystemStatus, []Association, error) {
	resp, err := s.Query(ctx, OpReadStat, 0, nil)
	if err != nil {
		return 0, nil, err
	}
	if len(resp.Data)%4 != 0 {
		return 0, nil, fmt.Errorf("ntp %s: READSTAT reply of %d bytes is not a list of 4-byte entries", s.c.Addr, len(resp.Data))
	}
	list := make([]Association, 0, len(resp.Data)/4)
	for i := 0; i < len(resp.Data); i += 4 {
		list = append(list, Association{
			ID:     binary.BigEndian.Uint16(resp.Data[i:]),
			Status: PeerStatus(binary.BigEndian.Uint16(resp.Data[i+2:])),
		})
	}
	return SystemStatus(resp.Status), list, nil
}

// ReadVar reads the variables of the system (assoc 0) or an association;
// names, if given, restricts the reply to those variables (an unknown name
// gives a *ServerError with CodeUnknownVar). It returns the status word of
// the reply and the parsed list.
func (s *Session) ReadVar(ctx context.Context, assoc uint16, names ...string) (uint16, VarList, error) {
	resp, err := s.Query(ctx, OpReadVar, assoc, []byte(strings.Join(names, ",")))
	if err != nil {
		return 0, nil, err
	}
	return resp.Status, ParseVarList(resp.Data), nil
}

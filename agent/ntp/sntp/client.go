package sntp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"
)

// Client defaults.
const (
	DefaultTimeout = 2 * time.Second
	DefaultSamples = 4
	// DefaultGap is the pause between two requests of one query: short
	// enough that a poll stays brief, long enough not to look like a
	// flood (ntpd's "limited" counts requests closer than its minimum
	// only when they keep coming; a burst of four is what iburst sends).
	DefaultGap = 200 * time.Millisecond
	// MaxSamples bounds Client.Samples.
	MaxSamples = 16
)

// Errors a query ends with, for callers that branch.
var (
	// ErrTimeout: no valid reply to any request. The wrapping error says
	// what was received and ignored.
	ErrTimeout = errors.New("no answer to NTP client requests (timeout)")
	// ErrRefused: the host answered with ICMP port unreachable.
	ErrRefused = errors.New("no NTP server listening (ICMP port unreachable)")
)

// KissError is a Kiss-o'-Death: the server asked the client to slow down
// (RATE) or to stop (DENY, RSTR), or sent another kiss code.
type KissError struct {
	Code string // the kiss code, cleaned ("RATE", "DENY", "RSTR", ...)
	Poll int8   // the server's poll field (log2 s): the interval RATE asks for, when set
}

func (e *KissError) Error() string {
	switch e.Code {
	case "RATE":
		return "Kiss-o'-Death RATE: the server asks to be queried less often"
	case "DENY", "RSTR":
		return fmt.Sprintf("Kiss-o'-Death %s: the server refuses to answer this client (access denied)", e.Code)
	}
	return fmt.Sprintf("Kiss-o'-Death %q", e.Code)
}

// Stop reports whether the code asks the client to stop querying (DENY,
// RSTR), as RFC 5905 section 7.4 says.
func (e *KissError) Stop() bool { return e.Code == "DENY" || e.Code == "RSTR" }

// Client queries one server with mode 3 requests. Zero values mean the
// defaults; the zero Client is not usable without Addr.
type Client struct {
	// Addr is the server as host:port.
	Addr string
	// LocalAddr, when set, is the local IP address to send from.
	LocalAddr string
	// Timeout bounds the wait for each reply. Default DefaultTimeout.
	Timeout time.Duration
	// Samples is the number of requests of one query (1..MaxSamples).
	// Default DefaultSamples.
	Samples int
	// Gap is the pause between requests. Default DefaultGap; negative: none.
	Gap time.Duration
	// Now is the local clock the offsets are measured against (default
	// time.Now; its monotonic reading times the round trip).
	Now func() time.Time
}

// Sample is one request and its valid reply.
type Sample struct {
	// Offset is the server's clock minus the local clock: ((T2-T1)+(T3-T4))/2.
	Offset time.Duration
	// Delay is the round trip minus the server's processing time:
	// (T4-T1)-(T3-T2); never negative.
	Delay     time.Duration
	Leap      uint8
	Version   uint8
	Stratum   uint8
	Poll      int8
	Precision int8
	RefID     uint32
	RootDelay time.Duration
	RootDisp  time.Duration
	// Sent and Received are the local times of T1 and T4.
	Sent, Received time.Time
}

// Synced reports whether the server claims a synchronised clock: leap
// indicator not 3 and a stratum from 1 to 15. The reason explains false.
func (s Sample) Synced() (bool, string) {
	switch {
	case s.Leap == LeapAlarm:
		return false, "leap indicator 3 (alarm: the server's clock is not synchronised)"
	case s.Stratum == 0 || s.Stratum >= MaxStratum:
		return false, fmt.Sprintf("stratum %d (not synchronised)", s.Stratum)
	}
	return true, ""
}

// RefIDString is the reference ID as ntpq shows it (see RefIDString).
func (s Sample) RefIDString() string { return RefIDString(s.Stratum, s.RefID) }

// Result is what one query learned.
type Result struct {
	// Samples in the order sent; at least one.
	Samples []Sample
	// Best is the index of the sample with the smallest delay.
	Best int
	// Lost is how many requests got no valid reply.
	Lost int
	// Ignored describes replies that were not accepted ("" when none).
	Ignored string
}

// BestSample returns Samples[Best].
func (r *Result) BestSample() Sample { return r.Samples[r.Best] }

// ignoredLog counts replies that were not accepted, to explain a timeout.
type ignoredLog struct {
	badOrigin, zeroStamps, badMode, malformed, negDelay int
	last                                                string
}

func (l *ignoredLog) String() string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(l.badOrigin, "with an origin timestamp that is not this request's (stale or spoofed)")
	add(l.zeroStamps, "with a zero receive or transmit timestamp")
	add(l.badMode, "that were not server replies (mode or version)")
	add(l.negDelay, "with a negative or absurd round-trip delay")
	add(l.malformed, "malformed (last: "+l.last+")")
	if len(parts) == 0 {
		return ""
	}
	return "replies ignored: " + strings.Join(parts, ", ")
}

// Query sends the requests and collects the samples. It fails with:
// ErrRefused as soon as the port is unreachable; a *KissError as soon as
// the server sends a Kiss-o'-Death; an error wrapping ErrTimeout (saying
// what was ignored) when no request got a valid reply; ctx.Err() when
// ctx ends first.
func (c Client) Query(ctx context.Context) (*Result, error) {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Samples <= 0 {
		c.Samples = DefaultSamples
	}
	c.Samples = min(c.Samples, MaxSamples)
	if c.Gap == 0 {
		c.Gap = DefaultGap
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	d := net.Dialer{}
	if c.LocalAddr != "" {
		ip := net.ParseIP(c.LocalAddr)
		if ip == nil {
			return nil, fmt.Errorf("sntp %s: bad local address %q", c.Addr, c.LocalAddr)
		}
		d.LocalAddr = &net.UDPAddr{IP: ip}
	}
	conn, err := d.DialContext(ctx, "udp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("sntp %s: %w", c.Addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	res := &Result{}
	var log ignoredLog
	buf := make([]byte, MaxPacketLen+1)
	for i := 0; i < c.Samples; i++ {
		if i > 0 && c.Gap > 0 {
			t := time.NewTimer(c.Gap)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		s, err := c.exchange(ctx, conn, buf, &log)
		if err != nil {
			var kiss *KissError
			if errors.As(err, &kiss) || errors.Is(err, ErrRefused) || ctx.Err() != nil {
				return nil, err
			}
			if errors.Is(err, errNoReply) {
				res.Lost++
				continue
			}
			return nil, err
		}
		res.Samples = append(res.Samples, s)
	}
	res.Ignored = log.String()
	if len(res.Samples) == 0 {
		why := res.Ignored
		if why == "" {
			why = "nothing received"
		}
		return nil, fmt.Errorf("sntp %s: %w after %d requests of %v: %s", c.Addr, ErrTimeout, c.Samples, c.Timeout, why)
	}
	for i, s := range res.Samples {
		if s.Delay < res.Samples[res.Best].Delay {
			res.Best = i
		}
	}
	return res, nil
}

var errNoReply = errors.New("no valid reply")

// exchange sends one request and waits for its reply.
func (c Client) exchange(ctx context.Context, conn net.Conn, buf []byte, log *ignoredLog) (Sample, error) {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return Sample{}, fmt.Errorf("sntp %s: nonce: %w", c.Addr, err)
	}
	xmt := Timestamp(binary.BigEndian.Uint64(nonce[:]))
	req := Packet{Version: Version, Mode: ModeClient, Transmit: xmt}.Append(nil)
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	sent := c.Now()
	if _, err := conn.Write(req); err != nil {
		return Sample{}, c.netErr(err)
	}
	deadline := time.Now().Add(c.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		return Sample{}, err
	}
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	for {
		n, err := conn.Read(buf)
		received := c.Now()
		if err != nil {
			if ctx.Err() != nil {
				return Sample{}, ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return Sample{}, errNoReply
			}
			return Sample{}, c.netErr(err)
		}
		s, kiss, why := accept(buf[:n], xmt, sent, received)
		switch {
		case kiss != nil:
			return Sample{}, fmt.Errorf("sntp %s: %w", c.Addr, kiss)
		case why != nil:
			why(log)
			continue
		}
		return s, nil
	}
}

// accept checks a datagram against the request whose transmit timestamp
// was xmt, sent at local time sent and received at received. It returns
// the sample, or a Kiss-o'-Death, or a function that counts why the
// datagram was ignored.
func accept(b []byte, xmt Timestamp, sent, received time.Time) (Sample, *KissError, func(*ignoredLog)) {
	p, err := Parse(b)
	if err != nil {
		return Sample{}, nil, func(l *ignoredLog) { l.malformed++; l.last = err.Error() }
	}
	if p.Mode != ModeServer || p.Version < 1 || p.Version > 4 {
		return Sample{}, nil, func(l *ignoredLog) { l.badMode++ }
	}
	if p.Origin != xmt {
		return Sample{}, nil, func(l *ignoredLog) { l.badOrigin++ }
	}
	if code, ok := p.KissCode(); ok && code != "" {
		return Sample{}, &KissError{Code: code, Poll: p.Poll}, nil
	}
	if p.Receive == 0 || p.Transmit == 0 {
		return Sample{}, nil, func(l *ignoredLog) { l.zeroStamps++ }
	}
	t2 := p.Receive.Time(sent)
	t3 := p.Transmit.Time(sent)
	rtt := received.Sub(sent) // monotonic when the clock has it
	delay := rtt - t3.Sub(t2)
	if delay < 0 || delay > maxDelay || t3.Before(t2) {
		return Sample{}, nil, func(l *ignoredLog) { l.negDelay++ }
	}
	// T4 on the wall clock: T1 plus the measured round trip, so a step of
	// the local clock during the exchange does not enter the offset.
	t4 := sent.Round(0).Add(rtt)
	offset := (t2.Sub(sent.Round(0)) + t3.Sub(t4)) / 2
	return Sample{
		Offset: offset, Delay: delay,
		Leap: p.Leap, Version: p.Version, Stratum: p.Stratum, Poll: p.Poll, Precision: p.Precision,
		RefID: p.RefID, RootDelay: p.RootDelay.Duration(), RootDisp: p.RootDisp.Duration(),
		Sent: sent, Received: received,
	}, nil, nil
}

func (c Client) netErr(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("sntp %s: %w", c.Addr, ErrRefused)
	}
	return fmt.Errorf("sntp %s: %w", c.Addr, err)
}

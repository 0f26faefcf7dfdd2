package uplink

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Config configures an Uplink. Zero durations take the defaults.
type Config struct {
	// Agent is the agent's name, sent in Hello (must match its certificate).
	Agent string
	// Software is the agent's build version, sent in Hello.
	Software string
	// Addr is the collector's QUIC address (host:port, UDP).
	Addr string
	// TCPAddr is the collector's TLS-over-TCP address; "" disables the fallback.
	TCPAddr string
	// TLS holds the client certificate, the collector CA (RootCAs) and
	// ServerName. The uplink sets NextProtos and TLS 1.3 on a copy.
	TLS *tls.Config
	// KeepAlive is the QUIC keep-alive period. Default 15s.
	KeepAlive time.Duration
	// IdleTimeout is the QUIC idle timeout. Default 60s.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds the QUIC or TLS handshake and the wait for
	// HelloAck. Default 5s.
	HandshakeTimeout time.Duration
	// BackoffMin and BackoffMax bound the reconnect backoff. Defaults 1s, 2m.
	BackoffMin, BackoffMax time.Duration
	// QUICRetry is how long the uplink stays on TCP after a fallback before
	// it tries QUIC again. Default 5m.
	QUICRetry time.Duration
	// Window is the most batches sent and not yet acknowledged. Default 64.
	Window int
	// MaxFrame is the largest frame read from the collector. Default
	// wire.DefaultMaxFrame.
	MaxFrame int
	// After is the clock used for backoff waits. Default time.After.
	After func(time.Duration) <-chan time.Time
	// Rand returns a number in [0, 1) for jitter. Default math/rand/v2.
	Rand func() float64
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, counts sends, acks, reconnects and the link state.
	Metrics *metrics.Agent
	// OnSession, when set, is called at the end of each session attempt
	// and when a session comes up (tests and status displays).
	OnSession func(Event)
}

// Event describes a session attempt.
type Event struct {
	Transport string // "quic" or "tcp"; "" when no dial succeeded
	Up        bool   // the collector answered Hello
	Err       error  // why the session ended; nil for the "came up" event
}

// Spool is what the uplink needs from the spool.
type Spool interface {
	Epoch() uint64
	Extent() spool.Extent
	ReadFrom(seq uint64) *spool.Cursor
	Ack(seq uint64) error
	Notify() <-chan struct{}
	Registry() *spool.Registry
	Drops() wire.Drops
}

// Uplink sends the spool to the collector. Create with New, start with Run.
type Uplink struct {
	cfg   Config
	sp    Spool
	codec *wire.Codec
	log   *slog.Logger

	up       atomic.Bool
	tcpUntil time.Time // prefer TCP until then (after a QUIC handshake timeout)

	rejMu      sync.Mutex
	lastReject Reject               // the latest refusal, for status displays
	rejLogged  map[string]time.Time // kind → when last logged
	rejQuiet   map[string]uint64    // kind → refusals not logged since
}

// Reject is a refusal the collector reported (wire.Reject) or an oversize
// batch the agent skipped, as status displays show it.
type Reject struct {
	At     time.Time
	Seq    uint64
	Kind   string
	Reason string // cleaned (safetext): the collector may quote device strings
	Count  uint64
	Whole  bool
}

// rejectLogEvery is how often refusals of one kind are logged.
const rejectLogEvery = time.Minute

// LastReject returns the latest refusal (zero if none since start).
func (u *Uplink) LastReject() Reject {
	u.rejMu.Lock()
	defer u.rejMu.Unlock()
	return u.lastReject
}

// rejected counts, remembers and (at most once a minute per kind) logs a refusal.
func (u *Uplink) rejected(r Reject) {
	r.Reason = safetext.Line(r.Reason, safetext.MaxText)
	if u.cfg.Metrics != nil {
		u.cfg.Metrics.Rejected.WithLabelValues(safetext.Line(r.Kind, 32), strconv.FormatBool(r.Whole)).Inc()
	}
	u.rejMu.Lock()
	u.lastReject = r
	if u.rejLogged == nil {
		u.rejLogged, u.rejQuiet = map[string]time.Time{}, map[string]uint64{}
	}
	last, seen := u.rejLogged[r.Kind]
	logNow := !seen || r.At.Sub(last) >= rejectLogEvery
	var quiet uint64
	if logNow {
		if len(u.rejLogged) > 64 {
			clear(u.rejLogged)
			clear(u.rejQuiet)
		}
		u.rejLogged[r.Kind] = r.At
		quiet = u.rejQuiet[r.Kind]
		delete(u.rejQuiet, r.Kind)
	} else {
		u.rejQuiet[r.Kind]++
	}
	u.rejMu.Unlock()
	if logNow {
		u.log.Warn("uplink: the collector refused part of the spool for good; it moves on", "seq", r.Seq, "kind", r.Kind,
			"whole_batch", r.Whole, "count", r.Count, "reason", r.Reason, "not_logged_since_last", quiet)
	}
}

// Errors a session ends with.
var (
	// ErrNotHelloAck means the collector answered Hello with something else.
	ErrNotHelloAck = errors.New("collector did not answer hello with hello-ack")
	// ErrALPN means the peer did not negotiate wire.ALPN.
	ErrALPN = errors.New("collector did not negotiate the protocol " + wire.ALPN)
	// ErrSpoolGap means the spool dropped batches during the session; the
	// next Hello declares them.
	ErrSpoolGap = errors.New("spool dropped batches during the session")
)

// New checks cfg and returns an uplink for sp.
func New(cfg Config, sp Spool) (*Uplink, error) {
	if cfg.Agent == "" || cfg.Addr == "" || cfg.TLS == nil {
		return nil, errors.New("uplink: agent name, collector address and TLS config are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.KeepAlive, 15*time.Second)
	def(&cfg.IdleTimeout, 60*time.Second)
	def(&cfg.HandshakeTimeout, 5*time.Second)
	def(&cfg.BackoffMin, time.Second)
	def(&cfg.BackoffMax, 2*time.Minute)
	def(&cfg.QUICRetry, 5*time.Minute)
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = cfg.BackoffMin
	}
	if cfg.Window <= 0 {
		cfg.Window = 64
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = wire.DefaultMaxFrame
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tc := cfg.TLS.Clone()
	tc.NextProtos = []string{wire.ALPN}
	tc.MinVersion = tls.VersionTLS13
	if len(tc.Certificates) == 1 && tc.GetClientCertificate == nil {
		// Always present the agent's certificate, even when the collector
		// names CAs it does not match: the collector then logs why it
		// rejects it, instead of "certificate required".
		cert := tc.Certificates[0]
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	cfg.TLS = tc
	codec, err := wire.NewCodec()
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	return &Uplink{cfg: cfg, sp: sp, codec: codec, log: cfg.Logger}, nil
}

// Up reports whether a session is established (HelloAck received).
func (u *Uplink) Up() bool { return u.up.Load() }

// Backoff returns the wait before reconnect attempt n (0-based): the cap of
// min·2^n and max, jittered uniformly into [d/2, d] by r in [0, 1).
func Backoff(n int, min, max time.Duration, r float64) time.Duration {
	d := max
	if n < 62 && min<<n > 0 && min<<n < max {
		d = min << n
	}
	return d/2 + time.Duration(r*float64(d/2))
}

// Run keeps a session to the collector until ctx is done, reconnecting with
// backoff. It returns nil when ctx ends.
func (u *Uplink) Run(ctx context.Context) error {
	attempt := 0
	for {
		ev := u.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if ev.Up {
			attempt = 0
		}
		u.report(ev)
		wait := Backoff(attempt, u.cfg.BackoffMin, u.cfg.BackoffMax, u.cfg.Rand())
		attempt++
		if errors.Is(ev.Err, ErrSpoolGap) {
			wait = 0
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-u.cfg.After(wait):
			}
		}
		if u.cfg.Metrics != nil {
			u.cfg.Metrics.Reconnects.Inc()
		}
	}
}

func (u *Uplink) report(ev Event) {
	if ev.Err != nil {
		lvl := slog.LevelWarn
		var we *wire.Error
		if errors.As(ev.Err, &we) && we.Code == wire.ErrCodeUnauthorized {
			lvl = slog.LevelError
		}
		u.log.Log(context.Background(), lvl, "uplink: session ended", "transport", ev.Transport, "was_up", ev.Up, "err", ev.Err)
	}
	if u.cfg.OnSession != nil {
		u.cfg.OnSession(ev)
	}
}

// link is one connection with its single stream.
type link interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
	close(msg string)
	// cause is why the connection closed (QUIC), for logs.
	cause() error
	transport() string
}

type quicLink struct {
	conn *quic.Conn
	*quic.Stream
}

func (l quicLink) close(msg string) { l.conn.CloseWithError(0, msg) }
func (l quicLink) cause() error     { return context.Cause(l.conn.Context()) }
func (l quicLink) transport() string {
	return "quic"
}

type tcpLink struct{ *tls.Conn }

func (l tcpLink) close(string)      { l.Conn.Close() }
func (l tcpLink) cause() error      { return nil }
func (l tcpLink) transport() string { return "tcp" }

func (u *Uplink) quicConfig() *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout: u.cfg.HandshakeTimeout,
		MaxIdleTimeout:       u.cfg.IdleTimeout,
		KeepAlivePeriod:      u.cfg.KeepAlive,
		// The agent receives only small control frames: small windows.
		InitialStreamReceiveWindow:     64 << 10,
		MaxStreamReceiveWindow:         256 << 10,
		InitialConnectionReceiveWindow: 64 << 10,
		MaxConnectionReceiveWindow:     512 << 10,
		MaxIncomingStreams:             -1,
		MaxIncomingUniStreams:          -1,
	}
}

func (u *Uplink) dialQUIC(ctx context.Context) (link, error) {
	conn, err := quic.DialAddr(ctx, u.cfg.Addr, u.cfg.TLS, u.quicConfig())
	if err != nil {
		return nil, fmt.Errorf("quic dial %s: %w", u.cfg.Addr, err)
	}
	if p := conn.ConnectionState().TLS.NegotiatedProtocol; p != wire.ALPN {
		conn.CloseWithError(0, "alpn")
		return nil, fmt.Errorf("quic %s: %w (got %q)", u.cfg.Addr, ErrALPN, p)
	}
	sctx, cancel := context.WithTimeout(ctx, u.cfg.HandshakeTimeout)
	defer cancel()
	st, err := conn.OpenStreamSync(sctx)
	if err != nil {
		conn.CloseWithError(0, "no stream")
		return nil, fmt.Errorf("quic %s: open stream: %w (connection: %v)", u.cfg.Addr, err, context.Cause(conn.Context()))
	}
	return quicLink{conn: conn, Stream: st}, nil
}

func (u *Uplink) dialTCP(ctx context.Context) (link, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: u.cfg.HandshakeTimeout, KeepAlive: u.cfg.KeepAlive}, Config: u.cfg.TLS}
	hctx, cancel := context.WithTimeout(ctx, u.cfg.HandshakeTimeout)
	defer cancel()
	c, err := d.DialContext(hctx, "tcp", u.cfg.TCPAddr)
	if err != nil {
		return nil, fmt.Errorf("tls dial %s: %w", u.cfg.TCPAddr, err)
	}
	tc := c.(*tls.Conn)
	if p := tc.ConnectionState().NegotiatedProtocol; p != wire.ALPN {
		tc.Close()
		return nil, fmt.Errorf("tls %s: %w (got %q)", u.cfg.TCPAddr, ErrALPN, p)
	}
	return tcpLink{tc}, nil
}

// isHandshakeTimeout reports whether a QUIC dial failed for lack of answers
// (UDP blocked), as opposed to a refusal the collector sent.
func isHandshakeTimeout(err error) bool {
	var hte *quic.HandshakeTimeoutError
	var ite *quic.IdleTimeoutError
	var ne net.Error
	return errors.As(err, &hte) || errors.As(err, &ite) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// isLocalUDPFailure reports whether a QUIC dial failed because this host
// could not send or was told the UDP path is closed: a local firewall
// (iptables DROP in OUTPUT makes sendmsg fail with EPERM, REJECT answers
// ECONNREFUSED), or no route. The collector was never reached, so this
// says nothing about it; TCP may still pass.
func isLocalUDPFailure(err error) bool {
	for _, e := range []error{syscall.EPERM, syscall.EACCES, syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, e) {
			return true
		}
	}
	// quic-go reports a failed send (sendmsg: operation not permitted) as
	// a local INTERNAL_ERROR that keeps only the text of the socket error.
	// A refusal by the collector is Remote, and a certificate the agent
	// rejects is a local crypto error (0x100 + TLS alert): neither is this.
	var te *quic.TransportError
	if errors.As(err, &te) && !te.Remote && te.ErrorCode == quic.InternalError {
		return true
	}
	return false
}

func (u *Uplink) dial(ctx context.Context) (link, error) {
	if u.cfg.TCPAddr != "" && time.Now().Before(u.tcpUntil) {
		return u.dialTCP(ctx)
	}
	l, err := u.dialQUIC(ctx)
	if err == nil || u.cfg.TCPAddr == "" || ctx.Err() != nil {
		return l, err
	}
	switch {
	case isHandshakeTimeout(err):
		u.log.Warn("uplink: QUIC handshake timed out; falling back to TLS over TCP", "quic", u.cfg.Addr, "tcp", u.cfg.TCPAddr, "retry_quic_after", u.cfg.QUICRetry, "err", err)
	case isLocalUDPFailure(err):
		u.log.Warn("uplink: UDP to the collector is blocked on this host; falling back to TLS over TCP", "quic", u.cfg.Addr, "tcp", u.cfg.TCPAddr, "retry_quic_after", u.cfg.QUICRetry, "err", err)
	default:
		return l, err
	}
	u.tcpUntil = time.Now().Add(u.cfg.QUICRetry)
	return u.dialTCP(ctx)
}

// session runs one connection: dial, hello, then send and receive until
// an error or ctx ends.
func (u *Uplink) session(ctx context.Context) Event {
	l, err := u.dial(ctx)
	if err != nil {
		return Event{Err: err}
	}
	ev := Event{Transport: l.transport()}
	defer l.close("agent closing")
	ack, declared, err := u.hello(l)
	if err != nil {
		err = withCause(err, l.cause())
		ev.Err = err
		return ev
	}
	ev.Up = true
	u.up.Store(true)
	if u.cfg.Metrics != nil {
		u.cfg.Metrics.LinkUp.Set(1)
	}
	defer func() {
		u.up.Store(false)
		if u.cfg.Metrics != nil {
			u.cfg.Metrics.LinkUp.Set(0)
		}
	}()
	u.log.Info("uplink: link up", "transport", ev.Transport, "collector", ack.Collector, "acked_seq", ack.AckedSeq)
	if u.cfg.OnSession != nil {
		u.cfg.OnSession(Event{Transport: ev.Transport, Up: true})
	}
	ev.Err = u.stream(ctx, l, ack, declared)
	if ev.Err != nil && ctx.Err() == nil {
		ev.Err = withCause(ev.Err, l.cause())
	}
	return ev
}

// withCause adds the connection's close cause (for QUIC, what the peer or
// the stack said: a rejected certificate, an idle timeout) to err.
func withCause(err, cause error) error {
	if cause == nil || errors.Is(err, cause) || strings.Contains(err.Error(), cause.Error()) {
		return err
	}
	return fmt.Errorf("%w (connection closed: %v)", err, cause)
}

// hello sends Hello and waits for HelloAck. It also returns the drop
// counters the Hello declared.
func (u *Uplink) hello(l link) (*wire.HelloAck, wire.Drops, error) {
	x := u.sp.Extent()
	h := &wire.Hello{Agent: u.cfg.Agent, Software: u.cfg.Software, Proto: wire.ProtocolVersion,
		Epoch: u.sp.Epoch(), FirstSeq: x.First, LastSeq: x.Last, Dropped: x.Drops}
	frame, err := u.codec.AppendFrame(nil, h)
	if err != nil {
		return nil, x.Drops, err
	}
	if _, err := l.Write(frame); err != nil {
		return nil, x.Drops, fmt.Errorf("send hello: %w", err)
	}
	l.SetReadDeadline(time.Now().Add(u.cfg.HandshakeTimeout))
	defer l.SetReadDeadline(time.Time{})
	t, body, err := wire.ReadFrame(l, u.cfg.MaxFrame, nil)
	if err != nil {
		return nil, x.Drops, fmt.Errorf("wait for hello-ack: %w", err)
	}
	m, err := u.codec.Decode(t, body)
	if err != nil {
		return nil, x.Drops, fmt.Errorf("hello-ack: %w", err)
	}
	switch m := m.(type) {
	case *wire.HelloAck:
		if m.Epoch != h.Epoch {
			u.log.Warn("uplink: collector answered for another epoch; resending everything", "ours", h.Epoch, "theirs", m.Epoch)
			m.AckedSeq = 0
		}
		return m, x.Drops, nil
	case *wire.Error:
		return nil, x.Drops, fmt.Errorf("collector refused the session: %w", m)
	default:
		return nil, x.Drops, fmt.Errorf("%w: got %s", ErrNotHelloAck, t)
	}
}

// stream sends series definitions and batches and applies acks. declared
// is what the Hello said the spool had dropped.
func (u *Uplink) stream(ctx context.Context, l link, ack *wire.HelloAck, declared wire.Drops) error {
	if err := u.sp.Ack(ack.AckedSeq); err != nil {
		return fmt.Errorf("apply ack: %w", err)
	}
	var acked atomic.Uint64
	acked.Store(ack.AckedSeq)
	ackSig := make(chan struct{}, 1)
	var resendSeries atomic.Bool
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cancel(u.receive(l, &acked, ackSig, &resendSeries))
	}()
	err := u.send(sctx, l, ack, declared, &acked, ackSig, &resendSeries)
	cancel(err)
	l.close("session ended") // unblocks the receiver
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return context.Cause(sctx)
}

func (u *Uplink) receive(l link, acked *atomic.Uint64, ackSig chan struct{}, resendSeries *atomic.Bool) error {
	buf := make([]byte, 512)
	for {
		t, body, err := wire.ReadFrame(l, u.cfg.MaxFrame, buf)
		if err != nil {
			return fmt.Errorf("read from collector: %w", err)
		}
		if cap(body) > cap(buf) {
			buf = body[:0]
		}
		m, err := u.codec.Decode(t, body)
		if err != nil {
			return fmt.Errorf("from collector: %w", err)
		}
		switch m := m.(type) {
		case *wire.Ack:
			prev := acked.Load()
			if m.Seq <= prev {
				continue
			}
			if err := u.sp.Ack(m.Seq); err != nil {
				return fmt.Errorf("apply ack %d: %w", m.Seq, err)
			}
			acked.Store(m.Seq)
			if u.cfg.Metrics != nil {
				u.cfg.Metrics.BatchesAcked.Add(float64(m.Seq - prev))
			}
			select {
			case ackSig <- struct{}{}:
			default:
			}
		case *wire.Reject:
			u.rejected(Reject{At: time.Now(), Seq: m.Seq, Kind: m.Kind, Reason: m.Reason, Count: m.Count, Whole: m.Whole})
		case *wire.Error:
			if m.Fatal {
				return fmt.Errorf("collector closed the session: %w", m)
			}
			u.log.Warn("uplink: collector reported an error", "code", m.Code, "message", m.Message)
			if m.Code == wire.ErrCodeUnknownSeries {
				resendSeries.Store(true)
			}
		default:
			return fmt.Errorf("unexpected %s from collector", t)
		}
	}
}

// maxDefsPerFrame keeps a Series message well under the frame limit.
const maxDefsPerFrame = 8192

func (u *Uplink) send(ctx context.Context, l link, ack *wire.HelloAck, declared wire.Drops, acked *atomic.Uint64, ackSig chan struct{}, resendSeries *atomic.Bool) error {
	from := ack.AckedSeq
	maxFrame := int(ack.MaxFrame)
	if maxFrame <= 0 || maxFrame > wire.HardMaxFrame {
		maxFrame = wire.DefaultMaxFrame
	}
	w := bufio.NewWriterSize(l, 64<<10)
	cur := u.sp.ReadFrom(from + 1)
	reg := u.sp.Registry()
	var sentSeries uint32
	lastSent := from
	started := false
	var hdr []byte
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if lastSent-acked.Load() >= uint64(u.cfg.Window) {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-ackSig:
			}
			continue
		}
		notify := u.sp.Notify()
		rec, err := cur.Next()
		if errors.Is(err, spool.ErrNoRecord) {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-notify:
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read spool: %w", err)
		}
		// A seq missing mid-session, or missing at the start because the
		// spool dropped it after the Hello was sent, is declared by a new
		// Hello: a batch written before the drop carries stale drop
		// counters, so the gap it would reveal could not be accounted for.
		// (At the start, a record skipped for a failed CRC is not a drop:
		// going on avoids reconnecting for it forever.)
		if rec.Seq != lastSent+1 && (started || u.sp.Drops() != declared) {
			w.Flush()
			return fmt.Errorf("%w: after %d next is %d", ErrSpoolGap, lastSent, rec.Seq)
		}
		started = true
		if resendSeries.Swap(false) {
			sentSeries = 0
		}
		for n := reg.Len(); sentSeries < n; {
			ss := reg.Defs(sentSeries, maxDefsPerFrame)
			if len(ss) == 0 {
				sentSeries = n
				break
			}
			for i := range ss {
				f, err := u.codec.AppendFrame(nil, &ss[i])
				if err != nil {
					return err
				}
				if _, err := w.Write(f); err != nil {
					return fmt.Errorf("send series: %w", err)
				}
			}
			last := ss[len(ss)-1]
			sentSeries = last.First + uint32(len(last.Defs))
		}
		if len(rec.Payload)+1 > maxFrame {
			// The collector would refuse the frame and end the session,
			// and the agent would send it again forever: skip it. The
			// collector sees the gap (declared as dropped) when the next
			// batch arrives.
			u.rejected(Reject{At: time.Now(), Seq: rec.Seq, Kind: wire.RejectOversize, Whole: true,
				Reason: fmt.Sprintf("batch %d is %d bytes, over the collector's frame limit of %d", rec.Seq, len(rec.Payload)+1, maxFrame)})
			lastSent = rec.Seq
			continue
		}
		hdr = wire.AppendFrameHeader(hdr[:0], wire.TypeBatch, len(rec.Payload))
		if _, err := w.Write(hdr); err != nil {
			return fmt.Errorf("send batch %d: %w", rec.Seq, err)
		}
		if _, err := w.Write(rec.Payload); err != nil {
			return fmt.Errorf("send batch %d: %w", rec.Seq, err)
		}
		lastSent = rec.Seq
		if u.cfg.Metrics != nil {
			u.cfg.Metrics.BatchesSent.Inc()
		}
	}
}

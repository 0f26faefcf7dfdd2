package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Config configures an Uplink. Zero durations take the defaults.
// Defaults of Config (agent/config's collector section uses the same).
const (
	DefaultKeepAlive        = 15 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultBackoffMin       = time.Second
	DefaultBackoffMax       = 2 * time.Minute
	DefaultQUICRetry        = 5 * time.Minute
	DefaultWindow           = 64
)

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
	def(&cfg.KeepAlive, DefaultKeepAlive)
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	def(&cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&cfg.BackoffMin, DefaultBackoffMin)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.QUICRetry, DefaultQUICRetry)
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = cfg.BackoffMin
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
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

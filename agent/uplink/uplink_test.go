package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fillSpool appends n batches, each with a sample of a new series and one
// of an old one, so every connection must define series before batches.
func fillSpool(t testing.TB, sp *spool.Spool, codec *wire.Codec, n int) {
	t.Helper()
	reg := sp.Registry()
	for i := 0; i < n; i++ {
		first, _ := reg.ID(sample.Key{Host: "h", Attr: "if:a", DS: "in_octets"}, sample.Counter64)
		id, err := reg.ID(sample.Key{Host: "h", Attr: "oid:x", DS: "v" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))}, sample.Gauge)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sp.Append(2, func(seq uint64) ([]byte, error) {
			return codec.Marshal(&wire.Batch{Seq: seq, Groups: []wire.Group{{Time: int64(seq) * 1000, Ints: []uint64{uint64(first), seq}, FloatIDs: []uint32{id}, Floats: []float64{float64(seq)}}}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

type env struct {
	pki    *pki
	client tls.Certificate
	sp     *spool.Spool
	codec  *wire.Codec
	col    *testCollector
	events chan Event
}

func newEnv(t *testing.T) *env {
	t.Helper()
	p := newPKI(t, "test CA")
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), FsyncInterval: -1, SegmentBytes: 2048, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	codec, _ := wire.NewCodec()
	return &env{pki: p, client: p.issue(t, "agent1", false), sp: sp, codec: codec, col: newTestCollector(t), events: make(chan Event, 100)}
}

func (e *env) config(addr string) Config {
	return Config{
		Agent: "agent1", Software: "test", Addr: addr,
		TLS:              &tls.Config{RootCAs: e.pki.pool, Certificates: []tls.Certificate{e.client}, ServerName: "collector.test"},
		HandshakeTimeout: 2 * time.Second,
		BackoffMin:       10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		Window: 4, Logger: quiet(),
		OnSession: func(ev Event) {
			select {
			case e.events <- ev:
			default:
			}
		},
	}
}

// start runs the uplink until the test ends.
func start(t *testing.T, cfg Config, sp Spool) *Uplink {
	t.Helper()
	u, err := New(cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); u.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return u
}

func waitEvent(t *testing.T, e *env, d time.Duration, pred func(Event) bool) Event {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-e.events:
			if pred(ev) {
				return ev
			}
		case <-deadline:
			t.Fatal("timed out waiting for a session event")
		}
	}
}

func TestHelloAckAndDelivery(t *testing.T) {
	e := newEnv(t)
	fillSpool(t, e.sp, e.codec, 50)
	addr := listenQUIC(t, e.col, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool))
	m := metrics.New()
	cfg := e.config(addr)
	cfg.Metrics = m
	u := start(t, cfg, e.sp)
	ev := waitEvent(t, e, 10*time.Second, func(ev Event) bool { return ev.Up || ev.Err != nil })
	if !ev.Up || ev.Transport != "quic" {
		t.Fatalf("first event %+v", ev)
	}
	e.col.waitFor(t, "50 batches", 10*time.Second, func() bool { return e.col.acked == 50 })
	if !u.Up() {
		t.Fatal("Up() false while the session runs")
	}
	// the spool applies the acks
	testbed.Eventually(t, 5*time.Second, "the spool watermark at 50", func() (bool, string) {
		_, _, acked := e.sp.Bounds()
		return acked == 50, fmt.Sprintf("acked %d", acked)
	})
	e.col.mu.Lock()
	h := e.col.hellos[0]
	if h.Agent != "agent1" || h.Epoch != e.sp.Epoch() || h.FirstSeq != 1 || h.LastSeq != 50 || h.Proto != wire.ProtocolVersion {
		t.Errorf("hello %+v", h)
	}
	for i, s := range e.col.received {
		if s != uint64(i+1) {
			t.Fatalf("received %v", e.col.received)
		}
	}
	e.col.mu.Unlock()
	// new batches flow without reconnecting
	fillSpool(t, e.sp, e.codec, 5)
	e.col.waitFor(t, "55 batches", 10*time.Second, func() bool { return e.col.acked == 55 })
	e.col.mu.Lock()
	if len(e.col.sessions) != 1 || e.col.dups != 0 {
		t.Errorf("sessions %d dups %d", len(e.col.sessions), e.col.dups)
	}
	e.col.mu.Unlock()
}

func TestResendAfterReconnectFromAckedSeq(t *testing.T) {
	e := newEnv(t)
	fillSpool(t, e.sp, e.codec, 40)
	e.col.ackUpTo = 20         // the collector's journal holds 1..20 in the first session ...
	e.col.closeOnce[30] = true // ... when the connection breaks at 30
	addr := listenQUIC(t, e.col, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool))
	cfg := e.config(addr)
	cfg.Window = 64 // 21..29 are in flight, unacked, when the link breaks
	start(t, cfg, e.sp)
	e.col.waitFor(t, "second session", 10*time.Second, func() bool { return len(e.col.sessions) >= 2 })
	e.col.waitFor(t, "40 acked", 10*time.Second, func() bool { return e.col.acked == 40 })
	e.col.mu.Lock()
	defer e.col.mu.Unlock()
	if got := e.col.sessions[1][0]; got != 21 {
		t.Fatalf("second session started at %d, want 21 (AckedSeq+1); sessions %v", got, e.col.sessions)
	}
	// 21..29 arrived twice (unacked when the link broke); nothing is lost
	seen := map[uint64]bool{}
	for _, s := range e.col.received {
		seen[s] = true
	}
	for s := uint64(1); s <= 40; s++ {
		if !seen[s] {
			t.Fatalf("seq %d never stored", s)
		}
	}
}

func TestRejectedClientCertIsNotUp(t *testing.T) {
	e := newEnv(t)
	fillSpool(t, e.sp, e.codec, 3)
	other := newPKI(t, "another CA") // the collector trusts a different CA
	addr := listenQUIC(t, e.col, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), other.pool))
	m := metrics.New()
	cfg := e.config(addr)
	cfg.Metrics = m
	u := start(t, cfg, e.sp)
	for i := 0; i < 2; i++ {
		ev := waitEvent(t, e, 10*time.Second, func(Event) bool { return true })
		if ev.Up || ev.Err == nil {
			t.Fatalf("event %+v: the link must not come up", ev)
		}
		t.Logf("attempt %d: %v", i, ev.Err)
	}
	if u.Up() {
		t.Fatal("Up() true")
	}
	e.col.mu.Lock()
	defer e.col.mu.Unlock()
	if len(e.col.hellos) != 0 {
		t.Fatal("the collector saw a hello")
	}
}

func TestBackoffSchedule(t *testing.T) {
	min, max := time.Second, 30*time.Second
	for _, tc := range []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{0, 0, 500 * time.Millisecond},
		{0, 0.999999, 999999500 * time.Nanosecond},
		{1, 0, time.Second},
		{3, 0.5, 6 * time.Second},
		{5, 0, 15 * time.Second},
		{5, 0.5, 22500 * time.Millisecond},
		{40, 0.5, 22500 * time.Millisecond},
		{100, 0, 15 * time.Second},
	} {
		if got := Backoff(tc.n, min, max, tc.r); got != tc.want {
			t.Errorf("Backoff(%d, r=%v) = %v, want %v", tc.n, tc.r, got, tc.want)
		}
	}
}

func TestReconnectUsesBackoffClock(t *testing.T) {
	e := newEnv(t)
	// nothing listens: every dial fails fast (TCP fallback disabled, QUIC
	// handshake to a closed port times out quickly)
	addr := blackholeUDP(t)
	cfg := e.config(addr)
	cfg.HandshakeTimeout = 50 * time.Millisecond
	cfg.BackoffMin, cfg.BackoffMax = time.Second, 8*time.Second
	cfg.Rand = func() float64 { return 0.5 }
	waits := make(chan time.Duration, 100)
	cfg.After = func(d time.Duration) <-chan time.Time {
		waits <- d
		c := make(chan time.Time, 1)
		c <- time.Now() // the injected clock fires at once
		return c
	}
	start(t, cfg, e.sp)
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 6 * time.Second}
	for i, w := range want {
		select {
		case d := <-waits:
			if d != w {
				t.Fatalf("wait %d = %v, want %v", i, d, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no wait %d", i)
		}
	}
}

func TestTCPFallbackWhenUDPBlackholed(t *testing.T) {
	e := newEnv(t)
	fillSpool(t, e.sp, e.codec, 10)
	tcpAddr := listenTCP(t, e.col, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool))
	cfg := e.config(blackholeUDP(t))
	cfg.TCPAddr = tcpAddr
	cfg.HandshakeTimeout = 300 * time.Millisecond
	start(t, cfg, e.sp)
	ev := waitEvent(t, e, 10*time.Second, func(ev Event) bool { return ev.Up && ev.Err == nil })
	if ev.Transport != "tcp" {
		t.Fatalf("came up over %q", ev.Transport)
	}
	e.col.waitFor(t, "10 batches over TCP", 10*time.Second, func() bool { return e.col.acked == 10 })
}

func TestQUICRetriedAfterFallback(t *testing.T) {
	e := newEnv(t)
	fillSpool(t, e.sp, e.codec, 10)
	stc := serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool)
	tcpAddr := listenTCP(t, e.col, stc)
	udpAddr, unblock := blackholeUDPPort(t)
	cfg := e.config(udpAddr)
	cfg.TCPAddr = tcpAddr
	cfg.HandshakeTimeout = 300 * time.Millisecond
	cfg.QUICRetry = 100 * time.Millisecond
	start(t, cfg, e.sp)
	if ev := waitEvent(t, e, 10*time.Second, func(ev Event) bool { return ev.Up && ev.Err == nil }); ev.Transport != "tcp" {
		t.Fatalf("came up over %q", ev.Transport)
	}
	e.col.waitFor(t, "10 batches over TCP", 10*time.Second, func() bool { return e.col.acked == 10 })
	// UDP opens: the collector now answers QUIC on the same port
	unblock()
	listenQUICOn(t, udpAddr, stc, e.col.serve)
	time.Sleep(cfg.QUICRetry) // let the TCP preference expire (no assertion depends on the exact time)
	e.col.mu.Lock()
	e.col.closeOnce[15] = true // the TCP session breaks
	e.col.mu.Unlock()
	fillSpool(t, e.sp, e.codec, 10)
	if ev := waitEvent(t, e, 10*time.Second, func(ev Event) bool { return ev.Up && ev.Err == nil }); ev.Transport != "quic" {
		t.Fatalf("after the retry period the link came up over %q, want quic", ev.Transport)
	}
	e.col.waitFor(t, "20 batches", 10*time.Second, func() bool { return e.col.acked == 20 })
}

func TestOversizedFrameClosesConnection(t *testing.T) {
	e := newEnv(t)
	fillSpool(t, e.sp, e.codec, 3)
	e.col.oversized = true
	addr := listenQUIC(t, e.col, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool))
	start(t, e.config(addr), e.sp)
	ev := waitEvent(t, e, 10*time.Second, func(ev Event) bool { return ev.Err != nil })
	if !ev.Up || !errors.Is(ev.Err, wire.ErrFrameTooLarge) {
		t.Fatalf("event %+v, want a session that ended with ErrFrameTooLarge", ev)
	}
	// and the uplink reconnects
	waitEvent(t, e, 10*time.Second, func(ev Event) bool { return ev.Up && ev.Err == nil })
}

func TestCollectorErrorEndsSession(t *testing.T) {
	e := newEnv(t)
	// a collector that refuses with a wire.Error instead of HelloAck
	refuse := &refuser{codec: e.codec}
	raddr := listenQUICFunc(t, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool), refuse.serve)
	start(t, e.config(raddr), e.sp)
	ev := waitEvent(t, e, 10*time.Second, func(ev Event) bool { return ev.Err != nil })
	var we *wire.Error
	if ev.Up || !errors.As(ev.Err, &we) || we.Code != wire.ErrCodeUnauthorized {
		t.Fatalf("event %+v", ev)
	}
}

type refuser struct{ codec *wire.Codec }

func (r *refuser) serve(rw io.ReadWriter) error {
	if _, _, err := wire.ReadFrame(rw, wire.DefaultMaxFrame, nil); err != nil {
		return err
	}
	f, _ := r.codec.AppendFrame(nil, &wire.Error{Code: wire.ErrCodeUnauthorized, Message: "unknown agent", Fatal: true})
	rw.Write(f)
	io.Copy(io.Discard, rw)
	return nil
}

func TestIsLocalUDPFailure(t *testing.T) {
	// What decides a fallback to TCP besides a handshake timeout: the
	// host could not send UDP (the e2e test TestUDPBlockedByIptables runs
	// the real case, an iptables DROP in OUTPUT that fails sendmsg).
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"sendmsg EPERM as quic-go reports it", fmt.Errorf("quic dial x: %w", &quic.TransportError{ErrorCode: quic.InternalError,
			ErrorMessage: "write udp [::]:1->10.0.0.1:2: sendmsg: operation not permitted"}), true},
		{"EPERM from the socket", &net.OpError{Op: "write", Net: "udp", Err: os.NewSyscallError("sendmsg", syscall.EPERM)}, true},
		{"ICMP port unreachable", &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("recvmsg", syscall.ECONNREFUSED)}, true},
		{"no route", &net.OpError{Op: "write", Net: "udp", Err: syscall.ENETUNREACH}, true},
		{"collector refused the certificate", &quic.TransportError{Remote: true, ErrorCode: 0x12a, ErrorMessage: "bad certificate"}, false},
		{"collector internal error", &quic.TransportError{Remote: true, ErrorCode: quic.InternalError}, false},
		{"agent rejected the collector's certificate", &quic.TransportError{ErrorCode: 0x12a, ErrorMessage: "x509: unknown authority"}, false},
		{"application close", &quic.ApplicationError{Remote: true, ErrorCode: 1}, false},
		{"other", errors.New("alpn mismatch"), false},
	}
	for _, tt := range tests {
		if got := isLocalUDPFailure(tt.err); got != tt.want {
			t.Errorf("%s: isLocalUDPFailure(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestRejectMovesPast: a batch the collector rejects for good is counted
// and shown (cleaned: the reason may quote device strings), and the spool
// moves past it with the Ack that follows; nothing is resent.
func TestRejectMovesPast(t *testing.T) {
	e := newEnv(t)
	fillSpool(t, e.sp, e.codec, 10)
	e.col.rejectSeq = map[uint64]bool{4: true, 7: true}
	addr := listenQUIC(t, e.col, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool))
	m := metrics.New()
	cfg := e.config(addr)
	cfg.Metrics = m
	u := start(t, cfg, e.sp)
	e.col.waitFor(t, "10 acked", 10*time.Second, func() bool { return e.col.acked == 10 })
	testbed.Eventually(t, 5*time.Second, "the refusal of batch 7", func() (bool, string) {
		r := u.LastReject()
		return r.Seq == 7, fmt.Sprintf("last reject %+v", r)
	})
	r := u.LastReject()
	if r.Kind != wire.RejectFrame || !r.Whole || r.Reason != `batch 7: \x1b[31mbad\xff` {
		t.Fatalf("last reject %+v", r)
	}
	if got := counter(t, m.Rejected.WithLabelValues(wire.RejectFrame, "true")); got != 2 {
		t.Fatalf("rejected = %v", got)
	}
	e.col.mu.Lock()
	defer e.col.mu.Unlock()
	if len(e.col.sessions) != 1 || e.col.dups != 0 {
		t.Fatalf("sessions %d dups %d", len(e.col.sessions), e.col.dups)
	}
}

// TestOversizeBatchIsSkipped: a spooled batch larger than the frame limit
// the collector announced would end every session and be resent forever;
// the agent skips it (counted as rejected, oversize) and the rest flows.
func TestOversizeBatchIsSkipped(t *testing.T) {
	e := newEnv(t)
	fillSpool(t, e.sp, e.codec, 3)
	big := make([]string, 0, 3000)
	for i := 0; i < 3000; i++ {
		big = append(big, fmt.Sprintf("host-%04d", i))
	}
	if _, err := e.sp.Append(0, func(seq uint64) ([]byte, error) {
		return e.codec.Marshal(&wire.Batch{Seq: seq, Statuses: func() []wire.AttrStatus {
			var out []wire.AttrStatus
			for _, h := range big {
				out = append(out, wire.AttrStatus{Host: h, Attr: "host", Reason: strings.Repeat("x", 40)})
			}
			return out
		}()})
	}); err != nil {
		t.Fatal(err)
	}
	fillSpool(t, e.sp, e.codec, 3)
	e.col.maxFrame = 64 << 10
	addr := listenQUIC(t, e.col, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool))
	m := metrics.New()
	cfg := e.config(addr)
	cfg.Metrics = m
	u := start(t, cfg, e.sp)
	e.col.waitFor(t, "7 acked", 10*time.Second, func() bool { return e.col.acked == 7 })
	if r := u.LastReject(); r.Seq != 4 || r.Kind != wire.RejectOversize || !strings.Contains(r.Reason, "over the collector's frame limit of 65536") {
		t.Fatalf("last reject %+v", r)
	}
	if got := counter(t, m.Rejected.WithLabelValues(wire.RejectOversize, "true")); got != 1 {
		t.Fatalf("rejected = %v", got)
	}
	e.col.mu.Lock()
	defer e.col.mu.Unlock()
	for _, s := range e.col.received {
		if s == 4 {
			t.Fatal("the oversize batch was sent")
		}
	}
}

// dropAfterHello is a spool that drops its oldest segment right after
// the first Hello took its snapshot, before the first batch is read.
type dropAfterHello struct {
	*spool.Spool
	once  sync.Once
	after func()
}

func (d *dropAfterHello) Extent() spool.Extent {
	x := d.Spool.Extent()
	d.once.Do(d.after)
	return x
}

// TestDropAfterHelloIsDeclared: batches the spool drops between the Hello
// and the first read are declared by a new Hello with the new drop
// counters (a batch spooled before the drop carries stale ones, so the
// collector could not account for the gap it shows).
func TestDropAfterHelloIsDeclared(t *testing.T) {
	p := newPKI(t, "test CA")
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), FsyncInterval: -1, SegmentBytes: 2048, MaxBytes: 8192, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	codec, _ := wire.NewCodec()
	e := &env{pki: p, client: p.issue(t, "agent1", false), sp: sp, codec: codec, col: newTestCollector(t), events: make(chan Event, 100)}
	fillSpool(t, sp, codec, 400)
	if sp.Drops().Batches == 0 {
		t.Fatal("the spool dropped nothing while filling")
	}
	before := sp.Drops()
	wrapped := &dropAfterHello{Spool: sp, after: func() {
		for sp.Drops() == before {
			fillSpool(t, sp, codec, 1)
		}
	}}
	addr := listenQUIC(t, e.col, serverTLS(e.pki, e.pki.issue(t, "collector.test", true), e.pki.pool))
	start(t, e.config(addr), wrapped)
	e.col.waitFor(t, "a second hello", 10*time.Second, func() bool { return len(e.col.hellos) >= 2 })
	_, last, _ := sp.Bounds()
	e.col.waitFor(t, "everything still spooled", 10*time.Second, func() bool { return e.col.acked == last })
	e.col.mu.Lock()
	defer e.col.mu.Unlock()
	h1, h2 := e.col.hellos[0], e.col.hellos[1]
	if h1.Dropped != before || h2.Dropped != sp.Drops() || h2.FirstSeq <= h1.FirstSeq {
		t.Fatalf("hellos %+v then %+v; spool drops %+v then %+v", h1, h2, before, sp.Drops())
	}
	if len(e.col.sessions[0]) != 0 {
		t.Fatalf("the first session sent %v after the spool dropped its start", e.col.sessions[0])
	}
	if got := e.col.sessions[1][0]; got != h2.FirstSeq {
		t.Fatalf("the second session started at %d, its hello declared %d", got, h2.FirstSeq)
	}
}

// counter reads a counter's value.
func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// Package ingest is the collector's agent-facing side: a QUIC listener and
// a TLS-over-TCP fallback listener that speak the protocol of shared/wire,
// authenticate agents by certificate against the inventory, journal every
// batch durably before acknowledging it, and hand journaled records to the
// Applier, which writes the inventory and the archives.
//
// # Invariants
//
//   - An agent is identified by its certificate's CN, which must be
//     signed by the collector CA for client auth, name a registered agent
//     that is not revoked, and carry the serial the inventory records
//     (a re-issued certificate retires the old one). This is checked on
//     every handshake; Hello must name the same agent.
//   - A batch is acked only after its journal record is on stable
//     storage; the ack names the highest seq stored for the agent's epoch.
//     Batches with seq <= the highest journaled are duplicates: re-acked
//     once that is durable, never journaled again. A session pipelines:
//     its reader writes records as batches arrive and its acker syncs once
//     for all written meanwhile (journal group commit), then hands them to
//     the Applier and acks the last. Dedupe state per agent survives restarts (see Applier.Recover).
//   - Every host a batch names (samples, statuses, inventory) must match
//     the agent's patterns, or the batch is refused and the connection
//     closed with ErrCodeForbiddenHost.
//   - Frames are read with wire.ReadFrame under a size cap and decoded with
//     the limited wire.Codec: a malformed or oversized frame closes that
//     connection only.
//   - The accept loops never block on a connection: each connection runs in
//     its own goroutine, so one slow agent slows nobody else; the journal's
//     group commit lets concurrent agents share fsyncs.
package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/collector/listener"
	"github.com/outpost-nms/outpost/collector/metrics"
	"github.com/outpost-nms/outpost/collector/pki"
	"github.com/outpost-nms/outpost/shared/enroll"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Defaults of Config.
const (
	DefaultHelloTimeout   = 10 * time.Second
	DefaultMaxSeries      = 1 << 20
	DefaultMaxSeriesBytes = 128 << 20
	DefaultIdleTimeout    = 60 * time.Second
	DefaultRecheck        = 30 * time.Second
	DefaultMaxClockSkew   = 10 * time.Minute
	// rejectLogEvery is how often refusals of one kind from one agent are logged.
	rejectLogEvery = time.Minute
)

// Config tunes the server.
type Config struct {
	Name      string // collector name sent in HelloAck
	Software  string // collector version sent in HelloAck
	MaxFrame  int    // largest frame read; default wire.DefaultMaxFrame
	MaxSeries int    // series dictionary entries per connection; default DefaultMaxSeries
	// MaxSeriesBytes bounds the names a connection's series dictionary
	// holds; default DefaultMaxSeriesBytes.
	MaxSeriesBytes int
	HelloTimeout   time.Duration // time from accept to Hello; default DefaultHelloTimeout
	IdleTimeout    time.Duration // QUIC idle timeout; default DefaultIdleTimeout
	// Recheck is how often a live session looks the agent up again, so a
	// revocation also ends connections already established (checked
	// before a batch is stored); default DefaultRecheck.
	Recheck time.Duration
	// MaxClockSkew is how far ahead of the collector's clock a sample's
	// time may be; samples beyond it are refused (kind clock-skew). 0
	// takes DefaultMaxClockSkew; negative disables the check.
	MaxClockSkew time.Duration
	Now          func() time.Time
}

// Agents is the part of the inventory the server reads and writes.
type Agents interface {
	LookupAgent(ctx context.Context, name string) (inventory.Agent, error)
	AgentSeen(ctx context.Context, name, address, software string, now time.Time) error
}

// Sink receives journaled records in journal order per agent; start and
// end are the record's journal positions. Enqueue may block (backpressure).
type Sink interface {
	Enqueue(ctx context.Context, start, end journal.Pos, rec *Record) error
}

// Server accepts agent connections. Create it with New, start listeners
// with ServeQUIC and ServeTCP, and stop them by cancelling their context.
type Server struct {
	cfg       Config
	ca        *pki.Authority
	agents    Agents
	journal   *journal.Journal
	sink      Sink
	metrics   *metrics.Collector
	log       *slog.Logger
	enroller  *pki.Enroller
	codec     *wire.Codec
	records   *recordCodec
	tlsConf   *tls.Config
	rejectLog *rejectLog

	mu      sync.Mutex
	streams map[string]*stream
	conns   map[*session]struct{}
	live    map[string]int       // agent → sessions past HelloAck
	ended   map[string]time.Time // agent → when its last session ended
	wg      sync.WaitGroup
}

// stream is an agent's delivery state; mu serializes its batches.
type stream struct {
	mu        sync.Mutex
	epoch     uint64
	journaled uint64      // highest seq written to the journal (dedupe)
	lastPos   journal.Pos // journal position after that record
	acked     uint64      // highest seq known durable (HelloAck)
	dropped   wire.Drops
	active    *session
}

// New builds a server. streams is the durable dedupe state rebuilt by
// Applier.Recover; enroller may be nil (no enrollment on the TCP listener).
func New(cfg Config, ca *pki.Authority, agents Agents, j *journal.Journal, sink Sink, streams map[string]inventory.Stream,
	m *metrics.Collector, enroller *pki.Enroller, log *slog.Logger) (*Server, error) {
	if cfg.MaxFrame <= 0 || cfg.MaxFrame > wire.HardMaxFrame {
		cfg.MaxFrame = wire.DefaultMaxFrame
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = DefaultMaxSeries
	}
	if cfg.MaxSeriesBytes <= 0 {
		cfg.MaxSeriesBytes = DefaultMaxSeriesBytes
	}
	if cfg.HelloTimeout <= 0 {
		cfg.HelloTimeout = DefaultHelloTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.Name == "" {
		cfg.Name = "collector"
	}
	if log == nil {
		log = slog.Default()
	}
	codec, err := wire.NewCodec()
	if err != nil {
		return nil, err
	}
	rc, err := newRecordCodec()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ca: ca, agents: agents, journal: j, sink: sink, metrics: m, log: log, enroller: enroller,
		codec: codec, records: rc, streams: map[string]*stream{}, conns: map[*session]struct{}{}, live: map[string]int{}, ended: map[string]time.Time{}, rejectLog: newRejectLog(rejectLogEvery)}
	for name, st := range streams {
		s.streams[name] = &stream{epoch: st.Epoch, acked: st.AckedSeq, journaled: st.AckedSeq,
			dropped: wire.Drops{Batches: st.DroppedBatches, Samples: st.DroppedSamples, Corrupt: st.Corrupt}}
	}
	s.tlsConf = s.agentTLSConfig()
	return s, nil
}

// agentTLSConfig is the mutual-TLS configuration of both listeners.
//
// It asks for a client certificate with RequestClientCert and verifies it
// itself in VerifyConnection (chain to the collector CA, client-auth EKU,
// then the inventory): the same guarantee as RequireAndVerifyClientCert,
// but every refusal, including "no certificate" and "another CA", passes
// through code that logs and counts it. Session tickets are off, so every
// connection makes a full handshake and sees a revocation at once.
func (s *Server) agentTLSConfig() *tls.Config {
	pool := s.ca.Pool()
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{s.ca.ServerCertificate()},
		ClientAuth:             tls.RequestClientCert,
		ClientCAs:              pool,
		NextProtos:             wire.CollectorALPNs(),
		SessionTicketsDisabled: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			name, err := s.verifyAgent(cs, pool)
			if err != nil {
				s.log.Warn("agent refused at handshake", "agent", name, "reason", err)
				s.refused("unauthorized")
				return err
			}
			return nil
		},
	}
}

// verifyAgent checks the client certificate and the inventory; it returns
// the certificate's CN (for the log) and the reason of a refusal.
func (s *Server) verifyAgent(cs tls.ConnectionState, pool *x509.CertPool) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("no client certificate")
	}
	leaf := cs.PeerCertificates[0]
	name := leaf.Subject.CommonName
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: s.cfg.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return name, fmt.Errorf("certificate not issued by this collector's CA for client auth: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := s.agents.LookupAgent(ctx, name)
	if err != nil {
		if errors.Is(err, inventory.ErrNotFound) {
			return name, fmt.Errorf("unknown agent %q", name)
		}
		return name, fmt.Errorf("inventory: %w", err)
	}
	if a.Revoked() {
		return name, fmt.Errorf("agent %q is revoked", name)
	}
	if serial := pki.SerialHex(leaf.SerialNumber); serial != a.CertSerial {
		return name, fmt.Errorf("certificate serial %s is not the agent's current certificate", serial)
	}
	return name, nil
}

func (s *Server) refused(reason string) {
	if s.metrics != nil {
		s.metrics.Refused.WithLabelValues(reason).Inc()
	}
}

// TLSConfig returns the agent-facing TLS configuration (for tests and for
// callers that build their own listeners).
func (s *Server) TLSConfig() *tls.Config { return s.tlsConf.Clone() }

// QUICConfig returns the QUIC settings: capped flow-control windows (a
// connection buffers at most 2 MiB), few streams, keep-alives.
func (s *Server) QUICConfig() *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout:           5 * time.Second,
		MaxIdleTimeout:                 s.cfg.IdleTimeout,
		KeepAlivePeriod:                15 * time.Second,
		InitialStreamReceiveWindow:     256 << 10,
		MaxStreamReceiveWindow:         1 << 20,
		InitialConnectionReceiveWindow: 512 << 10,
		MaxConnectionReceiveWindow:     2 << 20,
		MaxIncomingStreams:             4,
		MaxIncomingUniStreams:          -1,
	}
}

// ServeQUIC listens for QUIC connections on pconn (a UDP socket) until ctx
// ends. It uses Transport.Listen, so closing the listener does not close
// established connections by itself; they are closed when ctx ends. An
// accept error other than a closed listener is logged and retried after a
// backoff (listener.Backoff), never returned.
func (s *Server) ServeQUIC(ctx context.Context, pconn net.PacketConn) error {
	resetKey := quic.StatelessResetKey(s.ca.DeriveKey("quic stateless reset"))
	tr := &quic.Transport{Conn: pconn, StatelessResetKey: &resetKey}
	defer tr.Close()
	ln, err := tr.Listen(s.tlsConf, s.QUICConfig())
	if err != nil {
		return fmt.Errorf("quic listen %s: %w", pconn.LocalAddr(), err)
	}
	s.log.Info("ingest listening", "transport", "quic", "addr", pconn.LocalAddr().String())
	go func() { <-ctx.Done(); _ = ln.Close() }()
	defer s.closeAll()
	var bo listener.Backoff
	for {
		conn, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, quic.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("quic accept: %w", err)
			}
			// Anything else is passing: log it, wait, go on.
			if bo.Pause(ctx, s.log, "ingest quic", err) != nil {
				return nil
			}
			continue
		}
		bo.Reset()
		if s.metrics != nil {
			s.metrics.Connections.WithLabelValues("quic").Inc()
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleQUIC(ctx, conn)
		}()
	}
}

func (s *Server) handleQUIC(ctx context.Context, conn *quic.Conn) {
	sctx, cancel := context.WithTimeout(ctx, s.cfg.HelloTimeout)
	st, err := conn.AcceptStream(sctx)
	cancel()
	if err != nil {
		s.log.Warn("agent opened no stream", "remote", conn.RemoteAddr().String(), "err", err)
		conn.CloseWithError(quic.ApplicationErrorCode(wire.ErrCodeProtocol), "no stream")
		return
	}
	cs := conn.ConnectionState().TLS
	sess := &session{
		srv:              s,
		rw:               st,
		remote:           conn.RemoteAddr().String(),
		cert:             cs.PeerCertificates[0].Subject.CommonName,
		serial:           pki.SerialHex(cs.PeerCertificates[0].SerialNumber),
		setReadDeadline:  func(t time.Time) { st.SetReadDeadline(t) },
		setWriteDeadline: func(t time.Time) { st.SetWriteDeadline(t) },
		close: func(code uint16, msg string) {
			st.Close()
			conn.CloseWithError(quic.ApplicationErrorCode(code), msg)
		},
		done: conn.Context().Done(),
	}
	s.run(ctx, sess)
}

// ServeTCP accepts TLS-over-TCP connections on ln until ctx ends: agents
// with ALPN wire.ALPN (or an older version's), and enrollment with ALPN enroll.ALPN when an
// Enroller was given. An accept error other than a closed listener (too
// many open files) is logged and retried after a backoff
// (listener.Backoff), never returned: it would stop the collector.
func (s *Server) ServeTCP(ctx context.Context, ln net.Listener) error {
	s.log.Info("ingest listening", "transport", "tcp", "addr", ln.Addr().String())
	go func() { <-ctx.Done(); ln.Close() }()
	defer s.closeAll()
	conf := s.tlsConf.Clone()
	if s.enroller != nil {
		enrollConf := &tls.Config{
			MinVersion:             tls.VersionTLS13,
			Certificates:           []tls.Certificate{s.ca.ServerCertificate()},
			ClientAuth:             tls.NoClientCert,
			NextProtos:             []string{enroll.ALPN},
			SessionTicketsDisabled: true,
		}
		agentConf := s.tlsConf
		conf.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			for _, p := range hello.SupportedProtos {
				if wire.VersionOfALPN(p) != 0 {
					return agentConf, nil
				}
			}
			for _, p := range hello.SupportedProtos {
				if p == enroll.ALPN {
					return enrollConf, nil
				}
			}
			return agentConf, nil
		}
	}
	var bo listener.Backoff
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("tcp accept: %w", err)
			}
			// Too many open files, no buffer space...: passing. Log it,
			// wait, go on; exiting would stop the whole collector.
			if bo.Pause(ctx, s.log, "ingest tcp", err) != nil {
				return nil
			}
			continue
		}
		bo.Reset()
		if s.metrics != nil {
			s.metrics.Connections.WithLabelValues("tcp").Inc()
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleTCP(ctx, tls.Server(c, conf))
		}()
	}
}

func (s *Server) handleTCP(ctx context.Context, c *tls.Conn) {
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HelloTimeout)
	err := c.HandshakeContext(hctx)
	cancel()
	if err != nil {
		s.log.Warn("tls handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	cs := c.ConnectionState()
	if cs.NegotiatedProtocol == enroll.ALPN {
		defer c.Close()
		if s.enroller != nil {
			_ = s.enroller.Serve(ctx, c, c.RemoteAddr().String())
		}
		return
	}
	done := make(chan struct{})
	var once sync.Once
	sess := &session{
		srv:              s,
		rw:               c,
		remote:           c.RemoteAddr().String(),
		cert:             cs.PeerCertificates[0].Subject.CommonName,
		serial:           pki.SerialHex(cs.PeerCertificates[0].SerialNumber),
		setReadDeadline:  func(t time.Time) { c.SetReadDeadline(t) },
		setWriteDeadline: func(t time.Time) { c.SetWriteDeadline(t) },
		close: func(code uint16, msg string) {
			once.Do(func() {
				close(done)
				// Let the Error frame reach the agent before the socket goes:
				// half-close, then drain briefly so unread input causes no RST.
				c.SetWriteDeadline(time.Now().Add(2 * time.Second))
				c.CloseWrite()
				c.SetReadDeadline(time.Now().Add(time.Second))
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				c.Close()
			})
		},
		done: done,
	}
	s.run(ctx, sess)
}

func (s *Server) track(sess *session, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[sess] = struct{}{}
	} else {
		delete(s.conns, sess)
	}
}

// closeAll closes every session and waits for their goroutines.
func (s *Server) closeAll() {
	s.mu.Lock()
	for sess := range s.conns {
		go sess.close(wire.ErrCodeOverloaded, "collector shutting down")
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) streamOf(agent string) *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[agent]
	if st == nil {
		st = &stream{}
		s.streams[agent] = st
	}
	return st
}

// Contact reports whether the agent has a session up now, and when its
// last session ended (zero when none ended since the server started): what
// the alerting engine calls an agent gone silent.
func (s *Server) Contact(agent string) (connected bool, lastEnd time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[agent] > 0, s.ended[agent]
}

// sessionUp counts an established session of agent (up) or its end.
func (s *Server) sessionUp(agent string, up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if up {
		s.live[agent]++
		return
	}
	if s.live[agent]--; s.live[agent] <= 0 {
		delete(s.live, agent)
	}
	s.ended[agent] = s.cfg.Now()
}

// Acked returns the agent's epoch and highest durably stored seq.
func (s *Server) Acked(agent string) (epoch, seq uint64) {
	st := s.streamOf(agent)
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.epoch, st.acked
}

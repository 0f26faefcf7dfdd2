package ingest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/collector/latest"
	"github.com/outpost-nms/outpost/collector/metrics"
	"github.com/outpost-nms/outpost/collector/pki"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mark returns the current length: waitLogSince looks only after it.
func (s *syncBuffer) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// waitLog polls the log until it contains want.
func (s *syncBuffer) waitLog(t *testing.T, want string) { t.Helper(); s.waitLogSince(t, 0, want) }

// waitLogSince polls the log written after mark until it contains want.
func (s *syncBuffer) waitLogSince(t *testing.T, mark int, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.String()[mark:], want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log never contained %q; log:\n%s", want, s.String())
}

// stack is a whole ingest side: inventory, PKI, journal, archive cache,
// applier, server with QUIC and TCP listeners, all real.
type stack struct {
	dir      string
	db       *inventory.DB
	ca       *pki.Authority
	j        *journal.Journal
	cache    *rrd.Cache
	app      *Applier
	srv      *Server
	m        *metrics.Collector
	log      *syncBuffer
	quicAddr string
	tcpAddr  string
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

type stackOptions struct {
	maxFrame   int
	checkpoint time.Duration // applier checkpoint interval; default 1 h (only at shutdown)
	recheck    time.Duration // Config.Recheck
	quicAddr   string        // UDP address to bind; default 127.0.0.1:0
	now        func() time.Time
	// maxClockSkew is Config.MaxClockSkew; default off (-1): the tests'
	// sample times are fixed, some after today.
	maxClockSkew time.Duration
	quotas       Quotas
	maxSeries    int
	// latest, statusChanged and inventoryChanged are ApplierConfig's.
	latest                          *latest.Table
	statusChanged, inventoryChanged func()
	// forwardOnly runs the applier without archives (rrd.enabled: false).
	forwardOnly bool
}

// openStack opens (or reopens, after a crash) the collector state in dir
// and starts listening on loopback.
func openStack(t testing.TB, dir string, opts stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{dir: dir, log: &syncBuffer{}, m: metrics.New()}
	logger := slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	paths := pki.DefaultPaths(filepath.Join(dir, "pki"))
	if err := pki.Init(paths, pki.InitOptions{Name: "test", DNS: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}); err != nil && !errors.Is(err, pki.ErrExists) {
		t.Fatal(err)
	}
	var err error
	if s.ca, err = pki.Load(paths); err != nil {
		t.Fatal(err)
	}
	if s.db, err = inventory.Open(ctx, filepath.Join(dir, "inventory.db")); err != nil {
		t.Fatal(err)
	}
	if s.j, err = journal.Open(filepath.Join(dir, "journal"), journal.Options{SegmentBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	s.cache = rrd.NewCache(rrd.CacheOptions{FlushInterval: time.Hour, Logger: logger})
	var archives Archives = s.cache
	if opts.forwardOnly {
		archives = nil
	}
	if s.app, err = NewApplier(ApplierConfig{DataDir: dir, CheckpointInterval: cmp.Or(opts.checkpoint, time.Hour), Quotas: opts.quotas,
		Latest: opts.latest, StatusChanged: opts.statusChanged, InventoryChanged: opts.inventoryChanged}, s.j, s.db, archives, s.m, logger); err != nil {
		t.Fatal(err)
	}
	streams, err := s.app.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	enr := &pki.Enroller{CA: s.ca, Store: s.db, Log: logger}
	if s.srv, err = New(Config{Name: "test-collector", MaxFrame: opts.maxFrame, Now: opts.now, Recheck: opts.recheck, MaxClockSkew: cmp.Or(opts.maxClockSkew, -1), MaxSeries: opts.maxSeries}, s.ca, s.db, s.j, s.app, streams, s.m, enr, logger); err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", cmp.Or(opts.quicAddr, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.quicAddr, s.tcpAddr = udp.LocalAddr().String(), tcp.Addr().String()
	runCtx, cancel := context.WithCancel(ctx)
	var serving sync.WaitGroup
	serving.Add(2)
	go func() { defer serving.Done(); s.srv.ServeQUIC(runCtx, udp) }()
	go func() { defer serving.Done(); s.srv.ServeTCP(runCtx, tcp) }()
	appCtx, appCancel := context.WithCancel(ctx)
	s.done.Add(1)
	go func() { defer s.done.Done(); s.app.Run(appCtx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			// Listeners first, then the applier: it applies what they queued.
			cancel()
			serving.Wait()
			appCancel()
			s.done.Wait()
			udp.Close()
		})
	}
	s.cancel = stop
	t.Cleanup(func() {
		stop()
		s.cache.Close(ctx)
		s.j.Close()
		s.db.Close()
	})
	return s
}

// shutdown stops listeners and the applier, flushes and checkpoints.
func (s *stack) shutdown(t testing.TB) {
	t.Helper()
	s.cancel()
	if err := s.app.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// addAgent registers an agent and issues its certificate.
func (s *stack) addAgent(t testing.TB, name string, hosts ...string) tls.Certificate {
	t.Helper()
	ctx := context.Background()
	if err := s.db.AddAgent(ctx, name, hosts, time.Now()); err != nil && !errors.Is(err, inventory.ErrAgentExists) {
		t.Fatal(err)
	}
	iss, key, err := s.ca.IssueAgentKey(name, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.SetAgentCert(ctx, name, iss.Serial, iss.NotAfter); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(iss.CertPEM, key)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func (s *stack) clientTLS(cert *tls.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.ca.Cert)
	c := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "localhost", NextProtos: []string{wire.ALPN}}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

// agentConn is a test agent built from shared/wire.
type agentConn struct {
	t       testing.TB
	rw      io.ReadWriter
	codec   *wire.Codec
	close   func()
	qconn   *quic.Conn
	rejects []wire.Reject // Reject frames received, in order
	rawSent bool          // a frame was sent with sendRaw since the last batch
}

func dialQUIC(t testing.TB, addr string, conf *tls.Config) (*agentConn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, conf, &quic.Config{MaxIdleTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	st, err := conn.OpenStreamSync(ctx)
	if err != nil {
		conn.CloseWithError(0, "")
		return nil, err
	}
	codec, _ := wire.NewCodec()
	a := &agentConn{t: t, rw: st, codec: codec, qconn: conn, close: func() { conn.CloseWithError(0, "test done") }}
	t.Cleanup(a.close)
	return a, nil
}

func dialTCP(t testing.TB, addr string, conf *tls.Config) (*agentConn, error) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	codec, _ := wire.NewCodec()
	a := &agentConn{t: t, rw: c, codec: codec, close: func() { c.Close() }}
	t.Cleanup(a.close)
	return a, nil
}

func (a *agentConn) send(m wire.Message) error {
	frame, err := a.codec.AppendFrame(nil, m)
	if err != nil {
		return err
	}
	_, err = a.rw.Write(frame)
	return err
}

func (a *agentConn) recv() (wire.Message, error) {
	t, body, err := wire.ReadFrame(a.rw, wire.HardMaxFrame, nil)
	if err != nil {
		return nil, err
	}
	return a.codec.Decode(t, body)
}

// hello runs the handshake and returns the HelloAck or the error.
func (a *agentConn) hello(name string, epoch, first, last uint64) (*wire.HelloAck, error) {
	if err := a.send(&wire.Hello{Agent: name, Software: "test", Proto: wire.ProtocolVersion, Epoch: epoch, FirstSeq: first, LastSeq: last}); err != nil {
		return nil, err
	}
	m, err := a.recv()
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *wire.HelloAck:
		return m, nil
	case *wire.Error:
		return nil, m
	}
	return nil, fmt.Errorf("unexpected %s", m.Type())
}

// batch sends a batch and returns the acked seq, or the collector's error.
// Reject frames are collected in a.rejects.
func (a *agentConn) batch(b *wire.Batch) (uint64, error) {
	if err := a.send(b); err != nil {
		return 0, err
	}
	for {
		m, err := a.recv()
		if err != nil {
			return 0, err
		}
		switch m := m.(type) {
		case *wire.Ack:
			if m.Seq < b.Seq && a.rawSent {
				continue // the ack of a batch sent raw before b (sendRaw)
			}
			a.rawSent = false
			return m.Seq, nil
		case *wire.Error:
			return 0, m
		case *wire.Reject:
			a.rejects = append(a.rejects, *m)
			continue
		}
		return 0, fmt.Errorf("unexpected %s", m.Type())
	}
}

// testSeries defines an interface attribute (two counters) and a host
// attribute (a gauge) on host h.
func testSeries(h string) *wire.Series {
	return &wire.Series{First: 1, Defs: []wire.SeriesDef{
		{Host: h, Attr: "if:eth0", DS: "in_octets", Kind: sample.Counter64},
		{Host: h, Attr: "if:eth0", DS: "out_octets", Kind: sample.Counter64},
		{Host: h, Attr: "host", DS: "rtt", Kind: sample.Gauge},
	}}
}

func testHost(h string, interval uint32) wire.Host {
	nan := math.NaN()
	return wire.Host{Name: h, Address: "192.0.2.1", SysName: h, Complete: true, Attrs: []wire.Attr{
		{Key: "if:eth0", Kind: wire.KindInterface, Name: "eth0", Interval: interval, Props: map[string]string{"ifIndex": "1"},
			DS: []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: nan}, {Name: "out_octets", Kind: sample.Counter64, Min: 0, Max: nan}}},
		{Key: "host", Kind: wire.KindHost, Name: "reachability", Interval: interval,
			DS: []wire.DSDef{{Name: "rtt", Kind: sample.Gauge, Min: 0, Max: nan}}},
	}}
}

// testBatch carries one poll at time t (seconds) of the test series.
func testBatch(seq uint64, t int64, withHost bool, h string, interval uint32) *wire.Batch {
	b := &wire.Batch{Seq: seq, Groups: []wire.Group{{
		Time:     t * 1000,
		Ints:     []uint64{1, uint64(t) * 1000, 2, uint64(t) * 10},
		FloatIDs: []uint32{3},
		Floats:   []float64{float64(t%1000) / 1000},
	}}, Statuses: []wire.AttrStatus{{Host: h, Attr: "if:eth0", Status: status.Up, Reason: "ifOperStatus up", Time: t * 1000}}}
	if withHost {
		b.Hosts = []wire.Host{testHost(h, interval)}
	}
	return b
}

// journaled returns every record in the stack's journal.
func (s *stack) journaled(t testing.TB) []*Record {
	t.Helper()
	rc, _ := newRecordCodec()
	var out []*Record
	if err := s.j.Replay(0, func(e journal.Entry) error {
		r, err := rc.unmarshal(e.Data)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// sendRaw writes a frame of type t with body as is (frames no encoder
// would produce).
func (a *agentConn) sendRaw(t wire.Type, body []byte) error {
	a.rawSent = true
	return wire.WriteFrame(a.rw, t, body)
}

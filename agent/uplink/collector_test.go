package uplink

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/shared/wire"
)

// This file is a minimal collector built from shared/wire, for tests and
// benchmarks: real quic-go and TLS listeners with certificates made here.

type pki struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
}

func newPKI(t testing.TB, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{caCert: cert, caKey: key, pool: pool}
}

func (p *pki) issue(t testing.TB, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{cn}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// testCollector keeps the durable state of a collector in memory: the
// acked seq per epoch and every batch received.
type testCollector struct {
	t     testing.TB
	codec *wire.Codec

	mu        sync.Mutex
	acked     uint64
	received  []uint64   // seqs of stored batches, in order
	dups      int        // batches received at or below acked
	sessions  [][]uint64 // seqs received per session
	hellos    []wire.Hello
	samples   int
	closeOnce map[uint64]bool // close the connection when this seq arrives (once)
	ackUpTo   uint64          // when non-zero, never ack above this in the first session
	oversized bool            // answer HelloAck, then send an oversized frame
	rejectSeq map[uint64]bool // answer these batches with a Reject before their Ack
	maxFrame  uint32          // HelloAck.MaxFrame; default wire.DefaultMaxFrame
	changed   chan struct{}
}

func newTestCollector(t testing.TB) *testCollector {
	codec, err := wire.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	return &testCollector{t: t, codec: codec, closeOnce: map[uint64]bool{}, changed: make(chan struct{}, 1)}
}

func (c *testCollector) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// waitFor polls cond until it holds or the deadline passes.
func (c *testCollector) waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

var errTestClose = errors.New("test collector closes the connection")

// serve runs one session on rw.
func (c *testCollector) serve(rw io.ReadWriter) error {
	buf := make([]byte, 64<<10)
	t, body, err := wire.ReadFrame(rw, wire.DefaultMaxFrame, buf)
	if err != nil {
		return err
	}
	m, err := c.codec.Decode(t, body)
	if err != nil {
		return err
	}
	hello, ok := m.(*wire.Hello)
	if !ok {
		return fmt.Errorf("first frame %s", t)
	}
	c.mu.Lock()
	c.hellos = append(c.hellos, *hello)
	c.sessions = append(c.sessions, nil)
	sess := len(c.sessions) - 1
	if hello.FirstSeq > c.acked+1 { // batches the spool dropped: declared, never sent
		c.acked = hello.FirstSeq - 1
	}
	ack := &wire.HelloAck{Collector: "test", Epoch: hello.Epoch, AckedSeq: c.acked, MaxFrame: cmp.Or(c.maxFrame, wire.DefaultMaxFrame)}
	oversized := c.oversized
	c.mu.Unlock()
	c.signal()
	f, _ := c.codec.AppendFrame(nil, ack)
	if _, err := rw.Write(f); err != nil {
		return err
	}
	if oversized {
		rw.Write([]byte{0x04, 0x00, 0x00, 0x00, byte(wire.TypeAck)}) // announces 64 MiB
		io.Copy(io.Discard, rw)
		return nil
	}
	dict := map[uint32]wire.SeriesDef{}
	for {
		t, body, err := wire.ReadFrame(rw, wire.DefaultMaxFrame, buf)
		if err != nil {
			return err
		}
		if cap(body) > cap(buf) {
			buf = body[:0]
		}
		m, err := c.codec.Decode(t, body)
		if err != nil {
			return err
		}
		switch m := m.(type) {
		case *wire.Series:
			for i, d := range m.Defs {
				dict[m.First+uint32(i)] = d
			}
		case *wire.Batch:
			for _, g := range m.Groups {
				for i := 0; i < len(g.Ints); i += 2 {
					if _, ok := dict[uint32(g.Ints[i])]; !ok {
						return fmt.Errorf("batch %d: series %d not defined on this connection", m.Seq, g.Ints[i])
					}
				}
				for _, id := range g.FloatIDs {
					if _, ok := dict[id]; !ok {
						return fmt.Errorf("batch %d: series %d not defined on this connection", m.Seq, id)
					}
				}
			}
			c.mu.Lock()
			if c.closeOnce[m.Seq] {
				delete(c.closeOnce, m.Seq)
				c.mu.Unlock()
				return errTestClose
			}
			c.sessions[sess] = append(c.sessions[sess], m.Seq)
			if m.Seq <= c.acked {
				c.dups++
			} else {
				c.received = append(c.received, m.Seq)
				c.samples += m.Samples()
				if c.ackUpTo == 0 || sess > 0 || m.Seq <= c.ackUpTo {
					c.acked = m.Seq
				}
			}
			a := &wire.Ack{Seq: c.acked}
			reject := c.rejectSeq[m.Seq]
			c.mu.Unlock()
			c.signal()
			var f []byte
			if reject {
				f, _ = c.codec.AppendFrame(nil, &wire.Reject{Seq: m.Seq, Kind: wire.RejectFrame, Whole: true,
					Reason: fmt.Sprintf("batch %d: \x1b[31mbad\xff", m.Seq)})
			}
			f, _ = c.codec.AppendFrame(f, a)
			if _, err := rw.Write(f); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected %s", t)
		}
	}
}

func serverTLS(p *pki, cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    clientCAs,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		NextProtos:   []string{wire.ALPN},
		MinVersion:   tls.VersionTLS13,
	}
}

// listenQUIC serves c on a real QUIC listener until the test ends.
func listenQUIC(t testing.TB, c *testCollector, tc *tls.Config) string {
	t.Helper()
	return listenQUICFunc(t, tc, c.serve)
}

// listenQUICFunc serves each connection's first stream with serve.
func listenQUICFunc(t testing.TB, tc *tls.Config, serve func(io.ReadWriter) error) string {
	t.Helper()
	return listenQUICOn(t, "127.0.0.1:0", tc, serve)
}

// listenQUICOn is listenQUICFunc on a given address.
func listenQUICOn(t testing.TB, addr string, tc *tls.Config, serve func(io.ReadWriter) error) string {
	t.Helper()
	ln, err := quic.ListenAddr(addr, tc, &quic.Config{MaxIdleTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[*quic.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			conns[conn] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := conn.AcceptStream(ctx)
				if err != nil {
					conn.CloseWithError(1, "no stream")
					return
				}
				err = serve(st)
				conn.CloseWithError(1, fmt.Sprint(err))
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.CloseWithError(0, "test over")
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// listenTCP serves c over TLS on TCP until the test ends.
func listenTCP(t testing.TB, c *testCollector, tc *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tc)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[conn] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.serve(conn)
				conn.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// blackholeUDP binds a UDP socket that reads and drops everything: a
// firewall that silently discards the collector's QUIC traffic.
func blackholeUDP(t testing.TB) string {
	t.Helper()
	addr, _ := blackholeUDPPort(t)
	return addr
}

// blackholeUDPPort is blackholeUDP with a function that closes the socket
// (the port is then free for a real listener).
func blackholeUDPPort(t testing.TB) (string, func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(b); err != nil {
				return
			}
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { pc.Close(); <-done }) }
	t.Cleanup(stop)
	return pc.LocalAddr().String(), stop
}

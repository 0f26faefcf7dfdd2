package testbed

import (
	"context"
	"math/rand"
	"net"
	"sync"
	"testing"
	"time"
)

// Impairment describes what a Relay does to each datagram, in each direction.
type Impairment struct {
	Loss  float64       // probability in [0,1] that a datagram is dropped
	Delay time.Duration // added one-way delay
	Seed  int64         // seed of the loss decisions (reproducible runs)
}

// Relay forwards UDP datagrams between clients and a target, dropping and
// delaying them as its Impairment says. It stands in for tc netem where the
// kernel has no sch_netem: QUIC above it sees real loss and real delay.
// Each client address gets its own upstream socket, as a NAT would.
type Relay struct {
	conn   *net.UDPConn
	target *net.UDPAddr

	mu       sync.Mutex
	imp      Impairment
	rng      *rand.Rand
	sessions map[string]*net.UDPConn
	dropped  int
	passed   int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartRelay listens on a free 127.0.0.1 UDP port and forwards to target.
// It is closed in t.Cleanup.
func StartRelay(t testing.TB, target string, imp Impairment) *Relay {
	t.Helper()
	taddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatalf("relay target %s: %v", target, err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("relay listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{conn: c, target: taddr, imp: imp, rng: rand.New(rand.NewSource(imp.Seed)),
		sessions: map[string]*net.UDPConn{}, ctx: ctx, cancel: cancel}
	r.wg.Add(1)
	go r.downstream()
	t.Cleanup(r.Close)
	return r
}

// Addr is where clients send.
func (r *Relay) Addr() string { return r.conn.LocalAddr().String() }

// SetImpairment changes loss and delay from now on (for example 100% loss
// to cut the path, then back).
func (r *Relay) SetImpairment(imp Impairment) {
	r.mu.Lock()
	r.imp.Loss, r.imp.Delay = imp.Loss, imp.Delay
	r.mu.Unlock()
}

// Counts returns how many datagrams were dropped and passed so far.
func (r *Relay) Counts() (dropped, passed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped, r.passed
}

// Close stops the relay and waits for its goroutines.
func (r *Relay) Close() {
	r.cancel()
	r.conn.Close()
	r.mu.Lock()
	for _, s := range r.sessions {
		s.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// verdict decides a datagram's fate: its delay, or drop.
func (r *Relay) verdict() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rng.Float64() < r.imp.Loss {
		r.dropped++
		return 0, false
	}
	r.passed++
	return r.imp.Delay, true
}

func (r *Relay) send(delay time.Duration, write func()) {
	if delay <= 0 {
		write()
		return
	}
	r.wg.Add(1)
	time.AfterFunc(delay, func() {
		defer r.wg.Done()
		if r.ctx.Err() == nil {
			write()
		}
	})
}

// downstream reads from clients and forwards to the target.
func (r *Relay) downstream() {
	defer r.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		up := r.session(from)
		if up == nil {
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		if d, ok := r.verdict(); ok {
			r.send(d, func() { up.Write(pkt) })
		}
	}
}

// session returns the upstream socket of a client, creating it.
func (r *Relay) session(client *net.UDPAddr) *net.UDPConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[client.String()]; ok {
		return s
	}
	if r.ctx.Err() != nil {
		return nil
	}
	s, err := net.DialUDP("udp", nil, r.target)
	if err != nil {
		return nil
	}
	r.sessions[client.String()] = s
	r.wg.Add(1)
	go r.upstream(s, client)
	return s
}

// upstream reads the target's replies to one client and forwards them back.
func (r *Relay) upstream(s *net.UDPConn, client *net.UDPAddr) {
	defer r.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, err := s.Read(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		if d, ok := r.verdict(); ok {
			r.send(d, func() { r.conn.WriteToUDP(pkt, client) })
		}
	}
}

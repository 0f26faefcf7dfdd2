package trap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Sink is where received traps go: agent/batch.Batcher in the agent, a
// printer in `outpost-agent probe traps`. ReportTraps returns nil only
// when the traps are stored (spooled); only then are informs answered.
type Sink interface {
	ReportTraps([]wire.Trap) error
}

// Options configure a Listener.
type Options struct {
	// Communities and Users are what is accepted (see config.Traps).
	Communities []string
	Users       []config.SNMPv3
	// EngineID is the agent's SNMP engine ID (config.EffectiveEngineID).
	EngineID []byte
	// RatePerSource and Burst shape each source's token bucket; Rate 0:
	// unlimited.
	RatePerSource float64
	Burst         int
	// QueueSize and QueueBytes bound what is received and not yet
	// stored; defaults 10000 traps and 16 MiB.
	QueueSize  int
	QueueBytes int
	// Targets attributes traps to hosts; nil: every trap has an unknown source.
	Targets *Targets
	// Sink stores traps (required).
	Sink Sink
	// Sync, when set, is called after a write that holds informs and
	// before they are answered (the spool's fsync), so an answered inform
	// survives a power loss too, not only a kill.
	Sync func() error
	// Registerer, when set, receives the receiver's metrics.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Default bounds of the queue between receiving and storing.
const (
	DefaultQueueSize  = 10000
	DefaultQueueBytes = 16 << 20
	// writeMax is the most traps stored in one call to the sink.
	writeMax = 1024
)

// Listener receives traps and informs on one UDP socket.
type Listener struct {
	opt  Options
	conn *net.UDPConn
	dec  *Decoder
	log  *slog.Logger
	// targets attributes traps; replaced by SetTargets on a reload.
	targets atomic.Pointer[Targets]
	m       *receiverMetrics

	// Owned by the reading goroutine.
	limits  *buckets
	logged  onceAMinute
	informs *informCache

	mu     sync.Mutex
	queue  []queued
	qbytes int
	wake   chan struct{}

	stats Stats
}

type queued struct {
	trap  wire.Trap
	reply []byte
	to    netip.AddrPort
	key   uint64
	size  int
}

// Stats are the receiver's counters since Listen.
type Stats struct {
	Received, Stored, Refused, RateLimited, QueueFull, StoreFailed, Duplicates, InformsAnswered, Unknown uint64
	// QueuePeak and QueuePeakBytes are the most traps (and their
	// estimated bytes) ever waiting between the socket and the sink.
	QueuePeak, QueuePeakBytes int
}

// Listen opens the UDP socket on addr (host:port; ":162" all addresses).
func Listen(addr string, opt Options) (*Listener, error) {
	if opt.Sink == nil {
		return nil, errors.New("trap: no sink")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = DefaultQueueSize
	}
	if opt.QueueBytes <= 0 {
		opt.QueueBytes = DefaultQueueBytes
	}
	dec, err := NewDecoder(opt.Communities, opt.Users, opt.EngineID, opt.Now)
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("trap listen %s: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("trap listen %s: %w", addr, err)
	}
	_ = conn.SetReadBuffer(4 << 20) // absorb bursts; the kernel caps it at rmem_max
	l := &Listener{opt: opt, conn: conn, dec: dec, log: opt.Logger, wake: make(chan struct{}, 1),
		informs: newInformCache(4096)}
	if opt.RatePerSource > 0 {
		l.limits = newBuckets(opt.RatePerSource, max(opt.Burst, 1))
	}
	l.targets.Store(opt.Targets)
	l.m = newReceiverMetrics()
	if opt.Registerer != nil {
		if err := l.m.register(opt.Registerer); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return l, nil
}

// SetTargets replaces the targets traps are attributed to (the agent's
// configuration was reloaded). Safe while Run runs.
func (l *Listener) SetTargets(t *Targets) { l.targets.Store(t) }

// Addr is the socket's address.
func (l *Listener) Addr() net.Addr { return l.conn.LocalAddr() }

// Stats returns the counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Run receives until ctx ends, then stores what is queued and closes the
// socket. It returns nil after ctx ends.
func (l *Listener) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	writerDone := make(chan struct{})
	go func() {
		defer wg.Done()
		l.writeLoop(writerDone)
	}()
	stop := context.AfterFunc(ctx, func() { _ = l.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	rd := newBatchReader(l.conn)
	for {
		n, err := rd.read()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, net.ErrClosed) {
				break
			}
			l.log.Warn("trap: read", "err", err)
			continue
		}
		for i := 0; i < n; i++ {
			pkt, src := rd.message(i)
			l.handle(pkt, src)
		}
	}
	close(writerDone)
	wg.Wait()
	return l.conn.Close()
}

// handle processes one datagram (the reading goroutine).
func (l *Listener) handle(pkt []byte, src netip.AddrPort) {
	now := l.opt.Now()
	from := src.Addr().Unmap()
	if l.limits != nil && !l.limits.allow(from, now) {
		l.count(func(s *Stats) { s.RateLimited++ })
		l.m.dropped.WithLabelValues("rate_limit").Inc()
		if l.logged.allow(from, now) {
			l.log.Warn("trap: source over its rate limit; traps dropped (logged once a minute per source)", "source", from.String(), "rate_per_source", l.opt.RatePerSource)
		}
		return
	}
	msg, err := l.dec.Decode(pkt, src)
	if err != nil {
		reason, _ := errRefused(err)
		l.count(func(s *Stats) { s.Refused++ })
		l.m.refused.WithLabelValues(reason).Inc()
		if l.logged.allow(from, now) {
			l.log.Warn("trap: refused (logged once a minute per source)", "source", src.String(), "reason", reason, "err", err)
		}
		return
	}
	if msg.Probe {
		l.send(msg.Reply, src)
		return
	}
	t := &msg.Trap
	l.m.received.WithLabelValues(versionLabel(t.Version)).Inc()
	if t.Inform {
		switch l.informs.state(msg.Key, now) {
		case informQueued:
			l.count(func(s *Stats) { s.Duplicates++ })
			return // answered when the first copy is stored
		case informStored:
			l.count(func(s *Stats) { s.Duplicates++ })
			l.send(msg.Reply, src) // our answer was lost: answer again, store nothing
			return
		default: // informNew: stored below
		}
	}
	if ts := l.targets.Load(); ts != nil {
		ts.Attribute(t, msg.Candidates)
	}
	if t.Host == "" {
		l.m.unknown.Inc()
	}
	size := trapBytes(t) + len(msg.Reply)
	l.mu.Lock()
	l.stats.Received++
	if t.Host == "" {
		l.stats.Unknown++
	}
	if len(l.queue) >= l.opt.QueueSize || l.qbytes+size > l.opt.QueueBytes {
		l.stats.QueueFull++
		l.mu.Unlock()
		l.m.dropped.WithLabelValues("queue_full").Inc()
		if l.logged.allow(from, now) {
			l.log.Warn("trap: queue full (the spool is slower than the traps arrive); trap dropped", "source", from.String())
		}
		return
	}
	l.queue = append(l.queue, queued{trap: *t, reply: msg.Reply, to: src, key: msg.Key, size: size})
	l.qbytes += size
	l.stats.QueuePeak = max(l.stats.QueuePeak, len(l.queue))
	l.stats.QueuePeakBytes = max(l.stats.QueuePeakBytes, l.qbytes)
	l.mu.Unlock()
	if t.Inform {
		l.informs.queued(msg.Key, now)
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// writeLoop stores queued traps in groups and answers informs once stored.
func (l *Listener) writeLoop(done <-chan struct{}) {
	batch := make([]wire.Trap, 0, writeMax)
	for {
		l.mu.Lock()
		n := min(len(l.queue), writeMax)
		items := append([]queued(nil), l.queue[:n]...)
		l.mu.Unlock()
		if n == 0 {
			select {
			case <-l.wake:
				continue
			case <-done:
				l.mu.Lock()
				empty := len(l.queue) == 0
				l.mu.Unlock()
				if empty {
					return
				}
				continue
			}
		}
		batch = batch[:0]
		informs := 0
		for i := range items {
			batch = append(batch, items[i].trap)
			if items[i].reply != nil {
				informs++
			}
		}
		err := l.opt.Sink.ReportTraps(batch)
		if err == nil && informs > 0 && l.opt.Sync != nil {
			err = l.opt.Sync()
		}
		l.mu.Lock()
		bytes := 0
		for i := range items {
			bytes += items[i].size
		}
		l.queue = append(l.queue[:0], l.queue[n:]...)
		l.qbytes -= bytes
		if err != nil {
			l.stats.StoreFailed += uint64(n)
		} else {
			l.stats.Stored += uint64(n)
		}
		l.mu.Unlock()
		if err != nil {
			l.m.dropped.WithLabelValues("store_failed").Add(float64(n))
			l.log.Error("trap: could not store traps; dropped (informs unanswered: senders retry)", "traps", n, "err", err)
			for i := range items {
				if items[i].reply != nil {
					l.informs.forget(items[i].key)
				}
			}
			continue
		}
		l.m.stored.Add(float64(n))
		for i := range items {
			if items[i].reply == nil {
				continue
			}
			l.informs.stored(items[i].key)
			l.send(items[i].reply, items[i].to)
			l.count(func(s *Stats) { s.InformsAnswered++ })
			l.m.informs.Inc()
		}
	}
}

func (l *Listener) send(b []byte, to netip.AddrPort) {
	if _, err := l.conn.WriteToUDPAddrPort(b, to); err != nil {
		l.log.Warn("trap: reply", "to", to.String(), "err", err)
	}
}

func (l *Listener) count(f func(*Stats)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}

func versionLabel(v uint8) string {
	switch v {
	case 1:
		return "1"
	case 2:
		return "2c"
	}
	return "3"
}

// trapBytes estimates the memory a queued trap holds.
func trapBytes(t *wire.Trap) int {
	n := 200 + len(t.Host) + len(t.Source) + len(t.From) + len(t.OID) + len(t.User) + len(t.Enterprise)
	for i := range t.VarBinds {
		n += 64 + len(t.VarBinds[i].OID) + len(t.VarBinds[i].Value)
	}
	return n
}

// receiverMetrics are the receiver's Prometheus metrics.
type receiverMetrics struct {
	received *prometheus.CounterVec
	refused  *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	stored   prometheus.Counter
	informs  prometheus.Counter
	unknown  prometheus.Counter
}

func newReceiverMetrics() *receiverMetrics {
	return &receiverMetrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outpost_agent_traps_received_total",
			Help: "Traps and informs accepted (credentials valid), by SNMP version."}, []string{"version"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outpost_agent_traps_refused_total",
			Help: "Datagrams refused: malformed, wrong community, v3 authentication failed, not a notification."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outpost_agent_traps_dropped_total",
			Help: "Accepted traps not stored: over the source's rate limit, queue full, or the spool failed."}, []string{"reason"}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "outpost_agent_traps_spooled_total",
			Help: "Traps written to the spool."}),
		informs: prometheus.NewCounter(prometheus.CounterOpts{Name: "outpost_agent_informs_answered_total",
			Help: "Informs answered (each after its trap was spooled)."}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{Name: "outpost_agent_traps_unknown_source_total",
			Help: "Traps from a source no target is attributed to (kept, with their address)."}),
	}
}

func (m *receiverMetrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.received, m.refused, m.dropped, m.stored, m.informs, m.unknown} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("trap metrics: %w", err)
		}
	}
	return nil
}

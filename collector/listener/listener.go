// Package listener keeps the collector's listeners serving whatever their
// clients do:
//
//   - Backoff paces an accept loop after an error: an accept error other
//     than a closed listener (too many open files, no buffer space, a
//     network error) is logged and retried after 5 ms, doubling to 1 s,
//     instead of ending the loop and, with it, the collector;
//   - Guard wraps a TCP listener so that it holds at most Max connections
//     at once (Accept waits until one closes) and at most PerHost from one
//     client address (further ones are closed as soon as they are
//     accepted), and runs its accept errors through a Backoff.
//
// A guarded listener never returns an error from Accept except once it is
// closed, so an http.Server serving it stops only when told to.
package listener

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Backoff delays of an accept loop after consecutive errors.
const (
	MinBackoff = 5 * time.Millisecond
	MaxBackoff = time.Second
)

// Backoff paces one accept loop. The zero value is ready; it is not safe
// for concurrent use (an accept loop is one goroutine).
type Backoff struct {
	delay time.Duration
}

// Pause logs err (what names the listener: "web", "ingest tcp") and waits
// before the next Accept: MinBackoff after a success, doubling up to
// MaxBackoff while errors repeat. It returns ctx's error if ctx ends first.
func (b *Backoff) Pause(ctx context.Context, log *slog.Logger, what string, err error) error {
	if b.delay == 0 {
		b.delay = MinBackoff
	} else {
		b.delay = min(2*b.delay, MaxBackoff)
	}
	log.Warn("accept failed; retrying", "listener", what, "err", err, "retry_in", b.delay)
	t := time.NewTimer(b.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reset is called after a successful Accept.
func (b *Backoff) Reset() { b.delay = 0 }

// Options of Guard.
type Options struct {
	Name    string       // for the log ("web")
	Max     int          // connections open at once; 0: no limit
	PerHost int          // connections from one client IP address; 0: no limit
	Log     *slog.Logger // nil: slog.Default()
}

// Guard wraps ln as the package doc describes. Closing the returned
// listener closes ln and ends a waiting Accept.
func Guard(ln net.Listener, o Options) net.Listener {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &guarded{Listener: ln, o: o, ctx: ctx, cancel: cancel, hosts: map[string]int{}}
	if o.Max > 0 {
		g.slots = make(chan struct{}, o.Max)
	}
	return g
}

type guarded struct {
	net.Listener
	o       Options
	ctx     context.Context // ends with Close
	cancel  context.CancelFunc
	slots   chan struct{} // one token per open connection; nil: no limit
	mu      sync.Mutex
	hosts   map[string]int // open connections per client address
	refused time.Time      // last "too many from one address" log line
}

func (g *guarded) Close() error {
	g.cancel()
	return g.Listener.Close()
}

func (g *guarded) Accept() (net.Conn, error) {
	var bo Backoff
	for {
		if g.slots != nil {
			select {
			case g.slots <- struct{}{}:
			case <-g.ctx.Done():
				return nil, net.ErrClosed
			}
		}
		c, err := g.Listener.Accept()
		if err != nil {
			g.free()
			if errors.Is(err, net.ErrClosed) || g.ctx.Err() != nil {
				return nil, err
			}
			if bo.Pause(g.ctx, g.o.Log, g.o.Name, err) != nil {
				return nil, net.ErrClosed
			}
			continue
		}
		bo.Reset()
		host := hostOf(c.RemoteAddr())
		if !g.admit(host) {
			c.Close()
			g.free()
			continue
		}
		return &conn{Conn: c, g: g, host: host}, nil
	}
}

func (g *guarded) free() {
	if g.slots != nil {
		<-g.slots
	}
}

// admit counts a new connection from host, or refuses it (and logs that,
// at most every 10 s) when host has PerHost open.
func (g *guarded) admit(host string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.o.PerHost > 0 && g.hosts[host] >= g.o.PerHost {
		if now := time.Now(); now.Sub(g.refused) >= 10*time.Second {
			g.refused = now
			g.o.Log.Warn("connection refused: too many from one address", "listener", g.o.Name, "remote", host, "limit", g.o.PerHost)
		}
		return false
	}
	g.hosts[host]++
	return true
}

func (g *guarded) release(host string) {
	g.mu.Lock()
	if g.hosts[host]--; g.hosts[host] <= 0 {
		delete(g.hosts, host)
	}
	g.mu.Unlock()
	g.free()
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// conn frees its slot once, when closed.
type conn struct {
	net.Conn
	g    *guarded
	host string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.g.release(c.host) })
	return err
}

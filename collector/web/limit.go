package web

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed logins allowed per client address within loginWindow before
// further attempts are refused with 429 until the window moves on.
const (
	loginFailures = 10
	loginWindow   = 10 * time.Minute
	loginClients  = 10000 // addresses tracked at most; the oldest are dropped
)

// loginLimiter counts failed logins per client address (bcrypt makes each
// guess cost ~100 ms of CPU; this caps guesses per address). It is owned
// by one Server.
type loginLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (l *loginLimiter) prune(addr string, now time.Time) []time.Time {
	kept := l.fails[addr][:0]
	for _, t := range l.fails[addr] {
		if now.Sub(t) < loginWindow {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.fails, addr)
		return nil
	}
	l.fails[addr] = kept
	return kept
}

// blocked reports whether addr has used up its failed attempts.
func (l *loginLimiter) blocked(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.prune(addr, now)) >= loginFailures
}

// failed records a failed attempt from addr.
func (l *loginLimiter) failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = map[string][]time.Time{}
	}
	if len(l.fails) >= loginClients {
		for a := range l.fails {
			if len(l.prune(a, now)) > 0 && len(l.fails) >= loginClients {
				delete(l.fails, a)
			}
			if len(l.fails) < loginClients {
				break
			}
		}
	}
	l.fails[addr] = append(l.prune(addr, now), now)
}

// succeeded forgets addr's failures.
func (l *loginLimiter) succeeded(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, addr)
}

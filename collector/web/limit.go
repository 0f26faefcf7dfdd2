package web

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Password guesses allowed within loginWindow: per client address and per
// account (the name typed, whether or not it exists). Beyond either limit
// further attempts are refused with 429, before any password is checked,
// until the window moves on. The account limit stops a guesser who
// spreads attempts over many addresses; it is higher than the address
// limit so that one noisy address cannot lock a user out by itself.
const (
	loginFailures   = 10
	accountFailures = 30
	loginWindow     = 10 * time.Minute
	loginClients    = 10000 // addresses (and accounts) tracked at most; the oldest are dropped
)

// loginLimiter counts password attempts per client address and per
// account. bcrypt makes each guess cost ~100 ms of CPU; the limiter caps
// the guesses. An attempt is reserved before the password is hashed and
// counts against both limits while it runs, so concurrent guesses cannot
// all pass the check before the first failure is recorded. It is owned by
// one Server; the zero value is ready to use.
type loginLimiter struct {
	mu    sync.Mutex
	addrs attemptLog
	users attemptLog
}

// attemptLog is the recent failures and the attempts in progress of each key.
type attemptLog map[string]*attempts

type attempts struct {
	fails   []time.Time
	running int
}

// live drops k's failures older than the window and returns what is left,
// deleting k when nothing is.
func (l attemptLog) live(k string, now time.Time) *attempts {
	a := l[k]
	if a == nil {
		return nil
	}
	kept := a.fails[:0]
	for _, t := range a.fails {
		if now.Sub(t) < loginWindow {
			kept = append(kept, t)
		}
	}
	a.fails = kept
	if len(kept) == 0 && a.running == 0 {
		delete(l, k)
		return nil
	}
	return a
}

// used is how many of k's attempts count against its limit now.
func (l attemptLog) used(k string, now time.Time) int {
	a := l.live(k, now)
	if a == nil {
		return 0
	}
	return len(a.fails) + a.running
}

// entry returns k's record, making room when the log is full: keys whose
// failures have expired go first, then any key without an attempt in
// progress.
func (l attemptLog) entry(k string, now time.Time) *attempts {
	if a := l[k]; a != nil {
		return a
	}
	if len(l) >= loginClients {
		for other := range l {
			if l.live(other, now) != nil && len(l) >= loginClients && l[other].running == 0 {
				delete(l, other)
			}
			if len(l) < loginClients {
				break
			}
		}
	}
	a := &attempts{}
	l[k] = a
	return a
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// accountKey is the per-account key of a typed user name. Names longer
// than any valid user name share one key: they cannot log in anyway, and
// the log must not grow with what an attacker types.
func accountKey(user string) string {
	if len(user) > 64 {
		return "\x00long"
	}
	return user
}

// limitReason says which limit refused an attempt.
type limitReason int

const (
	limitNone limitReason = iota
	limitAddress
	limitAccount
)

// reserve starts a password attempt from addr for user. When neither limit
// is used up it returns a ticket, which must be finished with done once the
// password has been checked; otherwise the reason.
func (l *loginLimiter) reserve(addr, user string, now time.Time) (*loginTicket, limitReason) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addrs == nil {
		l.addrs, l.users = attemptLog{}, attemptLog{}
	}
	user = accountKey(user)
	if l.addrs.used(addr, now) >= loginFailures {
		return nil, limitAddress
	}
	if l.users.used(user, now) >= accountFailures {
		return nil, limitAccount
	}
	l.addrs.entry(addr, now).running++
	l.users.entry(user, now).running++
	return &loginTicket{l: l, addr: addr, user: user}, limitNone
}

// loginTicket is one reserved password attempt.
type loginTicket struct {
	l          *loginLimiter
	addr, user string
	finished   bool
}

// Outcomes of a password attempt, for loginTicket.done.
const (
	attemptFailed    = iota // wrong password: counts against both limits
	attemptSucceeded        // right password: forgets the address's and the account's failures
	attemptVoid             // not decided (a database error): counts for nothing
)

// done finishes the attempt with its outcome. Calling it twice has no effect.
func (t *loginTicket) done(outcome int, now time.Time) {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.finished {
		return
	}
	t.finished = true
	for _, e := range []struct {
		log attemptLog
		k   string
	}{{l.addrs, t.addr}, {l.users, t.user}} {
		a := e.log[e.k]
		if a == nil { // dropped to make room
			a = e.log.entry(e.k, now)
			a.running = 1
		}
		a.running--
		switch outcome {
		case attemptFailed:
			a.fails = append(a.fails, now)
		case attemptSucceeded:
			a.fails = nil
		}
		e.log.live(e.k, now)
	}
}

// refusal is the message for an attempt refused for reason.
func (r limitReason) refusal() string {
	if r == limitAccount {
		return "Too many failed logins for this account; wait a few minutes."
	}
	return "Too many failed logins from your address; wait a few minutes."
}

package ntp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/agent/ntp/chrony"
)

// An sntp offset is the server's clock minus the agent's own clock, so it
// is only as good as the agent's clock. LocalClock finds out whether that
// clock is synchronised, from the time daemon on the agent's machine:
// chronyd (its command port on 127.0.0.1:323: chronyd answers tracking to
// localhost whatever its cmdallow says) or else ntpd (mode 6 on
// 127.0.0.1:123). A machine that runs neither has an unknown clock state.
// chronyd's Unix socket (/run/chrony/chronyd.sock) is not used: a client
// must bind a socket in chronyd's own directory, which the agent's user
// cannot.

// LocalClock defaults.
const (
	DefaultLocalChrony   = "127.0.0.1:323"
	DefaultLocalNTPD     = "127.0.0.1:123"
	DefaultLocalClockTTL = time.Minute
	localClockTimeout    = 500 * time.Millisecond
)

// ClockState is the agent's own synchronisation, as its local daemon
// reports it.
type ClockState struct {
	// Known is false when no local daemon answered.
	Known bool
	// Daemon is "chronyd" or "ntpd" (with its address), "" when unknown.
	Daemon   string
	Synced   bool
	Stratum  int
	OffsetMS float64 // the daemon's offset from its source
	// Reason explains Synced == false, or why the state is unknown.
	Reason string
	// At is when the daemon was asked.
	At time.Time
}

// String is the state for a property or a reason: "synchronised
// (chronyd at 127.0.0.1:323, stratum 3, offset +0.012 ms)", "not
// synchronised (ntpd at 127.0.0.1:123: no system peer)", or "unknown
// (...)".
func (s ClockState) String() string {
	switch {
	case !s.Known:
		return "unknown (" + s.Reason + ")"
	case s.Synced:
		return fmt.Sprintf("synchronised (%s, stratum %d, offset %s)", s.Daemon, s.Stratum, fmtSignedMS(s.OffsetMS))
	}
	return fmt.Sprintf("not synchronised (%s: %s)", s.Daemon, s.Reason)
}

// LocalClock asks the local daemon at most once per TTL; it is safe for
// concurrent use (targets polled at once share one answer).
type LocalClock struct {
	// ChronyAddr and NTPDAddr are the local daemons' addresses ("-"
	// skips one). Defaults DefaultLocalChrony, DefaultLocalNTPD.
	ChronyAddr, NTPDAddr string
	// TTL is how long an answer is reused. Default DefaultLocalClockTTL.
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu   sync.Mutex
	last ClockState
	have bool
}

// State returns the agent's clock state, asking the daemons when the last
// answer is older than TTL.
func (c *LocalClock) State(ctx context.Context) ClockState {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultLocalClockTTL
	}
	if c.have && now().Sub(c.last.At) < ttl && now().Sub(c.last.At) >= 0 {
		return c.last
	}
	c.last = c.ask(ctx)
	c.last.At = now()
	c.have = true
	return c.last
}

func (c *LocalClock) ask(ctx context.Context) ClockState {
	chronyAddr, ntpdAddr := c.ChronyAddr, c.NTPDAddr
	if chronyAddr == "" {
		chronyAddr = DefaultLocalChrony
	}
	if ntpdAddr == "" {
		ntpdAddr = DefaultLocalNTPD
	}
	var whyNot []string
	if chronyAddr != "-" {
		st, err := c.askChrony(ctx, chronyAddr)
		if err == nil {
			return st
		}
		whyNot = append(whyNot, "no chronyd on "+chronyAddr)
	}
	if ntpdAddr != "-" {
		st, err := c.askNTPD(ctx, ntpdAddr)
		if err == nil {
			return st
		}
		whyNot = append(whyNot, "no ntpd answering mode 6 on "+ntpdAddr)
	}
	return ClockState{Reason: joinReasons(whyNot...)}
}

func (c *LocalClock) askChrony(ctx context.Context, addr string) (ClockState, error) {
	s, err := chrony.Client{Addr: addr, Timeout: localClockTimeout, Retries: -1}.Dial(ctx)
	if err != nil {
		return ClockState{}, err
	}
	defer s.Close()
	tr, err := s.Tracking(ctx)
	if err != nil {
		return ClockState{}, err
	}
	st := ClockState{Known: true, Daemon: "chronyd at " + addr, Stratum: tr.Stratum}
	st.OffsetMS, _ = qOffset.check(tr.SystemTime * 1e3)
	st.Synced, st.Reason = tr.Synced()
	return st, nil
}

func (c *LocalClock) askNTPD(ctx context.Context, addr string) (ClockState, error) {
	s, err := Client{Addr: addr, Timeout: localClockTimeout, Retries: -1}.Dial(ctx)
	if err != nil {
		return ClockState{}, err
	}
	defer s.Close()
	snap, err := Fetch(ctx, s, nil)
	if err != nil {
		return ClockState{}, err
	}
	st := ClockState{Known: true, Daemon: "ntpd at " + addr, Stratum: snap.System.Stratum}
	st.OffsetMS, _ = qOffset.read(snap.System.Vars, "offset")
	if p, ok := snap.SystemPeer(); ok {
		if off, bad := qOffset.read(p.Vars, "offset"); bad == "" {
			st.OffsetMS = off
		}
	}
	st.Synced, st.Reason = snap.Synced()
	st.Reason = textLine(st.Reason)
	return st, nil
}

// fmtSignedMS renders milliseconds with a sign ("+0.012 ms"); NaN as "unknown".
func fmtSignedMS(ms float64) string {
	if ms != ms {
		return "unknown"
	}
	s := fmtMS(ms)
	if ms >= 0 {
		s = "+" + s
	}
	return s
}

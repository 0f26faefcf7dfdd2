package ntp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/ntp/sntp"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// SNTP rate limiting after a Kiss-o'-Death RATE.
const (
	// maxRateFactor caps how much RATE kisses stretch a target's interval.
	maxRateFactor = 64
	// maxRateHold caps one pause, whatever poll interval the server asks for.
	maxRateHold = 36 * time.Hour
)

// SNTPTarget watches one NTP server with plain client requests (mode 3);
// it implements poll.Target. Poll must not be called concurrently.
//
// Each poll sends sntp.DefaultSamples requests and keeps the best sample
// by delay. The offset is the server's clock minus the agent's own clock
// (not the server's offset from its source, which only mode 6 and chrony
// can tell), so the report carries the agent's own synchronisation next to
// it (LocalClock; "agent_clock" property, and an Alert while the agent's
// clock is known to be unsynchronised). "ntp" has offset, jitter (the
// spread of the samples' offsets), stratum and synced, and no peers:
//   - Up when the server claims synchronisation and |offset| is within
//     offset_threshold;
//   - Alert beyond the threshold, or while polling is slowed by a RATE
//     kiss (the reason says until when);
//   - Down when it does not answer, claims to be unsynchronised (leap 3,
//     stratum 16 or 0), or sent DENY or RSTR: then the target stops
//     querying until the configuration is reloaded (ClearKiss).
//
// A RATE kiss doubles the target's effective interval (up to 64 times the
// configured one, and at least the poll interval the kiss asks for); the
// polls in between report the pause without sending anything.
type SNTPTarget struct {
	client sntp.Client
	now    func() time.Time
	em     *emitter
	clock  *LocalClock

	mu         sync.Mutex
	rateFactor int       // 1, or more after RATE kisses
	holdUntil  time.Time // no query before this (RATE)
	denied     string    // the kiss code that stopped querying ("" none)
}

// NewSNTPTarget builds an SNTPTarget (port 123 unless port says
// otherwise). It does not talk to the server.
func NewSNTPTarget(tc config.NTPTarget, opts TargetOptions) (*SNTPTarget, error) {
	em, now, err := targetBase(tc, opts)
	if err != nil {
		return nil, err
	}
	clock := opts.LocalClock
	if clock == nil {
		clock = &LocalClock{}
	}
	return &SNTPTarget{
		client: sntp.Client{Addr: hostPort(tc.Address, tc.Port, DefaultPort), Timeout: tc.Timeout.Or(DefaultTimeout)},
		now:    now, em: em, clock: clock, rateFactor: 1,
	}, nil
}

// Name returns the configured target name.
func (t *SNTPTarget) Name() string { return t.em.name }

// Interval returns the configured poll interval (a RATE kiss makes polls
// skip the server instead of changing it).
func (t *SNTPTarget) Interval() time.Duration { return t.em.interval }

// ClearKiss forgets Kiss-o'-Death codes: querying resumes at the
// configured interval. agent/run calls it when the configuration is
// reloaded.
func (t *SNTPTarget) ClearKiss() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rateFactor, t.holdUntil, t.denied = 1, time.Time{}, ""
}

// Poll runs one round and reports it through sink (see SNTPTarget).
func (t *SNTPTarget) Poll(ctx context.Context, sink poll.Sink) error {
	return pollWith(ctx, t, t.em, t.now, sink)
}

func (t *SNTPTarget) attempt(ctx context.Context, probe bool) (poll.Report, error) {
	now := t.now()
	t.mu.Lock()
	denied, hold, factor := t.denied, t.holdUntil, t.rateFactor
	t.mu.Unlock()
	switch {
	case denied != "":
		return t.statusOnly(now, status.Down, fmt.Sprintf("server sent Kiss-o'-Death %s (access denied): not queried again until the configuration is reloaded", denied)), nil
	case now.Before(hold):
		return t.statusOnly(now, status.Alert, fmt.Sprintf("server sent Kiss-o'-Death RATE: polling slowed to every %v, next query after %s", t.em.interval*time.Duration(factor), hold.UTC().Format(time.RFC3339))), nil
	}
	c := t.client
	if probe {
		c.Samples = 1
	}
	res, err := c.Query(ctx)
	var kiss *sntp.KissError
	if errors.As(err, &kiss) {
		return t.kissed(now, kiss), nil
	}
	if err != nil {
		return poll.Report{}, err
	}
	return t.Evaluate(res, t.clock.State(ctx)), nil
}

// kissed records a Kiss-o'-Death and reports it.
func (t *SNTPTarget) kissed(now time.Time, kiss *sntp.KissError) poll.Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	if kiss.Stop() {
		t.denied = kiss.Code
		return t.statusOnly(now, status.Down, fmt.Sprintf("server sent Kiss-o'-Death %s (access denied): not queried again until the configuration is reloaded", kiss.Code))
	}
	if kiss.Code != "RATE" {
		return t.statusOnly(now, status.Alert, fmt.Sprintf("server sent Kiss-o'-Death %s", textLine(kiss.Code)))
	}
	t.rateFactor = min(t.rateFactor*2, maxRateFactor)
	hold := t.em.interval * time.Duration(t.rateFactor)
	if kiss.Poll > 0 && kiss.Poll < 31 {
		hold = max(hold, time.Duration(1)<<kiss.Poll*time.Second)
	}
	hold = min(hold, maxRateHold)
	t.holdUntil = now.Add(hold)
	return t.statusOnly(now, status.Alert, fmt.Sprintf("server sent Kiss-o'-Death RATE: polling slowed to every %v, next query after %s", hold, t.holdUntil.UTC().Format(time.RFC3339)))
}

// statusOnly reports the server's status without measurements.
func (t *SNTPTarget) statusOnly(now time.Time, st status.Status, reason string) poll.Report {
	return poll.Report{Host: t.em.name, Statuses: []wire.AttrStatus{{Host: t.em.name, Attr: AttrServer, Status: st, Reason: reason, Time: now.UnixMilli()}}}
}

func (t *SNTPTarget) downReason(err error) string {
	switch {
	case errors.Is(err, sntp.ErrRefused):
		return "no NTP server listening (ICMP port unreachable)"
	case errors.Is(err, sntp.ErrTimeout):
		return "no answer to NTP client requests (mode 3): " + err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer to NTP client requests (mode 3) before the poll's deadline"
	}
	return "no answer: " + err.Error()
}

// Evaluate turns a query's result and the agent's clock state into the
// report of one poll (see SNTPTarget).
func (t *SNTPTarget) Evaluate(res *sntp.Result, clock ClockState) poll.Report {
	t.mu.Lock()
	factor := t.rateFactor
	t.mu.Unlock()
	return t.em.report(t.now(), sntpServerView(res, clock, t.em.interval, factor), nil)
}

func sntpServerView(res *sntp.Result, clock ClockState, interval time.Duration, rateFactor int) serverView {
	best := res.BestSample()
	sv := serverView{Protocol: ProtocolSNTP, unsyncedDown: true, offsetNote: " (against the agent's clock)"}
	sv.OffsetMS, sv.BadOffset = qOffset.check(float64(best.Offset) / 1e6)
	// Jitter: the standard deviation of the samples' offsets.
	var sum, sq float64
	for _, s := range res.Samples {
		sum += float64(s.Offset) / 1e6
	}
	mean := sum / float64(len(res.Samples))
	for _, s := range res.Samples {
		d := float64(s.Offset)/1e6 - mean
		sq += d * d
	}
	sv.JitterMS, sv.BadJitter = qJitter.check(math.Sqrt(sq / float64(len(res.Samples))))
	sv.Stratum = float64(best.Stratum)
	if best.Stratum > MaxStratum {
		sv.Stratum, sv.BadStratum = math.NaN(), fmt.Sprintf("server reported stratum %d, not a valid stratum (0..%d)", best.Stratum, MaxStratum)
	}
	sv.Synced, sv.Why = best.Synced()
	if clock.Known && !clock.Synced {
		sv.extraAlerts = append(sv.extraAlerts, "the agent's own clock is not synchronised ("+textLine(clock.Reason)+"): offsets measured against it are not reliable")
	}
	refid := textLine(best.RefIDString())
	delayMS := float64(best.Delay) / 1e6
	sv.upReason = fmt.Sprintf("offset %s against the agent's clock (agent clock %s), delay %s, stratum %d, refid %s",
		fmtSignedMS(sv.OffsetMS), clock, fmtMS(delayMS), best.Stratum, refid)
	if rateFactor > 1 {
		sv.upReason += fmt.Sprintf("; polling every %v after Kiss-o'-Death RATE", interval*time.Duration(rateFactor))
	}
	sv.Descr = fmt.Sprintf("NTP server (mode 3 client requests), stratum %d", best.Stratum)
	sv.Props = map[string]string{
		"refid":              refid,
		"leap":               strconv.Itoa(int(best.Leap)),
		"delay_ms":           strconv.FormatFloat(math.Round(delayMS*1000)/1000, 'f', -1, 64),
		"root_delay_ms":      msProp(best.RootDelay.Seconds()),
		"root_dispersion_ms": msProp(best.RootDisp.Seconds()),
		"version":            strconv.Itoa(int(best.Version)),
		"samples":            fmt.Sprintf("%d of %d", len(res.Samples), len(res.Samples)+res.Lost),
		"offset_reference":   "agent clock",
		"agent_clock":        clock.String(),
	}
	if clock.Known {
		sv.Props["agent_clock_synced"] = strconv.FormatBool(clock.Synced)
	}
	if res.Ignored != "" {
		sv.Props["ignored"] = textLine(res.Ignored)
	}
	return sv
}

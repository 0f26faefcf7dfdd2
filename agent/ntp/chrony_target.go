package ntp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/ntp/chrony"
	"github.com/outpost-nms/outpost/agent/poll"
)

// ChronyTarget watches one chronyd through its command port (UDP 323);
// it implements poll.Target. Poll must not be called concurrently.
//
// Each poll runs tracking, then sources and sourcestats for every source
// (chrony.Fetch), and reports the same attributes as the mode 6 Target:
//   - "ntp": offset is tracking's "System time" (how far chronyd's clock
//     is from NTP time, positive when it is behind, as ntpd's offset),
//     jitter the RMS offset, stratum, synced (leap status not "Not
//     synchronised", stratum 1..15); Up, Alert and Down as for mode 6;
//   - "ntp-peer:<address>" per source (a reference clock by its refid;
//     unresolved sources are left out, as chronyc does without -a):
//     offset is the last sample's adjusted offset with ntpd's sign (the
//     source's clock minus chronyd's; chronyc prints the opposite),
//     jitter the standard deviation of sourcestats, reach the register.
//     chronyd gives a source's round-trip delay only on its Unix socket
//     (ntpdata), so delay is not recorded (the peer table shows "-") and
//     the property "error" carries the +/- bound chronyc prints.
//     A source is Up while its reach register is non-zero, Down at 0.
//
// When chronyd does not answer, "ntp" is Down and says why: nothing
// listening (ICMP port unreachable), a refusal (not authorised), or no
// answer at all, which is what chronyd does to an address its cmdallow
// does not allow (the reason names the cmdallow line to add).
type ChronyTarget struct {
	client chrony.Client
	now    func() time.Time
	em     *emitter
}

// NewChronyTarget builds a ChronyTarget (command port 323 unless
// chrony_port says otherwise). It does not talk to the daemon.
func NewChronyTarget(tc config.NTPTarget, opts TargetOptions) (*ChronyTarget, error) {
	em, now, err := targetBase(tc, opts)
	if err != nil {
		return nil, err
	}
	return &ChronyTarget{
		client: chrony.Client{Addr: hostPort(tc.Address, tc.ChronyPort, DefaultChronyPort), Timeout: tc.Timeout.Or(DefaultTimeout), Retries: retries(tc.Retries, DefaultRetries)},
		now:    now, em: em,
	}, nil
}

// Name returns the configured target name.
func (t *ChronyTarget) Name() string { return t.em.name }

// Interval returns the effective poll interval.
func (t *ChronyTarget) Interval() time.Duration { return t.em.interval }

// Poll runs one round and reports it through sink (see ChronyTarget).
func (t *ChronyTarget) Poll(ctx context.Context, sink poll.Sink) error {
	return pollWith(ctx, t, t.em, t.now, sink)
}

func (t *ChronyTarget) attempt(ctx context.Context, probe bool) (poll.Report, error) {
	c := t.client
	if probe {
		c.Retries = -1
	}
	sess, err := c.Dial(ctx)
	if err != nil {
		return poll.Report{}, err
	}
	defer sess.Close()
	snap, err := chrony.Fetch(ctx, sess, t.now)
	if err != nil {
		return poll.Report{}, err
	}
	return t.Evaluate(snap), nil
}

func (t *ChronyTarget) downReason(err error) string {
	var se *chrony.StatusError
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, chrony.ErrRefused):
		return "nothing listens on chronyd's command port " + t.client.Addr + " (ICMP port unreachable)"
	case errors.Is(err, chrony.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "no answer to chrony commands from " + t.client.Addr + " (timeout); chronyd drops commands from addresses its cmdallow does not allow: " + cmdallowHint(err)
	}
	return "no answer: " + err.Error()
}

// cmdallowHint is the advice of a timeout error ("add `cmdallow ...`").
func cmdallowHint(err error) string {
	s := err.Error()
	if i := strings.Index(s, "add `cmdallow "); i >= 0 {
		return s[i:]
	}
	return "check cmdallow and bindcmdaddress in chrony.conf"
}

// Evaluate turns a snapshot into the report of one poll (see ChronyTarget).
func (t *ChronyTarget) Evaluate(snap *chrony.Snapshot) poll.Report {
	return t.em.report(snap.Time, chronyServerView(snap), chronyPeerViews(snap))
}

func chronyServerView(snap *chrony.Snapshot) serverView {
	tr := snap.Tracking
	sv := serverView{Protocol: ProtocolChrony}
	sv.OffsetMS, sv.BadOffset = qOffset.check(tr.SystemTime * 1e3)
	sv.JitterMS, sv.BadJitter = qJitter.check(tr.RMSOffset * 1e3)
	sv.Stratum = float64(tr.Stratum)
	if tr.Stratum > MaxStratum {
		sv.Stratum, sv.BadStratum = math.NaN(), fmt.Sprintf("server reported stratum %d, not a valid stratum (0..%d)", tr.Stratum, MaxStratum)
	}
	sv.Synced, sv.Why = tr.Synced()
	if tr.Leap > chrony.LeapUnsynchronised {
		sv.Synced, sv.Why = false, fmt.Sprintf("leap status %d not valid", tr.Leap)
	}
	if sel, ok := snap.SelectedSource(); ok {
		sv.SysPeer = textLine(sel.Name)
	} else if sv.Synced {
		sv.SysPeer = textLine(tr.RefName)
	}
	if snap.Truncated > 0 {
		sv.extraAlerts = append(sv.extraAlerts, fmt.Sprintf("chronyd has %d sources; only the first %d are watched", snap.Truncated+chrony.MaxSources, chrony.MaxSources))
	}
	sv.Descr = fmt.Sprintf("chronyd, stratum %d", tr.Stratum)
	sv.SysDescr = "chronyd (command protocol)"
	sv.Props = map[string]string{
		"refid":              fmt.Sprintf("%08X (%s)", tr.RefID, textLine(tr.RefName)),
		"leap":               strconv.Itoa(tr.Leap),
		"leap_status":        chrony.LeapString(tr.Leap),
		"frequency_ppm":      strconv.FormatFloat(round3(tr.FreqPPM), 'f', -1, 64),
		"skew_ppm":           strconv.FormatFloat(round3(tr.SkewPPM), 'f', -1, 64),
		"last_offset_ms":     msProp(tr.LastOffset),
		"rms_offset_ms":      msProp(tr.RMSOffset),
		"root_delay_ms":      msProp(tr.RootDelay),
		"root_dispersion_ms": msProp(tr.RootDispersion),
		"update_interval_s":  strconv.FormatFloat(math.Round(tr.UpdateInterval*10)/10, 'f', -1, 64),
	}
	return sv
}

func chronyPeerViews(snap *chrony.Snapshot) []peerView {
	var peers []peerView
	for _, src := range snap.Sources {
		if src.IsID {
			continue
		}
		name := textLine(src.Name)
		p := peerView{Address: src.Name, Remote: src.Name, Name: name, ReachText: chrony.ReachString(src.Reach),
			OffsetMS: math.NaN(), DelayMS: math.NaN(), JitterMS: math.NaN()}
		mode := map[chrony.Mode]string{chrony.ModeClient: "server", chrony.ModePeer: "peer", chrony.ModeRef: "reference clock"}[src.Mode]
		p.Descr = fmt.Sprintf("chrony %s, %s", nonEmpty(mode, "source"), src.State)
		if src.LastRx != chrony.NoSample {
			p.OffsetMS, p.BadOffset = qOffset.check(-src.Offset * 1e3)
		}
		if src.Stats.NSamples > 0 {
			p.JitterMS, p.BadJitter = qJitter.check(src.Stats.StdDev * 1e3)
		}
		p.Reach = float64(src.Reach)
		if src.Reach > maxReach {
			p.Reach, p.BadReach = math.NaN(), fmt.Sprintf("server reported reach %o, not a valid reach register (0..0377)", src.Reach)
		}
		ms := func(f float64) string {
			if math.IsNaN(f) {
				return ""
			}
			return strconv.FormatFloat(f, 'f', 3, 64)
		}
		p.Props = map[string]string{
			"tally": string(src.State.Char()), "ms": string([]byte{src.Mode.Char(), src.State.Char()}),
			"remote": name, "st": strconv.Itoa(src.Stratum), "t": string(src.Mode.Char()),
			"when": strings.TrimSpace(chrony.Seconds(src.LastRx)), "poll": pollSeconds(src.Poll), "reach": p.ReachText,
			"offset": ms(p.OffsetMS), "jitter": ms(p.JitterMS), "error": ms(src.Error * 1e3),
			"last_sample": strings.TrimSpace(chrony.SignedNanoseconds(src.Offset) + "[" + chrony.SignedNanoseconds(src.OrigOffset) + "] +/- " + chrony.Nanoseconds(src.Error)),
			"state":       src.State.String(),
		}
		peers = append(peers, p)
	}
	return peers
}

// pollSeconds is 2^poll seconds, as ntpq's poll column shows it.
func pollSeconds(log2 int) string {
	if log2 < -6 || log2 > 30 {
		return "-"
	}
	return strconv.FormatFloat(math.Ldexp(1, log2), 'g', -1, 64)
}

func msProp(sec float64) string {
	return strconv.FormatFloat(math.Round(sec*1e6)/1e3, 'f', -1, 64)
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

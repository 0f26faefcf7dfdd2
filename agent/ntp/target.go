package ntp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Target defaults: agent/config's, which Load applies too.
const (
	DefaultPort            = config.DefaultNTPPort
	DefaultInterval        = config.DefaultInterval
	DefaultOffsetThreshold = config.DefaultOffsetThreshold
)

// Attribute keys.
const (
	AttrServer     = "ntp"       // the server's synchronisation
	AttrPeerPrefix = "ntp-peer:" // + the association's address
)

// TargetOptions are what a Target takes besides its configuration.
type TargetOptions struct {
	// Logger receives poll failures at debug level (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for sample times and the "when" column (default time.Now).
	Now func() time.Time
	// LocalClock reports the agent's own synchronisation next to sntp
	// offsets; targets built together share one (default: one per target).
	LocalClock *LocalClock
}

// Target watches one NTP server; it implements poll.Target. Poll must not
// be called concurrently on one Target (the scheduler never does).
//
// Each poll runs READSTAT, READVAR of the system and READVAR of every
// association, then reports:
//   - points of "ntp": offset and jitter (seconds), stratum, synced (0/1).
//     offset is the system peer's offset (what check_ntp_peer reports: how
//     far the server is from its source), or the system offset when there
//     is no system peer; jitter is sys_jitter;
//   - points of "ntp-peer:<address>": offset, delay, jitter (seconds), reach
//     (the register as a number, 0..255);
//   - the inventory on every poll (the host with "ntp" and one "ntp-peer:"
//     attribute per association, Complete): the peer properties carry the
//     ntpq -pn columns, which change every poll ("when");
//   - statuses. "ntp": Up when synchronised (a system peer, leap indicator
//     not 3, stratum < 16) with |offset| within the threshold and the same
//     system peer as the previous poll; Alert when unsynchronised, over the
//     threshold, or the system peer changed since the last poll (for one
//     poll); Down when the server does not answer (timeout, port
//     unreachable, or a mode 6 error reply). Each peer: Up when its reach
//     register is non-zero, Down when it is 0; Unknown while the server
//     does not answer.
type Target struct {
	client Client
	now    func() time.Time
	log    *slog.Logger
	em     *emitter
}

// NewTarget builds a Target from its configuration, applying defaults
// (port 123, interval 60 s, timeout 2 s, retries 2, offset threshold
// 100 ms). It does not talk to the server.
func NewTarget(tc config.NTPTarget, opts TargetOptions) (*Target, error) {
	if tc.Name == "" || tc.Address == "" {
		return nil, fmt.Errorf("ntp target: name and address are required")
	}
	port := tc.Port
	if port == 0 {
		port = DefaultPort
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("ntp target %s: port %d out of range", tc.Name, port)
	}
	retries := DefaultRetries
	if tc.Retries != nil {
		retries = *tc.Retries
		if retries == 0 {
			retries = -1 // Client: negative means no retry
		}
	}
	t := &Target{
		client: Client{
			Addr:    net.JoinHostPort(tc.Address, strconv.Itoa(port)),
			Timeout: tc.Timeout.Or(DefaultTimeout),
			Retries: retries,
		},
		now: opts.Now,
		log: opts.Logger,
		em: &emitter{name: tc.Name, address: tc.Address,
			interval: tc.Interval.Or(DefaultInterval), threshold: tc.OffsetThreshold.Or(DefaultOffsetThreshold)},
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	return t, nil
}

// Name returns the configured target name.
func (t *Target) Name() string { return t.em.name }

// Interval returns the effective poll interval.
func (t *Target) Interval() time.Duration { return t.em.interval }

// Poll runs one round and reports it through sink (see Target).
func (t *Target) Poll(ctx context.Context, sink poll.Sink) error {
	return pollWith(ctx, t, t.em, t.now, sink)
}

// attempt is one mode 6 round (a single attempt per query when probe).
func (t *Target) attempt(ctx context.Context, probe bool) (poll.Report, error) {
	c := t.client
	if probe {
		c.Retries = -1
	}
	sess, err := c.Dial(ctx)
	if err != nil {
		return poll.Report{}, err
	}
	defer sess.Close()
	snap, err := Fetch(ctx, sess, t.now)
	if err != nil {
		return poll.Report{}, err
	}
	return t.Evaluate(snap), nil
}

func (t *Target) downReason(err error) string { return mode6DownReason(err) }

// mode6DownReason says why a mode 6 round failed, for the status.
func mode6DownReason(err error) string {
	reason := "no answer: " + textLine(err.Error())
	switch {
	case errors.Is(err, ErrRefused):
		reason = "no NTP daemon listening (ICMP port unreachable)"
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		reason = "no answer to mode 6 queries (timeout)"
	}
	var se *ServerError
	if errors.As(err, &se) {
		reason = "mode 6 query refused: " + se.Code.String()
	}
	return reason
}

// Evaluate turns a snapshot into the report of one poll and advances the
// target's memory (the system peer, for the "changed" rule). Poll calls
// it; it is exported for tests and tools that fetch themselves.
//
// Every string of the report is clean (shared/safetext): the server's
// variables are untrusted text. A number no server can have measured (see
// sanity.go) is recorded as unknown with an Alert that names it.
func (t *Target) Evaluate(snap *Snapshot) poll.Report {
	rows := snap.Rows()
	sysPeer, havePeer := snap.SystemPeer()
	sv := serverView{Protocol: ProtocolMode6}
	sv.OffsetMS, sv.BadOffset = qOffset.read(snap.System.Vars, "offset")
	if havePeer {
		sv.SysPeer = textLine(sysPeer.Address())
		if pm, bad := qOffset.read(sysPeer.Vars, "offset"); !math.IsNaN(pm) || bad != "" {
			sv.OffsetMS, sv.BadOffset = pm, bad
		}
	}
	if math.IsNaN(sv.OffsetMS) && sv.BadOffset == "" {
		sv.OffsetMS = 0 // no offset sent: the server's own clock, as before
	}
	sv.JitterMS, sv.BadJitter = qJitter.read(snap.System.Vars, "sys_jitter")
	if math.IsNaN(sv.JitterMS) && sv.BadJitter == "" {
		sv.JitterMS = 0
	}
	sv.Stratum, sv.BadStratum = readStratum(snap.System.Vars)
	if math.IsNaN(sv.Stratum) && sv.BadStratum == "" {
		sv.Stratum = 0
	}
	sv.Synced, sv.Why = snap.Synced()
	if sv.BadStratum != "" {
		sv.Synced, sv.Why = false, "stratum not valid"
	}
	version := textLine(snap.System.Version)
	sv.SysDescr = safetext.Text(snap.System.Version, safetext.MaxText)
	sv.Descr = fmt.Sprintf("%s, stratum %s", nonEmpty(version, "NTP server"), strconv.FormatFloat(sv.Stratum, 'g', -1, 64))
	sv.Props = map[string]string{
		"refid": textLine(snap.System.RefID),
		"leap":  strconv.Itoa(snap.System.Leap),
	}

	peers := make([]peerView, 0, len(rows))
	for i, row := range rows {
		vars := snap.Peers[i].Vars
		p := peerView{Address: row.Address, Remote: row.Remote, Name: textLine(row.Remote), ReachText: row.Reach,
			Descr: fmt.Sprintf("association %d, refid %s", row.AssocID, textLine(row.RefID)),
			Props: map[string]string{
				"assoc_id": strconv.Itoa(int(row.AssocID)),
				"tally":    row.Tally, "remote": textLine(row.Remote), "refid": textLine(row.RefID),
				"st": strconv.Itoa(row.Stratum), "t": textLine(row.Type), "when": row.When, "poll": row.Poll,
				"reach": textLine(row.Reach), "delay": textLine(strings.TrimSpace(row.Delay)),
				"offset": textLine(strings.TrimSpace(row.Offset)), "jitter": textLine(strings.TrimSpace(row.Jitter)),
			}}
		p.OffsetMS, p.BadOffset = qOffset.read(vars, "offset")
		p.DelayMS, p.BadDelay = qDelay.read(vars, "delay")
		p.JitterMS, p.BadJitter = qJitter.read(vars, peerJitterVars(vars)...)
		p.Reach, p.BadReach = readReach(vars)
		peers = append(peers, p)
	}
	return t.em.report(snap.Time, sv, peers)
}

// maxPeerAddress bounds the address in a peer's attribute key, leaving
// room for the prefix and a "#N" suffix that tells duplicates apart.
const maxPeerAddress = safetext.MaxName - len(AttrPeerPrefix) - 8

// PeerKey is the attribute key of an association: "ntp-peer:" and its
// address (srcadr), or its remote name when it has no address (a pool
// slot, a refclock without srcadr), cleaned and bounded so that the key is
// a clean line of at most safetext.MaxName bytes (a clean address keeps
// the key it always had). Evaluate appends "#2", "#3"... to duplicates.
func PeerKey(address, remote string) string {
	id := address
	if id == "" || id == "0.0.0.0" || id == "::" {
		id = remote
	}
	return AttrPeerPrefix + safetext.Line(id, maxPeerAddress)
}

func gauge(name string) wire.DSDef {
	return wire.DSDef{Name: name, Kind: sample.Gauge, Min: math.NaN(), Max: math.NaN()}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fmtMS renders milliseconds for status reasons ("210 ms", "0.312 ms").
func fmtMS(ms float64) string {
	return strconv.FormatFloat(math.Round(ms*1000)/1000, 'f', -1, 64) + " ms"
}

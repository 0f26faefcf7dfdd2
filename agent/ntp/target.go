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
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Target defaults (see config.NTPTarget).
const (
	DefaultPort            = 123
	DefaultInterval        = 60 * time.Second
	DefaultOffsetThreshold = 100 * time.Millisecond
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
	name, address string
	client        Client
	interval      time.Duration
	threshold     time.Duration
	now           func() time.Time
	log           *slog.Logger

	lastSysPeer string   // address of the system peer at the last successful poll
	lastPeers   []string // attribute keys of the last successful poll
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
		name:    tc.Name,
		address: tc.Address,
		client: Client{
			Addr:    net.JoinHostPort(tc.Address, strconv.Itoa(port)),
			Timeout: tc.Timeout.Or(DefaultTimeout),
			Retries: retries,
		},
		interval:  tc.Interval.Or(DefaultInterval),
		threshold: tc.OffsetThreshold.Or(DefaultOffsetThreshold),
		now:       opts.Now,
		log:       opts.Logger,
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
func (t *Target) Name() string { return t.name }

// Interval returns the effective poll interval.
func (t *Target) Interval() time.Duration { return t.interval }

// Poll runs one round and reports it through sink (see Target).
func (t *Target) Poll(ctx context.Context, sink poll.Sink) error {
	snap, err := t.fetch(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			// Cancelled by the scheduler (shutdown): report nothing. A
			// deadline that ends the poll is a server that did not answer.
			return err
		}
		sink.Report(t.downReport(err))
		return fmt.Errorf("ntp target %s: %w", t.name, err)
	}
	sink.Report(t.Evaluate(snap))
	return nil
}

func (t *Target) fetch(ctx context.Context) (*Snapshot, error) {
	sess, err := t.client.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	return Fetch(ctx, sess, t.now)
}

func (t *Target) downReport(err error) poll.Report {
	ms := t.now().UnixMilli()
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
	r := poll.Report{Host: t.name, Statuses: []wire.AttrStatus{{Host: t.name, Attr: AttrServer, Status: status.Down, Reason: reason, Time: ms}}}
	for _, key := range t.lastPeers {
		r.Statuses = append(r.Statuses, wire.AttrStatus{Host: t.name, Attr: key, Status: status.Unknown, Reason: "server not answering", Time: ms})
	}
	return r
}

// Evaluate turns a snapshot into the report of one poll and advances the
// target's memory (the system peer, for the "changed" rule). Poll calls
// it; it is exported for tests and tools that fetch themselves.
//
// Every string of the report is clean (shared/safetext): the server's
// variables are untrusted text. A number no server can have measured (see
// sanity.go) is recorded as unknown with an Alert that names it.
func (t *Target) Evaluate(snap *Snapshot) poll.Report {
	at := snap.Time
	ms := at.UnixMilli()
	r := poll.Report{Host: t.name}
	point := func(attr, ds string, v float64) {
		r.Points = append(r.Points, sample.Point{Key: sample.Key{Host: t.name, Attr: attr, DS: ds}, Kind: sample.Gauge, Time: at, Float: v})
	}

	rows := snap.Rows()
	sysPeer, havePeer := snap.SystemPeer()
	sysPeerAddr := ""
	offsetMS, badOffset := qOffset.read(snap.System.Vars, "offset")
	if havePeer {
		sysPeerAddr = textLine(sysPeer.Address())
		if pm, bad := qOffset.read(sysPeer.Vars, "offset"); !math.IsNaN(pm) || bad != "" {
			offsetMS, badOffset = pm, bad
		}
	}
	if math.IsNaN(offsetMS) && badOffset == "" {
		offsetMS = 0 // no offset sent: the server's own clock, as before
	}
	jitterMS, badJitter := qJitter.read(snap.System.Vars, "sys_jitter")
	if math.IsNaN(jitterMS) && badJitter == "" {
		jitterMS = 0
	}
	stratum, badStratum := readStratum(snap.System.Vars)
	if math.IsNaN(stratum) && badStratum == "" {
		stratum = 0
	}
	synced, why := snap.Synced()
	if badStratum != "" {
		synced, why = false, "stratum not valid"
	}

	// The server.
	point(AttrServer, "offset", offsetMS/1e3)
	point(AttrServer, "jitter", jitterMS/1e3)
	point(AttrServer, "stratum", stratum)
	point(AttrServer, "synced", b2f(synced))

	st, reason := status.Up, ""
	alerts := []string{badOffset, badJitter, badStratum}
	if !synced {
		alerts = append(alerts, "unsynchronised: "+textLine(why))
	}
	offset := time.Duration(offsetMS * float64(time.Millisecond))
	if synced && badOffset == "" && (offset > t.threshold || offset < -t.threshold) {
		alerts = append(alerts, fmt.Sprintf("offset %s > %s", fmtMS(offsetMS), fmtMS(float64(t.threshold)/1e6)))
	}
	if t.lastSysPeer != "" && sysPeerAddr != "" && sysPeerAddr != t.lastSysPeer {
		alerts = append(alerts, fmt.Sprintf("system peer changed from %s to %s", t.lastSysPeer, sysPeerAddr))
	}
	if joined := joinReasons(alerts...); joined != "" {
		st, reason = status.Alert, joined
	} else {
		reason = fmt.Sprintf("synchronised to %s, offset %s", sysPeerAddr, fmtMS(offsetMS))
	}
	r.Statuses = append(r.Statuses, wire.AttrStatus{Host: t.name, Attr: AttrServer, Status: st, Reason: reason, Time: ms})
	t.lastSysPeer = sysPeerAddr

	version := textLine(snap.System.Version)
	host := &wire.Host{
		Name: t.name, Address: t.address, SysDescr: safetext.Text(snap.System.Version, safetext.MaxText), Complete: true,
		Attrs: []wire.Attr{{
			Key: AttrServer, Kind: wire.KindNTP, Name: "NTP",
			Descr: fmt.Sprintf("%s, stratum %s", nonEmpty(version, "NTP server"), strconv.FormatFloat(stratum, 'g', -1, 64)),
			Props: map[string]string{
				"stratum":     strconv.FormatFloat(stratum, 'g', -1, 64),
				"refid":       textLine(snap.System.RefID),
				"leap":        strconv.Itoa(snap.System.Leap),
				"system_peer": sysPeerAddr,
				"synced":      strconv.FormatBool(synced),
			},
			Interval: uint32(t.interval / time.Second),
			DS: []wire.DSDef{
				gauge("offset"), gauge("jitter"), gauge("stratum"), {Name: "synced", Kind: sample.Gauge, Min: 0, Max: 1},
			},
		}},
	}

	// The peers.
	seen := map[string]int{}
	t.lastPeers = t.lastPeers[:0]
	for i, row := range rows {
		vars := snap.Peers[i].Vars
		key := PeerKey(row.Address, row.Remote)
		if n := seen[key]; n > 0 {
			seen[key]++
			key = fmt.Sprintf("%s#%d", key, n+1)
		} else {
			seen[key] = 1
		}
		t.lastPeers = append(t.lastPeers, key)
		pOffset, bad1 := qOffset.read(vars, "offset")
		pDelay, bad2 := qDelay.read(vars, "delay")
		pJitter, bad3 := qJitter.read(vars, peerJitterVars(vars)...)
		reach, bad4 := readReach(vars)
		for _, ds := range []struct {
			name string
			ms   float64
			bad  string
		}{{"offset", pOffset, bad1}, {"delay", pDelay, bad2}, {"jitter", pJitter, bad3}} {
			if !math.IsNaN(ds.ms) || ds.bad != "" {
				point(key, ds.name, ds.ms/1e3)
			}
		}
		point(key, "reach", reach)
		bad := joinReasons(bad1, bad2, bad3, bad4)
		pst, preason := status.Up, fmt.Sprintf("reach %s", textLine(row.Reach))
		switch {
		case bad4 == "" && reach == 0:
			pst, preason = status.Down, joinReasons("unreachable (reach 0)", bad)
		case bad != "":
			pst, preason = status.Alert, bad
		}
		r.Statuses = append(r.Statuses, wire.AttrStatus{Host: t.name, Attr: key, Status: pst, Reason: preason, Time: ms})
		host.Attrs = append(host.Attrs, wire.Attr{
			Key: key, Kind: wire.KindNTPPeer, Name: textLine(row.Remote),
			Descr: fmt.Sprintf("association %d, refid %s", row.AssocID, textLine(row.RefID)),
			Props: map[string]string{
				"assoc_id": strconv.Itoa(int(row.AssocID)),
				"tally":    row.Tally, "remote": textLine(row.Remote), "refid": textLine(row.RefID),
				"st": strconv.Itoa(row.Stratum), "t": textLine(row.Type), "when": row.When, "poll": row.Poll,
				"reach": textLine(row.Reach), "delay": textLine(strings.TrimSpace(row.Delay)),
				"offset": textLine(strings.TrimSpace(row.Offset)), "jitter": textLine(strings.TrimSpace(row.Jitter)),
			},
			Interval: uint32(t.interval / time.Second),
			DS:       []wire.DSDef{gauge("offset"), gauge("delay"), gauge("jitter"), {Name: "reach", Kind: sample.Gauge, Min: 0, Max: 255}},
		})
	}
	r.Inventory = host
	return r
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

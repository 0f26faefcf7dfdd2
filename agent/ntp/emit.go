package ntp

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Every protocol (mode 6, chrony, mode 3) reports the same attributes, so
// that the collector's peer table, graphs and alert rules work whatever
// answered: "ntp" with offset, jitter, stratum and synced, and one
// "ntp-peer:<address>" per source with offset, delay, jitter and reach.
// A protocol turns what it learned into a serverView and peerViews; the
// emitter turns those into points, statuses and the inventory, and keeps
// what the next poll compares with.

// serverView is one poll's view of a server, whatever the protocol.
// Numbers in milliseconds; NaN with a Bad... reason when the server sent
// a value no server can have measured (sanity.go).
type serverView struct {
	OffsetMS, JitterMS, Stratum      float64
	BadOffset, BadJitter, BadStratum string
	Synced                           bool
	Why                              string // why not synchronised
	SysPeer                          string // the source it follows ("" none); clean
	Descr, SysDescr                  string // clean
	Props                            map[string]string
	Protocol                         string   // ProtocolMode6 ...
	unsyncedDown                     bool     // unsynchronised is Down (mode 3), not Alert
	upReason                         string   // replaces "synchronised to ..., offset ..."
	offsetNote                       string   // after "offset X > T" (mode 3: "against the agent's clock")
	extraAlerts                      []string // more reasons for Alert
}

// peerView is one source of the server.
type peerView struct {
	Address, Remote string // for PeerKey
	Name, Descr     string // clean
	// OffsetMS, DelayMS, JitterMS: NaN without a Bad reason when the
	// server did not send the value (no point is recorded then).
	OffsetMS, DelayMS, JitterMS    float64
	BadOffset, BadDelay, BadJitter string
	Reach                          float64
	BadReach                       string
	ReachText                      string // the register as shown ("377")
	Props                          map[string]string
}

// emitter builds reports for one target and remembers, across polls, the
// system peer (for the "changed" rule) and the peer keys (to mark them
// Unknown while the server does not answer).
type emitter struct {
	name, address       string
	interval, threshold time.Duration
	lastSysPeer         string
	lastPeers           []string
	// protocolConfig is the configured protocol when it is not the one
	// reported (auto): the "protocol_config" property.
	protocolConfig string
}

// report builds the report of a poll that got an answer at time at.
func (e *emitter) report(at time.Time, sv serverView, peers []peerView) poll.Report {
	ms := at.UnixMilli()
	r := poll.Report{Host: e.name}
	point := func(attr, ds string, v float64) {
		r.Points = append(r.Points, sample.Point{Key: sample.Key{Host: e.name, Attr: attr, DS: ds}, Kind: sample.Gauge, Time: at, Float: v})
	}

	// The server.
	point(AttrServer, "offset", sv.OffsetMS/1e3)
	point(AttrServer, "jitter", sv.JitterMS/1e3)
	point(AttrServer, "stratum", sv.Stratum)
	point(AttrServer, "synced", b2f(sv.Synced))

	st, reason := status.Up, ""
	alerts := []string{sv.BadOffset, sv.BadJitter, sv.BadStratum}
	alerts = append(alerts, sv.extraAlerts...)
	if !sv.Synced {
		alerts = append(alerts, "unsynchronised: "+textLine(sv.Why))
	}
	offset := time.Duration(sv.OffsetMS * float64(time.Millisecond))
	if sv.Synced && sv.BadOffset == "" && (offset > e.threshold || offset < -e.threshold) {
		alerts = append(alerts, fmt.Sprintf("offset %s > %s%s", fmtMS(sv.OffsetMS), fmtMS(float64(e.threshold)/1e6), sv.offsetNote))
	}
	if e.lastSysPeer != "" && sv.SysPeer != "" && sv.SysPeer != e.lastSysPeer {
		alerts = append(alerts, fmt.Sprintf("system peer changed from %s to %s", e.lastSysPeer, sv.SysPeer))
	}
	switch joined := joinReasons(alerts...); {
	case joined != "" && !sv.Synced && sv.unsyncedDown:
		st, reason = status.Down, joined
	case joined != "":
		st, reason = status.Alert, joined
	case sv.upReason != "":
		reason = sv.upReason
	default:
		reason = fmt.Sprintf("synchronised to %s, offset %s", sv.SysPeer, fmtMS(sv.OffsetMS))
	}
	r.Statuses = append(r.Statuses, wire.AttrStatus{Host: e.name, Attr: AttrServer, Status: st, Reason: reason, Time: ms})
	e.lastSysPeer = sv.SysPeer

	props := map[string]string{
		"stratum":     strconv.FormatFloat(sv.Stratum, 'g', -1, 64),
		"system_peer": sv.SysPeer,
		"synced":      strconv.FormatBool(sv.Synced),
	}
	if sv.Protocol != "" {
		props["protocol"] = sv.Protocol
	}
	if e.protocolConfig != "" {
		props["protocol_config"] = e.protocolConfig
	}
	for k, v := range sv.Props {
		props[k] = v
	}
	host := &wire.Host{
		Name: e.name, Address: e.address, SysDescr: sv.SysDescr, Complete: true,
		Attrs: []wire.Attr{{
			Key: AttrServer, Kind: wire.KindNTP, Name: "NTP", Descr: sv.Descr, Props: props,
			Interval: uint32(e.interval / time.Second),
			DS: []wire.DSDef{
				gauge("offset"), gauge("jitter"), gauge("stratum"), {Name: "synced", Kind: sample.Gauge, Min: 0, Max: 1},
			},
		}},
	}

	// The peers.
	seen := map[string]int{}
	e.lastPeers = e.lastPeers[:0]
	for _, p := range peers {
		key := PeerKey(p.Address, p.Remote)
		if n := seen[key]; n > 0 {
			seen[key]++
			key = fmt.Sprintf("%s#%d", key, n+1)
		} else {
			seen[key] = 1
		}
		e.lastPeers = append(e.lastPeers, key)
		for _, ds := range []struct {
			name string
			ms   float64
			bad  string
		}{{"offset", p.OffsetMS, p.BadOffset}, {"delay", p.DelayMS, p.BadDelay}, {"jitter", p.JitterMS, p.BadJitter}} {
			if !math.IsNaN(ds.ms) || ds.bad != "" {
				point(key, ds.name, ds.ms/1e3)
			}
		}
		point(key, "reach", p.Reach)
		bad := joinReasons(p.BadOffset, p.BadDelay, p.BadJitter, p.BadReach)
		pst, preason := status.Up, fmt.Sprintf("reach %s", textLine(p.ReachText))
		switch {
		case p.BadReach == "" && p.Reach == 0:
			pst, preason = status.Down, joinReasons("unreachable (reach 0)", bad)
		case bad != "":
			pst, preason = status.Alert, bad
		}
		r.Statuses = append(r.Statuses, wire.AttrStatus{Host: e.name, Attr: key, Status: pst, Reason: preason, Time: ms})
		host.Attrs = append(host.Attrs, wire.Attr{
			Key: key, Kind: wire.KindNTPPeer, Name: p.Name, Descr: p.Descr, Props: p.Props,
			Interval: uint32(e.interval / time.Second),
			DS:       []wire.DSDef{gauge("offset"), gauge("delay"), gauge("jitter"), {Name: "reach", Kind: sample.Gauge, Min: 0, Max: 255}},
		})
	}
	r.Inventory = host
	return r
}

// downReport is the report of a poll the server did not answer: "ntp"
// Down with reason (clean), the peers of the last answer Unknown.
func (e *emitter) downReport(at time.Time, reason string) poll.Report {
	ms := at.UnixMilli()
	r := poll.Report{Host: e.name, Statuses: []wire.AttrStatus{{Host: e.name, Attr: AttrServer, Status: status.Down, Reason: safetext.Line(reason, safetext.MaxText), Time: ms}}}
	for _, key := range e.lastPeers {
		r.Statuses = append(r.Statuses, wire.AttrStatus{Host: e.name, Attr: key, Status: status.Unknown, Reason: "server not answering", Time: ms})
	}
	return r
}

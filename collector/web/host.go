package web

// The host page (/hosts/{host}): the attribute grid, the status pie and
// the `ntpq -pn` style peer table.

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// attrKinds are the kinds the attribute grid filters by.
func attrKinds() []string {
	return []string{wire.KindHost, wire.KindInterface, wire.KindNTP, wire.KindNTPPeer, wire.KindOID, wire.KindStorage, wire.KindProcessor,
		wire.KindSensor, wire.KindMemory, wire.KindLoad}
}

// ntpRow is one line of the `ntpq -pn` style peer table.
type ntpRow struct {
	AttrID                                  int64
	Status                                  status.Status
	Tally, Remote, Refid, St, T, When, Poll string
	Reach, Delay, Offset, Jitter            string
	SysPeer                                 bool
}

// tallyTitles explains ntpq's tally characters.
func tallyTitles() map[string]string {
	return map[string]string{
		"*": "system peer", "#": "selected, not in the first six", "+": "candidate", "-": "outlier",
		"x": "falseticker", ".": "excess", "o": "PPS peer", " ": "rejected",
		"?": "unusable (chrony)", "~": "too variable (chrony)",
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (s *Server) ntpRows(ctx context.Context, peers []inventory.AttrInfo) []ntpRow {
	now := s.o.Clock()
	var rows []ntpRow
	for _, a := range peers {
		p := a.Props
		row := ntpRow{AttrID: a.ID, Status: a.Status, Tally: p["tally"], Refid: orDash(p["refid"]), St: orDash(p["st"]),
			T: orDash(p["t"]), When: orDash(p["when"]), Poll: orDash(p["poll"]), Reach: orDash(p["reach"])}
		if row.Tally == "" {
			row.Tally = " "
		}
		row.SysPeer = row.Tally == "*" || row.Tally == "o"
		row.Remote = p["srcadr"]
		if row.Remote == "" {
			row.Remote = strings.TrimPrefix(a.Key, "ntp-peer:")
		}
		// The last delay/offset/jitter: from the props when the agent sent
		// them (ntpq's milliseconds), else the archive's last known row.
		vals := map[string]string{"delay": p["delay"], "offset": p["offset"], "jitter": p["jitter"]}
		if (vals["delay"] == "" || vals["offset"] == "" || vals["jitter"] == "") && a.Archive != "" {
			iv := max(a.Interval, time.Minute)
			t, err := s.o.Source.Fetch(ctx, s.archivePath(a.Archive), graph.CFAverage, now.Add(-10*iv), now, time.Second)
			if err == nil {
				for _, name := range []string{"delay", "offset", "jitter"} {
					col := t.Column(name)
					for i := len(col) - 1; i >= 0 && vals[name] == ""; i-- {
						if !math.IsNaN(col[i]) {
							vals[name] = strconv.FormatFloat(col[i]*1000, 'f', 3, 64)
						}
					}
				}
			}
		}
		row.Delay, row.Offset, row.Jitter = orDash(vals["delay"]), orDash(vals["offset"]), orDash(vals["jitter"])
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].SysPeer && !rows[j].SysPeer })
	return rows
}

// ntpServerView is the host page's line about an NTP server: which
// protocol the agent used, and for plain client requests (sntp) that the
// offset is against the agent's own clock, with that clock's state.
type ntpServerView struct {
	AttrID                   int64
	Status                   status.Status
	Protocol, ProtocolConfig string
	Offset                   string // the attribute's status reason
	AgentClock, AgentSynced  string
	AgainstAgent             bool
}

// ntpServer returns the view of host's "ntp" attribute, nil when it has none.
func (s *Server) ntpServer(ctx context.Context, host string) (*ntpServerView, error) {
	a, err := s.o.DB.AttributeByKey(ctx, host, "ntp")
	if errors.Is(err, inventory.ErrNotFound) || (err == nil && (a.Gone || a.Kind != wire.KindNTP)) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := a.Props
	return &ntpServerView{AttrID: a.ID, Status: a.Status, Protocol: orDash(p["protocol"]), ProtocolConfig: p["protocol_config"],
		Offset: a.StatusReason, AgentClock: p["agent_clock"], AgentSynced: p["agent_clock_synced"],
		AgainstAgent: p["offset_reference"] == "agent clock"}, nil
}

func (s *Server) hostPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, err := s.o.DB.HostByName(ctx, r.PathValue("host"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	peers, err := s.o.DB.NTPPeers(ctx, h.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	changes, err := s.o.DB.StatusChanges(ctx, inventory.ChangeQuery{Host: h.Name, Limit: 10})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	timeSource, err := s.ntpServer(ctx, h.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	traps, err := s.o.DB.QueryTraps(ctx, inventory.TrapQuery{Host: h.Name, Rows: 10})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	device, err := s.deviceView(ctx, h)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "host", struct {
		Host        inventory.HostInfo
		Kinds       []string
		NTP         []ntpRow
		TallyTitles map[string]string
		TimeSource  *ntpServerView
		Changes     []inventory.StatusChange
		Traps       []inventory.Trap
		Device      deviceView
	}{h, attrKinds(), s.ntpRows(ctx, peers), tallyTitles(), timeSource, changes, traps.Traps, device})
}

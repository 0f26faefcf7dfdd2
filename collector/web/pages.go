package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
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
	return []string{wire.KindHost, wire.KindInterface, wire.KindNTP, wire.KindNTPPeer, wire.KindOID, wire.KindStorage, wire.KindProcessor}
}

// overview is what the overview page and GET /api/v1/status show.
type overview struct {
	hosts  []inventory.HostInfo
	totals inventory.StatusCounts
	kinds  []inventory.KindCounts
}

// loadOverview reads the hosts with their counts, the overall counts and
// the counts per attribute kind.
func (s *Server) loadOverview(ctx context.Context) (o overview, err error) {
	if o.hosts, err = s.o.DB.Hosts(ctx); err != nil {
		return o, err
	}
	if o.totals, err = s.o.DB.StatusTotals(ctx); err != nil {
		return o, err
	}
	o.kinds, err = s.o.DB.StatusByKind(ctx)
	return o, err
}

func (s *Server) indexPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	hq, err := parseHostQuery(r.URL.Query())
	var br badRequest
	if errors.As(err, &br) {
		s.errorPage(w, r, http.StatusBadRequest, "Bad host list parameters: "+br.Error())
		return
	}
	hosts, err := s.o.DB.HostList(ctx, hq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	kinds, err := s.o.DB.StatusByKind(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The totals are the sum over the kinds: one pass over the attributes
	// fewer than asking inventory.StatusTotals.
	var totals inventory.StatusCounts
	for _, k := range kinds {
		for st, n := range k.Counts {
			totals[st] += n
		}
	}
	worst, err := s.o.DB.HostsByWorst(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := hostViewOf(hq)
	s.render(w, r, http.StatusOK, "index", struct {
		Hosts      inventory.HostPage
		Totals     inventory.StatusCounts
		HostWorst  inventory.StatusCounts
		Kinds      []inventory.KindCounts
		Attributes int
		View       hostListView
		Links      hostLinks
	}{hosts, totals, worst, kinds, totals.Total(), v, v.links(hosts)})
}

// The host list's query parameters, as the overview page and GET
// /api/v1/hosts read them: q (alias filter, as the attribute grid calls
// it), status, sort, order, page, per_page (alias rows).
var hostListParams = []string{"q", "filter", "status", "sort", "order", "page", "per_page", "rows"}

// hostPerPageChoices are the page sizes the overview offers.
var hostPerPageChoices = []int{10, 25, inventory.DefaultHostRows, 100, 200}

// hasHostListParams reports whether q carries any host list parameter.
func hasHostListParams(q url.Values) bool {
	for _, k := range hostListParams {
		if _, ok := q[k]; ok {
			return true
		}
	}
	return false
}

// parseHostQuery reads the host list parameters. An empty value means the
// parameter is absent (a GET form sends every field); a value out of range
// is a badRequest saying which.
func parseHostQuery(q url.Values) (inventory.HostQuery, error) {
	var hq inventory.HostQuery
	alias := func(name, other string) (string, error) {
		a, b := q.Get(name), q.Get(other)
		if a != "" && b != "" && a != b {
			return "", errBadRequest(fmt.Sprintf("%s and %s are the same parameter: give one", name, other))
		}
		if a != "" {
			return a, nil
		}
		return b, nil
	}
	var err error
	if v := q.Get("page"); v != "" {
		if hq.Page, err = strconv.Atoi(v); err != nil || hq.Page < 1 {
			return hq, errBadRequest("page must be a positive integer")
		}
	}
	v, err := alias("per_page", "rows")
	if err != nil {
		return hq, err
	}
	if v != "" {
		if hq.Rows, err = strconv.Atoi(v); err != nil || hq.Rows < 1 {
			return hq, errBadRequest(fmt.Sprintf("per_page must be a positive integer (at most %d)", inventory.MaxPageRows))
		}
		hq.Rows = min(hq.Rows, inventory.MaxPageRows)
	}
	hq.Sort = q.Get("sort")
	if _, ok := inventory.HostSortColumns[hq.Sort]; hq.Sort != "" && !ok {
		return hq, errBadRequest(fmt.Sprintf("cannot sort hosts by %q (want name, status, address or updated)", hq.Sort))
	}
	if hq.Desc, hq.Status, err = parseOrderStatus(q); err != nil {
		return hq, err
	}
	if hq.Text, err = alias("q", "filter"); err != nil {
		return hq, err
	}
	if len(hq.Text) > 200 {
		return hq, errBadRequest("q is too long (at most 200 bytes)")
	}
	return hq, nil
}

// HostPageJSON is GET /api/v1/hosts's answer when a host list parameter
// is given: the attribute grid's paging fields, plus every host's count.
type HostPageJSON struct {
	Page      int        `json:"page"`
	Rows      int        `json:"rows"`
	TotalRows int        `json:"total_rows"` // hosts matching the filter
	AllHosts  int        `json:"all_hosts"`  // every host
	LastPage  int        `json:"last_page"`
	Items     []HostJSON `json:"items"`
}

// hostListView is the host list's state as the overview's links carry it.
type hostListView struct {
	Q       string
	Status  string // a status slug, "" for all
	Sort    string // "" or a key of inventory.HostSortColumns
	Desc    bool
	Page    int
	PerPage int // 0 for the default
}

func hostViewOf(hq inventory.HostQuery) hostListView {
	v := hostListView{Q: hq.Text, Sort: hq.Sort, Desc: hq.Desc, Page: max(hq.Page, 1), PerPage: hq.Rows}
	if v.Sort == "name" {
		v.Sort = ""
	}
	if v.PerPage == inventory.DefaultHostRows {
		v.PerPage = 0
	}
	if hq.Status != nil {
		v.Status = hq.Status.Slug()
	}
	return v
}

// URL is the overview's address for v, with only the parameters that
// differ from the defaults.
func (v hostListView) URL() string {
	q := url.Values{}
	if v.Q != "" {
		q.Set("q", v.Q)
	}
	if v.Status != "" {
		q.Set("status", v.Status)
	}
	if v.Sort != "" {
		q.Set("sort", v.Sort)
	}
	if v.Desc {
		q.Set("order", "desc")
	}
	if v.PerPage != 0 {
		q.Set("per_page", strconv.Itoa(v.PerPage))
	}
	if v.Page > 1 {
		q.Set("page", strconv.Itoa(v.Page))
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// SortKey is the column the list is sorted by ("name" by default).
func (v hostListView) SortKey() string {
	if v.Sort == "" {
		return "name"
	}
	return v.Sort
}

// Order is "asc" or "desc".
func (v hostListView) Order() string {
	if v.Desc {
		return "desc"
	}
	return "asc"
}

// Filtered reports whether a text or status filter is set.
func (v hostListView) Filtered() bool { return v.Q != "" || v.Status != "" }

// PerPageChoices are the page sizes to offer, with the current one
// included when it is not a usual one.
func (v hostListView) PerPageChoices() []int {
	cur := cmp.Or(v.PerPage, inventory.DefaultHostRows)
	out := slices.Clone(hostPerPageChoices)
	if !slices.Contains(out, cur) {
		out = append(out, cur)
		slices.Sort(out)
	}
	return out
}

// CurrentPerPage is the page size in effect.
func (v hostListView) CurrentPerPage() int { return cmp.Or(v.PerPage, inventory.DefaultHostRows) }

// hostLinks are the overview's precomputed links: header sorting (a click
// on the sorted column reverses it), the pager ("" when there is nowhere
// to go) and the status filters of the "Hosts by worst attribute" legend.
type hostLinks struct {
	Sort                    map[string]string // sort key -> URL
	SortClass               map[string]string // sort key -> "sorted-asc" / "sorted-desc" / ""
	First, Prev, Next, Last string
	ByStatus                map[string]string // status slug -> URL listing those hosts
	Clear                   string            // the current sort and page size, no filter
}

func (v hostListView) links(p inventory.HostPage) hostLinks {
	l := hostLinks{Sort: map[string]string{}, SortClass: map[string]string{}, ByStatus: map[string]string{}}
	for key := range inventory.HostSortColumns {
		n := v
		n.Page = 1
		if key == v.SortKey() {
			n.Desc = !v.Desc
			l.SortClass[key] = "sorted-" + v.Order()
		} else {
			n.Desc = false
		}
		n.Sort = key
		if key == "name" {
			n.Sort = ""
		}
		l.Sort[key] = n.URL()
	}
	at := func(page int) string {
		n := v
		n.Page = page
		return n.URL()
	}
	if v.Page > 1 {
		l.First, l.Prev = at(1), at(min(v.Page-1, p.LastPage))
	}
	if v.Page < p.LastPage {
		l.Next, l.Last = at(v.Page+1), at(p.LastPage)
	}
	clear := v
	clear.Q, clear.Status, clear.Page = "", "", 1
	l.Clear = clear.URL()
	for _, st := range status.All {
		n := clear
		n.Status = st.Slug()
		l.ByStatus[st.Slug()] = n.URL()
	}
	return l
}

// fail reports an unexpected error: logged in full, shown briefly.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, inventory.ErrNotFound) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeError(w, http.StatusNotFound, err.Error())
		} else {
			s.errorPage(w, r, http.StatusNotFound, err.Error())
		}
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error("request failed", "path", r.URL.Path, "err", err)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.errorPage(w, r, http.StatusInternalServerError, "Internal error; the collector's log has the details.")
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
	s.render(w, r, http.StatusOK, "host", struct {
		Host        inventory.HostInfo
		Kinds       []string
		NTP         []ntpRow
		TallyTitles map[string]string
		TimeSource  *ntpServerView
		Changes     []inventory.StatusChange
	}{h, attrKinds(), s.ntpRows(ctx, peers), tallyTitles(), timeSource, changes})
}

// chartSpec is what the attribute page's chart draws by default: the data
// sources, the scale and the unit.
type chartSpec struct {
	DS    []string
	Scale float64
	Unit  string
}

// defaultChart is graph.DefaultView of the attribute's data sources.
func defaultChart(a inventory.AttrInfo) chartSpec {
	names := make([]string, 0, len(a.DS))
	for _, d := range a.DS {
		names = append(names, d.Name)
	}
	ds, scale, unit := graph.DefaultView(names)
	return chartSpec{DS: ds, Scale: scale, Unit: unit}
}

func (s *Server) attributeByPath(r *http.Request) (inventory.AttrInfo, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return inventory.AttrInfo{}, errBadRequest("attribute id must be a number")
	}
	return s.o.DB.Attribute(r.Context(), id)
}

type badRequest string

func (e badRequest) Error() string { return string(e) }

func errBadRequest(msg string) error { return badRequest(msg) }

func (s *Server) attributePage(w http.ResponseWriter, r *http.Request) {
	a, err := s.attributeByPath(r)
	var br badRequest
	if errors.As(err, &br) {
		s.errorPage(w, r, http.StatusBadRequest, br.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	changes, err := s.o.DB.StatusChanges(r.Context(), inventory.ChangeQuery{AttrID: a.ID, Limit: 20})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	props := make([][2]string, 0, len(a.Props))
	for k, v := range a.Props {
		props = append(props, [2]string{k, v})
	}
	sort.Slice(props, func(i, j int) bool { return props[i][0] < props[j][0] })
	spec := defaultChart(a)
	s.render(w, r, http.StatusOK, "attribute", struct {
		Attr    inventory.AttrInfo
		Props   [][2]string
		Chart   chartSpec
		DSList  string
		Changes []inventory.StatusChange
	}{a, props, spec, strings.Join(spec.DS, ","), changes})
}

func (s *Server) eventsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	limit := 100
	changes, err := s.o.DB.StatusChanges(r.Context(), inventory.ChangeQuery{Host: q.Get("host"), Before: before, Limit: limit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var next int64
	if len(changes) == limit {
		next = changes[len(changes)-1].ID
	}
	var system []inventory.SystemEvent
	if q.Get("host") == "" && before == 0 {
		if system, err = s.o.DB.SystemEvents(r.Context(), 50); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "events", struct {
		Host    string
		Changes []inventory.StatusChange
		Next    int64
		System  []inventory.SystemEvent
	}{q.Get("host"), changes, next, system})
}

type usersData struct {
	Users   []inventory.User
	Error   string
	Created string
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	users, err := s.o.DB.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "users", usersData{Users: users})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	d := usersData{}
	err := s.o.DB.CreateUser(r.Context(), name, r.PostFormValue("password"), inventory.Role(r.PostFormValue("role")), s.o.Clock())
	code := http.StatusOK
	if err != nil {
		d.Error = err.Error()
		code = http.StatusBadRequest
	} else {
		d.Created = name
		s.log.Info("user created", "user", name, "by", principalOf(r).User.Name)
	}
	users, err := s.o.DB.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Users = users
	s.render(w, r, code, "users", d)
}

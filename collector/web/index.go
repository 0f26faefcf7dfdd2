package web

// The overview page (/): status pies, counts per kind, and the host list
// paged, sorted and filtered by the server (GET /api/v1/hosts reads the
// same parameters).

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
)

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

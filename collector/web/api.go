package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
)

// HostJSON is a host in the JSON API.
type HostJSON struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Agent       string         `json:"agent"`
	Address     string         `json:"address"`
	SysName     string         `json:"sys_name"`
	SysDescr    string         `json:"sys_descr"`
	SysObjectID string         `json:"sys_object_id"`
	Location    string         `json:"location"`
	Contact     string         `json:"contact"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Status      status.Status  `json:"status"` // the worst of its attributes
	Counts      map[string]int `json:"counts"` // per status slug
	URL         string         `json:"url"`
}

func countsJSON(c inventory.StatusCounts) map[string]int {
	m := make(map[string]int, len(status.All))
	for _, st := range status.All {
		m[st.Slug()] = c[st]
	}
	return m
}

func hostJSON(h inventory.HostInfo) HostJSON {
	return HostJSON{ID: h.ID, Name: h.Name, Agent: h.Agent, Address: h.Address, SysName: h.SysName, SysDescr: h.SysDescr,
		SysObjectID: h.SysObjectID, Location: h.Location, Contact: h.Contact, UpdatedAt: h.UpdatedAt,
		Status: h.Counts.Worst(), Counts: countsJSON(h.Counts), URL: "/hosts/" + url.PathEscape(h.Name)}
}

// AttrJSON is an attribute in the JSON API.
type AttrJSON struct {
	ID           int64              `json:"id"`
	Host         string             `json:"host"`
	Key          string             `json:"key"`
	Kind         string             `json:"kind"`
	Name         string             `json:"name"`
	Descr        string             `json:"descr"`
	Props        map[string]string  `json:"props"`
	IntervalS    int64              `json:"interval_s"`
	DS           []inventory.DSInfo `json:"ds"`
	Status       status.Status      `json:"status"`
	StatusReason string             `json:"status_reason"`
	StatusSince  *time.Time         `json:"status_since"`
	Gone         bool               `json:"gone"`
	HasArchive   bool               `json:"has_archive"` // false on a forward-only collector (Options.GraphsRemote)
	URL          string             `json:"url"`
}

func (s *Server) attrJSON(a inventory.AttrInfo) AttrJSON {
	j := AttrJSON{ID: a.ID, Host: a.Host, Key: a.Key, Kind: a.Kind, Name: a.Name, Descr: a.Descr, Props: a.Props,
		IntervalS: int64(a.Interval / time.Second), DS: a.DS, Status: a.Status, StatusReason: a.StatusReason,
		Gone: a.Gone, HasArchive: a.Archive != "" && s.o.GraphsRemote == "", URL: fmt.Sprintf("/attributes/%d", a.ID)}
	if j.Props == nil {
		j.Props = map[string]string{}
	}
	if j.DS == nil {
		j.DS = []inventory.DSInfo{}
	}
	if !a.StatusSince.IsZero() {
		t := a.StatusSince
		j.StatusSince = &t
	}
	return j
}

// apiHosts lists the hosts. Without any host list parameter it answers
// every host by name as {items}; with any of q (alias filter), status,
// sort, order, page, per_page (alias rows) it answers one page as
// HostPageJSON, filtered and sorted like the overview's table.
func (s *Server) apiHosts(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); hasHostListParams(q) {
		hq, err := parseHostQuery(q)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		p, err := s.o.DB.HostList(r.Context(), hq)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out := HostPageJSON{Page: p.Page, Rows: p.Rows, TotalRows: p.TotalRows, AllHosts: p.AllHosts, LastPage: p.LastPage, Items: make([]HostJSON, 0, len(p.Items))}
		for _, h := range p.Items {
			out.Items = append(out.Items, hostJSON(h))
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	hosts, err := s.o.DB.Hosts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]HostJSON, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, hostJSON(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) apiHost(w http.ResponseWriter, r *http.Request) {
	h, err := s.o.DB.HostByName(r.Context(), r.PathValue("host"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hostJSON(h))
}

// AttrPageJSON is the grid endpoint's answer.
type AttrPageJSON struct {
	Page      int        `json:"page"`
	Rows      int        `json:"rows"`
	TotalRows int        `json:"total_rows"`
	LastPage  int        `json:"last_page"`
	Items     []AttrJSON `json:"items"`
}

// parseAttrQuery reads the grid parameters: page, rows, sort (a column of
// inventory.AttrSortColumns), order (asc|desc), filter (text), status
// (slug or name), kind.
// parseOrderStatus reads the order (asc or desc) and status parameters the
// list pages and their API share.
func parseOrderStatus(q url.Values) (desc bool, st *status.Status, err error) {
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return false, nil, errBadRequest("order must be asc or desc")
	}
	if v := q.Get("status"); v != "" {
		s, err := status.Parse(v)
		if err != nil {
			return false, nil, errBadRequest(err.Error())
		}
		st = &s
	}
	return desc, st, nil
}

func parseAttrQuery(q url.Values) (inventory.AttrQuery, error) {
	var aq inventory.AttrQuery
	var err error
	if v := q.Get("page"); v != "" {
		if aq.Page, err = strconv.Atoi(v); err != nil || aq.Page < 1 {
			return aq, errBadRequest("page must be a positive integer")
		}
	}
	if v := q.Get("rows"); v != "" {
		if aq.Rows, err = strconv.Atoi(v); err != nil || aq.Rows < 1 {
			return aq, errBadRequest("rows must be a positive integer")
		}
	}
	aq.Sort = q.Get("sort")
	if _, ok := inventory.AttrSortColumns[aq.Sort]; aq.Sort != "" && !ok {
		return aq, errBadRequest(fmt.Sprintf("cannot sort by %q", aq.Sort))
	}
	if aq.Desc, aq.Status, err = parseOrderStatus(q); err != nil {
		return aq, err
	}
	aq.Kind = q.Get("kind")
	aq.Text = q.Get("filter")
	if len(aq.Text) > 200 {
		return aq, errBadRequest("filter is too long")
	}
	return aq, nil
}

func (s *Server) apiHostAttributes(w http.ResponseWriter, r *http.Request) {
	aq, err := parseAttrQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h, err := s.o.DB.HostByName(r.Context(), r.PathValue("host"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.o.DB.HostAttributes(r.Context(), h.ID, aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := AttrPageJSON{Page: p.Page, Rows: p.Rows, TotalRows: p.TotalRows, LastPage: p.LastPage, Items: make([]AttrJSON, 0, len(p.Items))}
	for _, a := range p.Items {
		out.Items = append(out.Items, s.attrJSON(a))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAttribute(w http.ResponseWriter, r *http.Request) {
	a, err := s.attributeByPath(r)
	if s.apiAttrErr(w, r, err) {
		return
	}
	writeJSON(w, http.StatusOK, s.attrJSON(a))
}

// apiAttrErr answers an attribute lookup error; true when it did.
func (s *Server) apiAttrErr(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return false
	}
	var br badRequest
	if errors.As(err, &br) {
		writeError(w, http.StatusBadRequest, br.Error())
		return true
	}
	s.fail(w, r, err)
	return true
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	o, err := s.loadOverview(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hosts, totals, kinds := o.hosts, o.totals, o.kinds
	byKind := map[string]map[string]int{}
	for _, k := range kinds {
		byKind[k.Kind] = countsJSON(k.Counts)
	}
	byHost := map[string]map[string]int{}
	for _, h := range hosts {
		byHost[h.Name] = countsJSON(h.Counts)
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": totals.Total(), "counts": countsJSON(totals), "by_kind": byKind, "by_host": byHost})
}

// ChangeJSON is a status transition in the JSON API.
type ChangeJSON struct {
	ID      int64         `json:"id"`
	At      time.Time     `json:"at"`
	AttrID  int64         `json:"attr_id"`
	Host    string        `json:"host"`
	AttrKey string        `json:"attr_key"`
	Name    string        `json:"name"`
	Old     status.Status `json:"old"`
	New     status.Status `json:"new"`
	Reason  string        `json:"reason"`
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var cq inventory.ChangeQuery
	cq.Host = q.Get("host")
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"attr", &cq.AttrID}, {"before", &cq.Before}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, f.name+" must be a number")
				return
			}
			*f.dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "limit must be a number")
			return
		}
		cq.Limit = n
	}
	changes, err := s.o.DB.StatusChanges(r.Context(), cq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]ChangeJSON, 0, len(changes))
	for _, c := range changes {
		out = append(out, ChangeJSON{ID: c.ID, At: c.At, AttrID: c.AttrID, Host: c.Host, AttrKey: c.AttrKey, Name: c.Name, Old: c.Old, New: c.New, Reason: c.Reason})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

// SystemEventJSON is one entry of GET /api/v1/system-events: the
// collector's own event log (an agent dropped data, was enrolled or
// revoked...).
type SystemEventJSON struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Agent   string    `json:"agent,omitempty"`
	Host    string    `json:"host,omitempty"`
	Message string    `json:"message"`
}

// apiSystemEvents lists the newest system events, newest first
// (?limit=N, default 50, at most 1000).
func (s *Server) apiSystemEvents(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "limit must be a non-negative number")
			return
		}
		limit = n
	}
	events, err := s.o.DB.SystemEvents(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]SystemEventJSON, 0, len(events))
	for _, e := range events {
		out = append(out, SystemEventJSON{ID: e.ID, At: e.At, Kind: e.Kind, Agent: e.Agent, Host: e.Host, Message: e.Message})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

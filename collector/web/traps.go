package web

// SNMP traps: the Traps page (/traps), the host page's recent traps, and
// GET /api/v1/traps.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
)

// TrapJSON is one item of GET /api/v1/traps.
type TrapJSON struct {
	ID         int64                   `json:"id"`
	Time       time.Time               `json:"time"`
	Received   time.Time               `json:"received"`
	Agent      string                  `json:"agent"`
	Host       string                  `json:"host"` // "" when the source matches no target
	Source     string                  `json:"source"`
	SourceFrom string                  `json:"source_from"` // udp, snmpTrapAddress, agent-addr
	From       string                  `json:"from"`
	Version    string                  `json:"version"` // 1, 2c, 3
	Inform     bool                    `json:"inform"`
	User       string                  `json:"user,omitempty"`
	OID        string                  `json:"oid"`
	Name       string                  `json:"name"`
	Uptime     uint32                  `json:"uptime"` // hundredths of a second
	VarBinds   []inventory.TrapVarBind `json:"varbinds"`
	Enterprise string                  `json:"enterprise,omitempty"`
	Generic    *int                    `json:"generic,omitempty"`
	Specific   *int                    `json:"specific,omitempty"`
	Truncated  int                     `json:"truncated,omitempty"`
}

func trapJSON(t inventory.Trap) TrapJSON {
	j := TrapJSON{ID: t.ID, Time: t.At, Received: t.Received, Agent: t.Agent, Host: t.Host, Source: t.Source, SourceFrom: t.SourceFrom,
		From: t.From, Version: trapVersion(t.Version), Inform: t.Inform, User: t.User, OID: t.OID, Name: t.Name, Uptime: t.Uptime,
		VarBinds: t.VarBinds, Enterprise: t.Enterprise, Truncated: t.Truncated}
	if j.VarBinds == nil {
		j.VarBinds = []inventory.TrapVarBind{}
	}
	if t.Version == 1 {
		g, s := t.Generic, t.Specific
		j.Generic, j.Specific = &g, &s
	}
	return j
}

func trapVersion(v int) string {
	switch v {
	case 1:
		return "1"
	case 2:
		return "2c"
	}
	return strconv.Itoa(v)
}

// trapQuery reads the filters both the page and the API take: host
// (a host name, or "-" for unknown sources), oid (exact or prefix), name
// (substring), since and until (RFC 3339, Unix seconds, or a duration
// back from now such as 24h), page (from 1), rows.
func trapQuery(q url.Values, now time.Time) (inventory.TrapQuery, error) {
	tq := inventory.TrapQuery{Host: q.Get("host"), OID: strings.TrimSpace(q.Get("oid")), Name: strings.TrimSpace(q.Get("name"))}
	if tq.Host == "-" {
		tq.Host, tq.Unknown = "", true
	}
	if tq.OID != "" && strings.Trim(tq.OID, ".0123456789") != "" {
		return tq, fmt.Errorf("oid must be numeric (1.3.6.1.6.3.1.1.5.3); use name= for names")
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &tq.Since}, {"until", &tq.Until}} {
		v := strings.TrimSpace(q.Get(f.name))
		if v == "" {
			continue
		}
		t, err := parseWhen(v, now)
		if err != nil {
			return tq, fmt.Errorf("%s: %v", f.name, err)
		}
		*f.dst = t
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"page", &tq.Page}, {"rows", &tq.Rows}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return tq, fmt.Errorf("%s must be a positive number", f.name)
			}
			*f.dst = n
		}
	}
	return tq, nil
}

// parseWhen reads RFC 3339, Unix seconds, or a duration back from now.
func parseWhen(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(v, "-")); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339, Unix seconds or a duration such as 24h", v)
}

// apiTraps is GET /api/v1/traps: a page of traps, newest first.
func (s *Server) apiTraps(w http.ResponseWriter, r *http.Request) {
	tq, err := trapQuery(r.URL.Query(), s.o.Clock())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	page, err := s.o.DB.QueryTraps(r.Context(), tq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]TrapJSON, 0, len(page.Traps))
	for _, t := range page.Traps {
		items = append(items, trapJSON(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "total": page.Total, "page": page.Page, "rows": page.Rows})
}

// trapsPage is the Traps page: the same filters as the API.
func (s *Server) trapsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tq, err := trapQuery(q, s.o.Clock())
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	page, err := s.o.DB.QueryTraps(r.Context(), tq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pageURL := func(n int) string {
		v := url.Values{}
		for _, k := range []string{"host", "oid", "name", "since", "until", "rows"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		v.Set("page", strconv.Itoa(n))
		return "/traps?" + v.Encode()
	}
	var prev, next string
	if page.Page > 1 {
		prev = pageURL(page.Page - 1)
	}
	if page.Page*page.Rows < page.Total {
		next = pageURL(page.Page + 1)
	}
	s.render(w, r, http.StatusOK, "traps", struct {
		Host, OID, Name, Since string
		Page                   inventory.TrapPage
		Prev, Next             string
		Last                   int
	}{q.Get("host"), q.Get("oid"), q.Get("name"), q.Get("since"), page, prev, next, (page.Total + page.Rows - 1) / max(page.Rows, 1)})
}

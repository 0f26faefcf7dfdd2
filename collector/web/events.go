package web

// The status events page (/events).

import (
	"net/http"
	"strconv"

	"github.com/outpost-nms/outpost/collector/inventory"
)

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

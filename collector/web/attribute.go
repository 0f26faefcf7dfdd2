package web

// The attribute page (/attributes/{id}): properties, the interactive
// chart and the status history.

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
)

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

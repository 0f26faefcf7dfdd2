package web

// The attribute page (/attributes/{id}): properties, the interactive
// chart and the status history.

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/wire"
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
	if unit == "" {
		unit = kindUnit(a)
	}
	return chartSpec{DS: ds, Scale: scale, Unit: unit}
}

// kindUnit is the unit of a device health attribute's values: a sensor's
// own (its "unit" property, an ENTITY-SENSOR-MIB type name), percent for
// processors, bytes for memory and storage.
func kindUnit(a inventory.AttrInfo) string {
	switch a.Kind {
	case wire.KindSensor:
		return map[string]string{"celsius": "°C", "voltsAC": "V", "voltsDC": "V", "amperes": "A", "watts": "W", "hertz": "Hz",
			"percentRH": "%RH", "rpm": "rpm", "cmm": "m³/min", "dBm": "dBm"}[a.Props["unit"]]
	case wire.KindProcessor:
		return "%"
	case wire.KindMemory, wire.KindStorage:
		return "B"
	}
	return ""
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
	var since dataSince
	var remote string
	if s.o.GraphsRemote != "" {
		remote = s.graphsRemoteText()
	} else if a.Archive != "" {
		since = s.dataSince(r.Context(), a, spec.DS)
	}
	s.render(w, r, http.StatusOK, "attribute", struct {
		Attr    inventory.AttrInfo
		Props   [][2]string
		Chart   chartSpec
		DSList  string
		Changes []inventory.StatusChange
		Since   dataSince
		Remote  string // forward-only: where graphs come from instead
	}{a, props, spec, strings.Join(spec.DS, ","), changes, since, remote})
}

// chartPresets are the chart's preset ranges that a young archive may open
// on instead of the default day, shortest first.
var chartPresets = []struct {
	Name string
	Span time.Duration
	Text string
}{{"1h", time.Hour, "hour"}, {"6h", 6 * time.Hour, "6 hours"}}

// dataSince is what the attribute page says about an archive younger than
// the default range (a fresh installation, a new interface): where its data
// starts, and the preset range the chart opens on instead of a day.
type dataSince struct {
	Preset string    // "1h", "6h", or "1d" (the default)
	First  time.Time // the first known row's start; zero when the archive is not young
	Text   string    // "hour", "6 hours"
}

// dataSince finds the first known row of the attribute's archive over the
// last week (a coarse archive: a few thousand rows at most) and, when it is
// at most 6 hours old, the shortest preset range that holds all the data.
// Any error leaves the default (a day).
func (s *Server) dataSince(ctx context.Context, a inventory.AttrInfo, ds []string) dataSince {
	def := dataSince{Preset: "1d"}
	now := s.o.Clock()
	path := s.archivePath(a.Archive)
	first, step, ok := s.firstKnown(ctx, path, ds, now.Add(-7*24*time.Hour), now)
	if !ok || now.Sub(first) > chartPresets[len(chartPresets)-1].Span+24*time.Hour {
		return def
	}
	// The week's archive is coarse (rows of 5 or 30 minutes, and a row is
	// unknown until enough of it is: xff): look again at the finest
	// archive from a coarse row before.
	if fine, _, ok := s.firstKnown(ctx, path, ds, first.Add(-step), now); ok {
		first = fine
	}
	age := now.Sub(first)
	for _, p := range chartPresets {
		if age <= p.Span {
			return dataSince{Preset: p.Name, First: first, Text: p.Text}
		}
	}
	return def // more than 6 hours of data: the day is well filled
}

// firstKnown returns the start of the first row of [start, end] (at the
// finest resolution that reaches back to start) in which one of ds is
// known, and the rows' step.
func (s *Server) firstKnown(ctx context.Context, path string, ds []string, start, end time.Time) (time.Time, time.Duration, bool) {
	t, err := s.o.Source.Fetch(ctx, path, graph.CFAverage, start, end, time.Second)
	if err != nil {
		return time.Time{}, 0, false
	}
	for i := range t.Rows {
		for _, name := range ds {
			if col := slices.Index(t.DS, name); col >= 0 && !math.IsNaN(t.Rows[i][col]) {
				return t.Stamp(i).Add(-t.Step), t.Step, true // the row's interval begins a step before its stamp
			}
		}
	}
	return time.Time{}, 0, false
}

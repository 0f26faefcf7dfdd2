package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
)

// graphRequest reads start, end, width and ds of an attribute's graph or export.
func (s *Server) graphRequest(a inventory.AttrInfo, q url.Values, defaultWidth int) (graph.Request, error) {
	now := s.o.Clock()
	req := graph.Request{Path: s.archivePath(a.Archive), End: now, Title: a.Host + " " + displayName(a)}
	var err error
	if v := q.Get("end"); v != "" {
		if req.End, err = graph.ParseTime(v, now); err != nil {
			return req, errBadRequest(err.Error())
		}
	}
	req.Start = req.End.Add(-24 * time.Hour)
	if v := q.Get("start"); v != "" {
		if req.Start, err = graph.ParseTime(v, now); err != nil {
			return req, errBadRequest(err.Error())
		}
	}
	if !req.End.After(req.Start) {
		return req, errBadRequest("end must be after start")
	}
	if req.End.Sub(req.Start) > 20*365*24*time.Hour {
		return req, errBadRequest("range longer than 20 years")
	}
	req.Width = defaultWidth
	if v := q.Get("width"); v != "" {
		if req.Width, err = strconv.Atoi(v); err != nil || req.Width < 0 || req.Width > graph.MaxWidth {
			return req, errBadRequest(fmt.Sprintf("width must be 0..%d", graph.MaxWidth))
		}
	}
	spec := defaultChart(a)
	req.DS, req.Scale, req.Unit = spec.DS, spec.Scale, spec.Unit
	if v := q.Get("ds"); v != "" {
		want := strings.Split(v, ",")
		for _, d := range want {
			found := false
			for _, have := range a.DS {
				found = found || have.Name == d
			}
			if !found {
				return req, errBadRequest(fmt.Sprintf("no data source %q", d))
			}
		}
		req.DS = want
		req.Scale, req.Unit = viewOf(want)
	}
	if a.Archive == "" {
		return req, errBadRequest("this attribute has no archive")
	}
	return req, nil
}

// viewOf scales a chosen set of data sources: octets in bits per second,
// times in seconds, anything else (or a mix) unscaled.
func viewOf(ds []string) (scale float64, unit string) {
	octets, times := true, true
	for _, n := range ds {
		octets = octets && strings.HasSuffix(n, "_octets")
		times = times && (n == "offset" || n == "jitter" || n == "delay" || n == "rtt")
	}
	switch {
	case octets:
		return 8, "bit/s"
	case times:
		return 1, "s"
	}
	return 1, ""
}

func displayName(a inventory.AttrInfo) string {
	if a.Name != "" {
		return a.Name
	}
	return a.Key
}

// loadGraph resolves the attribute and loads its data; it answers errors itself.
func (s *Server) loadGraph(w http.ResponseWriter, r *http.Request, defaultWidth int) (*graph.Data, inventory.AttrInfo, bool) {
	a, err := s.attributeByPath(r)
	if s.apiAttrErr(w, r, err) {
		return nil, a, false
	}
	req, err := s.graphRequest(a, r.URL.Query(), defaultWidth)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, a, false
	}
	d, err := graph.Load(r.Context(), s.o.Source, req)
	if err != nil {
		s.log.Error("load graph", "attr", a.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot read the archive")
		return nil, a, false
	}
	return d, a, true
}

func (s *Server) apiSeries(w http.ResponseWriter, r *http.Request) {
	d, _, ok := s.loadGraph(w, r, 1000)
	if !ok {
		return
	}
	switch cf := strings.ToUpper(r.URL.Query().Get("cf")); cf {
	case "", "BOTH":
	case graph.CFAverage:
		for i := range d.Series {
			d.Series[i].Max = nil
		}
	case graph.CFMax:
		for i := range d.Series {
			d.Series[i].Avg = d.Series[i].Max
			if d.Series[i].Avg == nil {
				writeError(w, http.StatusBadRequest, "the archive has no MAX consolidation")
				return
			}
			d.Series[i].Max = nil
		}
	default:
		writeError(w, http.StatusBadRequest, "cf must be AVERAGE or MAX")
		return
	}
	writeJSON(w, http.StatusOK, graph.ChartOf(d))
}

func (s *Server) imageOptions(r *http.Request) (graph.Options, error) {
	q := r.URL.Query()
	o := graph.Options{Width: 800, Height: 260}
	var err error
	if v := q.Get("width"); v != "" {
		if o.Width, err = strconv.Atoi(v); err != nil || o.Width < graph.MinWidth || o.Width > graph.MaxWidth {
			return o, fmt.Errorf("width must be %d..%d", graph.MinWidth, graph.MaxWidth)
		}
	}
	if v := q.Get("height"); v != "" {
		if o.Height, err = strconv.Atoi(v); err != nil || o.Height < graph.MinHeight || o.Height > graph.MaxHeight {
			return o, fmt.Errorf("height must be %d..%d", graph.MinHeight, graph.MaxHeight)
		}
	}
	if o.Style, err = graph.ParseStyle(q.Get("style")); err != nil {
		return o, err
	}
	return o, nil
}

func (s *Server) apiGraph(w http.ResponseWriter, r *http.Request, format string) {
	o, err := s.imageOptions(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The plot is the image minus the axis margins: reduce to its width.
	d, _, ok := s.loadGraph(w, r, max(o.Width-80, 1))
	if !ok {
		return
	}
	var buf bytes.Buffer
	if format == "png" {
		err = graph.RenderPNG(&buf, d, o)
		w.Header().Set("Content-Type", "image/png")
	} else {
		err = graph.RenderSVG(&buf, d, o)
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=30")
	w.Write(buf.Bytes())
}

func (s *Server) apiGraphPNG(w http.ResponseWriter, r *http.Request) { s.apiGraph(w, r, "png") }
func (s *Server) apiGraphSVG(w http.ResponseWriter, r *http.Request) { s.apiGraph(w, r, "svg") }

func (s *Server) exportName(a inventory.AttrInfo, ext string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, a.Host+"_"+a.Key)
	return name + "." + ext
}

func (s *Server) apiExportCSV(w http.ResponseWriter, r *http.Request) {
	d, a, ok := s.loadGraph(w, r, 0)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := graph.WriteCSV(&buf, d); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+s.exportName(a, "csv")+`"`)
	w.Write(buf.Bytes())
}

func (s *Server) apiExportJSON(w http.ResponseWriter, r *http.Request) {
	d, a, ok := s.loadGraph(w, r, 0)
	if !ok {
		return
	}
	w.Header().Set("Content-Disposition", `inline; filename="`+s.exportName(a, "json")+`"`)
	writeJSON(w, http.StatusOK, graph.XportOf(d))
}

// LiveRow is one event of the live tail: the newest archive row.
type LiveRow struct {
	Stamp  int64               `json:"stamp"` // Unix seconds, end of the row
	Step   int64               `json:"step"`
	Values map[string]*float64 `json:"values"` // per data source, scaled like the chart; null unknown
}

// apiLive streams server-sent events: "row" with the newest known row of
// the finest archive whenever it changes, read every LiveInterval (through
// the Source, so rows still in the write-back cache count), until the
// client goes away.
func (s *Server) apiLive(w http.ResponseWriter, r *http.Request) {
	a, err := s.attributeByPath(r)
	if s.apiAttrErr(w, r, err) {
		return
	}
	req, err := s.graphRequest(a, url.Values{}, 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: %d\n\n", max(1000, s.o.LiveInterval.Milliseconds()))
	rc.Flush()
	var lastStamp int64
	tick := time.NewTicker(s.o.LiveInterval)
	defer tick.Stop()
	for {
		{
			now := s.o.Clock()
			iv := max(a.Interval, time.Minute)
			t, err := s.o.Source.Fetch(r.Context(), req.Path, graph.CFAverage, now.Add(-5*iv), now, time.Second)
			if err == nil {
				if row, ok := lastKnownRow(t, req); ok && row.Stamp != lastStamp {
					lastStamp = row.Stamp
					b, _ := json.Marshal(row)
					fmt.Fprintf(w, "event: row\ndata: %s\n\n", b)
					if err := rc.Flush(); err != nil {
						return
					}
				}
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func lastKnownRow(t *graph.Table, req graph.Request) (LiveRow, bool) {
	scale := req.Scale
	if scale == 0 {
		scale = 1
	}
	for i := len(t.Rows) - 1; i >= 0; i-- {
		row := LiveRow{Stamp: t.Stamp(i).Unix(), Step: int64(t.Step / time.Second), Values: map[string]*float64{}}
		known := false
		for _, name := range req.DS {
			col := t.Column(name)
			if col == nil || math.IsNaN(col[i]) {
				row.Values[name] = nil
				continue
			}
			v := col[i] * scale
			row.Values[name] = &v
			known = true
		}
		if known {
			return row, true
		}
	}
	return LiveRow{}, false
}

package web

import (
	"bytes"
	"context"
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

// MaxSeries bounds the data sources one graph or export may ask for (ds=).
const MaxSeries = 32

// maxRange is the longest range a graph or export may cover.
const maxRange = 20 * 365 * 24 * time.Hour

// graphRequest reads start, end, width and ds of an attribute's graph or
// export. end defaults to now and is clamped to now plus one poll interval
// (an archive holds nothing later); start defaults to a day before end and
// must come before it; the range is at most 20 years. ds (a comma list, or
// repeated) names data sources of the attribute, each once, at most
// MaxSeries. Every refusal is a badRequest saying why.
func (s *Server) graphRequest(a inventory.AttrInfo, q url.Values, defaultWidth int) (graph.Request, error) {
	now := s.o.Clock()
	req := graph.Request{Path: s.archivePath(a.Archive), End: now, Title: a.Host + " " + displayName(a)}
	if a.Archive == "" {
		return req, errBadRequest("this attribute has no archive")
	}
	var err error
	if v := q.Get("end"); v != "" {
		if req.End, err = graph.ParseTime(v, now); err != nil {
			return req, errBadRequest(err.Error())
		}
	}
	step := a.Interval
	if step <= 0 {
		step = time.Minute
	}
	if latest := now.Add(step); req.End.After(latest) {
		req.End = latest
	}
	req.Start = req.End.Add(-24 * time.Hour)
	if v := q.Get("start"); v != "" {
		if req.Start, err = graph.ParseTime(v, now); err != nil {
			return req, errBadRequest(err.Error())
		}
	}
	if !req.End.After(req.Start) {
		if req.Start.After(now) {
			return req, errBadRequest("start is in the future: the archive has nothing after now plus one poll interval")
		}
		return req, errBadRequest("end must be after start")
	}
	if req.End.Sub(req.Start) > maxRange {
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
	if want, err := parseDS(a, q["ds"]); err != nil {
		return req, err
	} else if want != nil {
		req.DS = want
		req.Scale, req.Unit = viewOf(want)
	}
	return req, nil
}

// parseDS reads the ds parameters (each a comma list): data sources of a,
// in the order first named, each once; nil when none is named.
func parseDS(a inventory.AttrInfo, values []string) ([]string, error) {
	var want []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			if d == "" || seen[d] {
				continue
			}
			found := false
			for _, have := range a.DS {
				found = found || have.Name == d
			}
			if !found {
				if len(d) > 40 {
					d = d[:40] + "…"
				}
				return nil, errBadRequest(fmt.Sprintf("no data source %q", d))
			}
			if len(want) == MaxSeries {
				return nil, errBadRequest(fmt.Sprintf("at most %d data sources (ds) in one request", MaxSeries))
			}
			seen[d] = true
			want = append(want, d)
		}
	}
	return want, nil
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

// cfChoice is what the cf parameter keeps of each series.
type cfChoice int

const (
	cfBoth cfChoice = iota // AVERAGE and, when the archive has it, MAX
	cfAverage
	cfMax
)

// parseCF reads cf: AVERAGE, MAX, BOTH or empty (both), any case.
func parseCF(v string) (cfChoice, error) {
	switch strings.ToUpper(v) {
	case "", "BOTH":
		return cfBoth, nil
	case graph.CFAverage:
		return cfAverage, nil
	case graph.CFMax:
		return cfMax, nil
	}
	return 0, errBadRequest("cf must be AVERAGE, MAX or BOTH")
}

// apply keeps the chosen consolidations of d's series: MAX moves into Avg
// (it is what is drawn and exported); a file without MAX archives cannot
// answer MAX.
func (c cfChoice) apply(d *graph.Data) error {
	for i := range d.Series {
		switch c {
		case cfAverage:
			d.Series[i].Max = nil
		case cfMax:
			if d.Series[i].Max == nil {
				return errBadRequest("the archive has no MAX consolidation")
			}
			d.Series[i].Avg, d.Series[i].Max, d.Series[i].AvgCF = d.Series[i].Max, nil, graph.CFMax
		default: // cfBoth keeps both
		}
	}
	return nil
}

// graphJob is a parsed graph, series or export request: the attribute,
// what to load and which consolidations to keep.
type graphJob struct {
	attr inventory.AttrInfo
	req  graph.Request
	cf   cfChoice
}

// parseGraph resolves the attribute and reads the request's parameters;
// it answers errors itself.
func (s *Server) parseGraph(w http.ResponseWriter, r *http.Request, defaultWidth int) (graphJob, bool) {
	a, err := s.attributeByPath(r)
	if s.apiAttrErr(w, r, err) {
		return graphJob{}, false
	}
	q := r.URL.Query()
	req, err := s.graphRequest(a, q, defaultWidth)
	if err == nil {
		var cf cfChoice
		if cf, err = parseCF(q.Get("cf")); err == nil {
			return graphJob{attr: a, req: req, cf: cf}, true
		}
	}
	writeError(w, http.StatusBadRequest, err.Error())
	return graphJob{}, false
}

// load reads the job's data (within graph.Load's bounds).
func (s *Server) load(ctx context.Context, j graphJob) (*graph.Data, error) {
	d, err := graph.Load(ctx, s.o.Source, j.req)
	if err != nil {
		return nil, err
	}
	return d, j.cf.apply(d)
}

func (s *Server) apiSeries(w http.ResponseWriter, r *http.Request) {
	j, ok := s.parseGraph(w, r, 1000)
	if !ok {
		return
	}
	s.heavy(w, r, "read the series", func(ctx context.Context) (answer, error) {
		d, err := s.load(ctx, j)
		if err != nil {
			return answer{}, err
		}
		return jsonAnswer(graph.ChartOf(d))
	})
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
	j, ok := s.parseGraph(w, r, max(o.Width-80, 1))
	if !ok {
		return
	}
	s.heavy(w, r, "draw the graph", func(ctx context.Context) (answer, error) {
		d, err := s.load(ctx, j)
		if err != nil {
			return answer{}, err
		}
		var buf bytes.Buffer
		h := http.Header{}
		if format == "png" {
			err = graph.RenderPNG(&buf, d, o)
			h.Set("Content-Type", "image/png")
		} else {
			err = graph.RenderSVG(&buf, d, o)
			h.Set("Content-Type", "image/svg+xml")
		}
		if err != nil {
			return answer{}, err
		}
		h.Set("Cache-Control", "private, max-age=30")
		return answer{code: http.StatusOK, header: h, body: buf.Bytes()}, nil
	})
}

func (s *Server) apiGraphPNG(w http.ResponseWriter, r *http.Request) { s.apiGraph(w, r, "png") }
func (s *Server) apiGraphSVG(w http.ResponseWriter, r *http.Request) { s.apiGraph(w, r, "svg") }

// maxExportName bounds the length of an export's file name (before the
// extension), in bytes.
const maxExportName = 100

// exportName is the file name of an export of a: the host and the
// attribute key with every character outside [A-Za-z0-9.-] made "_", at
// most maxExportName bytes, never starting with a dot. It goes into a
// Content-Disposition header as is: nothing in it needs quoting.
func (s *Server) exportName(a inventory.AttrInfo, ext string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, a.Host+"_"+a.Key)
	if len(name) > maxExportName {
		name = name[:maxExportName]
	}
	if strings.HasPrefix(name, ".") {
		name = "_" + name[1:]
	}
	return name + "." + ext
}

func (s *Server) apiExportCSV(w http.ResponseWriter, r *http.Request) {
	j, ok := s.parseGraph(w, r, 0)
	if !ok {
		return
	}
	s.heavy(w, r, "export the data", func(ctx context.Context) (answer, error) {
		d, err := s.load(ctx, j)
		if err != nil {
			return answer{}, err
		}
		var buf bytes.Buffer
		if err := graph.WriteCSV(&buf, d); err != nil {
			return answer{}, err
		}
		h := http.Header{}
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+s.exportName(j.attr, "csv")+`"`)
		return answer{code: http.StatusOK, header: h, body: buf.Bytes()}, nil
	})
}

func (s *Server) apiExportJSON(w http.ResponseWriter, r *http.Request) {
	j, ok := s.parseGraph(w, r, 0)
	if !ok {
		return
	}
	s.heavy(w, r, "export the data", func(ctx context.Context) (answer, error) {
		d, err := s.load(ctx, j)
		if err != nil {
			return answer{}, err
		}
		var buf bytes.Buffer
		if err := graph.WriteXportJSON(&buf, d); err != nil {
			return answer{}, err
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", `inline; filename="`+s.exportName(j.attr, "json")+`"`)
		return answer{code: http.StatusOK, header: h, body: buf.Bytes()}, nil
	})
}

// liveKeepalive is how long a live stream stays silent at most.
const liveKeepalive = 30 * time.Second

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
	user := principalOf(r).User.Name
	release, _, err := s.liveSlots.tryAcquire(user)
	if err != nil {
		s.log.Warn("live stream refused", "user", user, "reason", err)
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	}
	defer release()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The server's write timeout would end the stream: each round gives
	// the next writes their own window instead.
	rc.SetWriteDeadline(time.Now().Add(s.o.LiveInterval + liveKeepalive))
	fmt.Fprintf(w, "retry: %d\n\n", max(1000, s.o.LiveInterval.Milliseconds()))
	rc.Flush()
	var lastStamp int64
	lastWrite := time.Now()
	tick := time.NewTicker(s.o.LiveInterval)
	defer tick.Stop()
	for {
		rc.SetWriteDeadline(time.Now().Add(s.o.LiveInterval + liveKeepalive))
		if time.Since(lastWrite) >= liveKeepalive {
			// A comment line: keeps proxies from closing an idle stream
			// and finds a client that has gone.
			fmt.Fprint(w, ": keepalive\n\n")
			if err := rc.Flush(); err != nil {
				return
			}
			lastWrite = time.Now()
		}
		{
			now := s.o.Clock()
			iv := max(a.Interval, time.Minute)
			t, err := s.o.Source.Fetch(r.Context(), req.Path, graph.CFAverage, now.Add(-5*iv), now, time.Second)
			if err == nil {
				if row, ok := lastKnownRow(t, req); ok && row.Stamp != lastStamp {
					lastStamp = row.Stamp
					b, err := json.Marshal(row)
					if err != nil {
						s.log.Error("live row", "attr", a.ID, "err", err)
						return
					}
					fmt.Fprintf(w, "event: row\ndata: %s\n\n", b)
					if err := rc.Flush(); err != nil {
						return
					}
					lastWrite = time.Now()
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
			if math.IsInf(v, 0) {
				row.Values[name] = nil // JSON has no infinity
				continue
			}
			row.Values[name] = &v
			known = true
		}
		if known {
			return row, true
		}
	}
	return LiveRow{}, false
}

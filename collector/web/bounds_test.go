package web

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
)

// The requests of issue 22 item 3 are bounded: an end a year ahead is
// clamped to now plus one poll interval, ds repeated 4,000 times is one
// data source, and the rows of an export stay within graph.MaxRows.
func TestArchiveRequestsAreBounded(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	tok := []string{"Authorization", "Bearer " + e.viewerTok}
	base := fmt.Sprintf("%s/api/v1/attributes/%d/", e.ts.URL, e.ifAttr)
	yearAhead := strconv.FormatInt(e.now.Add(365*24*time.Hour).Unix(), 10)

	res, body := get(t, c, base+"export.csv?start=-1d&end="+yearAhead, tok...)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("a year ahead: %d %s", res.StatusCode, body)
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last, _ := strconv.ParseInt(recs[len(recs)-1][0], 10, 64)
	if len(recs)-1 > graph.MaxRows || last > e.now.Unix()+2*60 {
		t.Errorf("a year ahead: %d rows up to %d (now %d): end not clamped to now plus a step", len(recs)-1, last, e.now.Unix())
	}

	ds := strings.TrimSuffix(strings.Repeat("in_octets,", 4000), ",")
	res, body = get(t, c, base+"export.csv?ds="+ds+"&ds=in_octets", tok...)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("ds x 4000: %d %s", res.StatusCode, body)
	}
	if header := strings.SplitN(string(body), "\n", 2)[0]; header != `"time","in_octets AVERAGE (bit/s)","in_octets MAX (bit/s)"` {
		t.Errorf("ds x 4000: header %s", header)
	}

	for _, bad := range []struct{ query, reason string }{
		{"start=" + yearAhead, "start is in the future"},
		{"start=-21y", "longer than 20 years"},
		{"cf=MIN", "cf must be"},
		{"ds=nope", `no data source "nope"`},
		{"ds=" + strings.Repeat("x", 5000), `no data source "xxxx`},
	} {
		for _, ep := range []string{"export.csv", "export.json", "graph.png", "graph.svg", "series"} {
			res, body := get(t, c, base+ep+"?"+bad.query, tok...)
			var msg map[string]string
			if res.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &msg) != nil || !strings.Contains(msg["error"], bad.reason) || len(msg["error"]) > 200 {
				t.Errorf("%s?%.40s: %d %.200s, want 400 saying %q", ep, bad.query, res.StatusCode, body, bad.reason)
			}
		}
	}

	// cf picks the columns of an export and labels them.
	for cf, want := range map[string]string{
		"AVERAGE": `"time","in_octets AVERAGE (bit/s)","out_octets AVERAGE (bit/s)"`,
		"max":     `"time","in_octets MAX (bit/s)","out_octets MAX (bit/s)"`,
		"BOTH":    `"time","in_octets AVERAGE (bit/s)","in_octets MAX (bit/s)","out_octets AVERAGE (bit/s)","out_octets MAX (bit/s)"`,
	} {
		_, body := get(t, c, base+"export.csv?start=-1h&cf="+cf, tok...)
		if header := strings.SplitN(string(body), "\n", 2)[0]; header != want {
			t.Errorf("cf=%s: header %s, want %s", cf, header, want)
		}
	}
	_, body = get(t, c, base+"export.json?start=-1h&cf=MAX", tok...)
	var x graph.Xport
	if err := json.Unmarshal(body, &x); err != nil || strings.Join(x.Meta.Legend, "|") != "in_octets MAX (bit/s)|out_octets MAX (bit/s)" {
		t.Errorf("json cf=MAX: %v %v", err, x.Meta.Legend)
	}
}

func TestParseDSCap(t *testing.T) {
	var a inventory.AttrInfo
	for i := 0; i < MaxSeries+5; i++ {
		a.DS = append(a.DS, inventory.DSInfo{Name: fmt.Sprintf("d%d", i)})
	}
	var names []string
	for i := 0; i < MaxSeries; i++ {
		names = append(names, fmt.Sprintf("d%d", i))
	}
	got, err := parseDS(a, []string{strings.Join(names, ","), "d0,d1", ""})
	if err != nil || len(got) != MaxSeries {
		t.Fatalf("%d distinct data sources: %v %v", MaxSeries, got, err)
	}
	if _, err := parseDS(a, []string{strings.Join(names, ","), fmt.Sprintf("d%d", MaxSeries)}); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("%d data sources: %v", MaxSeries+1, err)
	}
	if got, err := parseDS(a, nil); got != nil || err != nil {
		t.Fatalf("no ds: %v %v", got, err)
	}
}

// stubSource answers every fetch with a table of its own making, or
// blocks, or panics, for the bounds tests.
type stubSource struct {
	block   chan struct{} // non-nil: wait for it to close (or ctx)
	started chan struct{} // receives one value per fetch begun
	panics  bool
	sleep   time.Duration // ignore ctx and sleep this long
	value   float64
}

func (s *stubSource) Fetch(ctx context.Context, path, cf string, start, end time.Time, res time.Duration) (*graph.Table, error) {
	if s.started != nil {
		s.started <- struct{}{}
	}
	if s.panics {
		panic("stub source: index out of range")
	}
	if s.sleep > 0 {
		time.Sleep(s.sleep)
	}
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	step := time.Minute
	st := start.Truncate(step)
	t := &graph.Table{Start: st, Step: step, DS: []string{"in_octets", "out_octets"}}
	for ts := st; ts.Before(end); ts = ts.Add(step) {
		t.Rows = append(t.Rows, []float64{s.value, 1})
	}
	return t, nil
}

// stubServer serves e's inventory with src and the given bounds.
func stubServer(t *testing.T, e *env, src graph.Source, o Options, log io.Writer) *httptest.Server {
	t.Helper()
	o.DB, o.DataDir, o.Source = e.db, e.dir, src
	o.Clock = func() time.Time { return time.Unix(e.clock.Load(), 0) }
	if log == nil {
		log = io.Discard
	}
	o.Logger = slog.New(slog.NewTextHandler(log, nil))
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// Graph, series and export requests run at most MaxHeavyPerUser per user
// and MaxHeavy in all; the others wait a moment, then get 429 saying which
// limit refused them. When the slots free, requests are served again.
func TestHeavyRequestsAreLimited(t *testing.T) {
	e := newEnv(t)
	src := &stubSource{block: make(chan struct{}), started: make(chan struct{}, 100)}
	ts := stubServer(t, e, src, Options{MaxHeavy: 3, MaxHeavyPerUser: 2}, nil)
	c := e.client()
	url := fmt.Sprintf("%s/api/v1/attributes/%d/series", ts.URL, e.ifAttr)
	type outcome struct {
		code int
		body string
	}
	do := func(tok string) outcome {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := c.Do(req)
		if err != nil {
			return outcome{0, err.Error()}
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return outcome{res.StatusCode, string(b)}
	}
	var wg sync.WaitGroup
	results := make(chan outcome, 3)
	for _, tok := range []string{e.viewerTok, e.viewerTok, e.adminTok} {
		wg.Add(1)
		go func() { defer wg.Done(); results <- do(tok) }()
		<-src.started // running, holding its slot
	}
	if o := do(e.viewerTok); o.code != http.StatusTooManyRequests || !strings.Contains(o.body, "for one user (at most 2)") {
		t.Errorf("a third request of one user: %d %s", o.code, o.body)
	}
	if o := do(e.adminTok); o.code != http.StatusTooManyRequests || !strings.Contains(o.body, "at most 3 for all users") {
		t.Errorf("a fourth request in all: %d %s", o.code, o.body)
	}
	close(src.block)
	wg.Wait()
	close(results)
	for o := range results {
		if o.code != http.StatusOK {
			t.Errorf("a request that held a slot: %d %s", o.code, o.body)
		}
	}
	if o := do(e.viewerTok); o.code != http.StatusOK {
		t.Errorf("after the slots freed: %d %s", o.code, o.body)
	}
}

// A panic while drawing is answered 500 with a reason and logged with its
// stack; the deadline is answered 503; the server goes on serving.
func TestHeavyRequestPanicAndDeadline(t *testing.T) {
	e := newEnv(t)
	var log lockedBuffer
	tok := []string{"Authorization", "Bearer " + e.viewerTok}
	ts := stubServer(t, e, &stubSource{panics: true}, Options{}, &log)
	c := e.client()
	path := fmt.Sprintf("/api/v1/attributes/%d/graph.png", e.ifAttr)
	res, body := get(t, c, ts.URL+path, tok...)
	if res.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "could not draw the graph: internal error") {
		t.Errorf("panic: %d %s", res.StatusCode, body)
	}
	if l := log.String(); !strings.Contains(l, "archive request panicked") || !strings.Contains(l, "stub source: index out of range") || !strings.Contains(l, "goroutine") {
		t.Errorf("panic not logged with its stack: %s", l)
	}
	if res, _ := get(t, c, ts.URL+"/api/v1/status", tok...); res.StatusCode != http.StatusOK {
		t.Errorf("after the panic: %d", res.StatusCode)
	}

	slow := stubServer(t, e, &stubSource{sleep: 400 * time.Millisecond}, Options{RequestTimeout: 50 * time.Millisecond}, nil)
	start := time.Now()
	res, body = get(t, c, slow.URL+path, tok...)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "within 50ms") {
		t.Errorf("deadline: %d %s", res.StatusCode, body)
	}
	if el := time.Since(start); el > 350*time.Millisecond {
		t.Errorf("the deadline answer took %v", el)
	}
}

// An archive holding +Inf: the series answer is valid JSON (infinite
// values are unknown), never a 200 with an empty body.
func TestSeriesWithInfinity(t *testing.T) {
	e := newEnv(t)
	ts := stubServer(t, e, &stubSource{value: math.Inf(1)}, Options{}, nil)
	res, body := get(t, e.client(), fmt.Sprintf("%s/api/v1/attributes/%d/series?start=-1h", ts.URL, e.ifAttr), "Authorization", "Bearer "+e.viewerTok)
	var chart graph.Chart
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &chart) != nil || len(chart.X) == 0 || chart.Series[0].Avg[0] != nil {
		t.Fatalf("series of +Inf: %d %.300s", res.StatusCode, body)
	}
	res, body = get(t, e.client(), fmt.Sprintf("%s/api/v1/attributes/%d/export.json?start=-1h", ts.URL, e.ifAttr), "Authorization", "Bearer "+e.viewerTok)
	var x graph.Xport
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &x) != nil || len(x.Data) == 0 {
		t.Fatalf("xport of +Inf: %d %.300s", res.StatusCode, body)
	}
}

// One user holds at most MaxLivePerUser live streams.
func TestLiveStreamsPerUser(t *testing.T) {
	e := newEnv(t)
	ts := stubServer(t, e, graph.Engine{}, Options{MaxLivePerUser: 2, LiveInterval: time.Hour}, nil)
	url := fmt.Sprintf("%s/api/v1/attributes/%d/live", ts.URL, e.ifAttr)
	open := func(tok string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return http.DefaultClient.Do(req)
	}
	var streams []*http.Response
	for i := 0; i < 2; i++ {
		res, err := open(e.viewerTok)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %v %v", i, res, err)
		}
		if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil { // the retry line: the stream runs
			t.Fatal(err)
		}
		streams = append(streams, res)
	}
	res, err := open(e.viewerTok)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), "live streams") {
		t.Errorf("third stream: %d %s", res.StatusCode, b)
	}
	if res, err := open(e.adminTok); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("another user's stream: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	streams[0].Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := open(e.viewerTok)
		if err == nil && res.StatusCode == http.StatusOK {
			res.Body.Close()
			break
		}
		if res != nil {
			res.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed stream's slot never freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	streams[1].Body.Close()
}

// Huge page numbers are past the end, not page 1.
func TestHugePageNumbers(t *testing.T) {
	e := newEnv(t)
	tok := []string{"Authorization", "Bearer " + e.viewerTok}
	for _, path := range []string{"/api/v1/hosts/r1/attributes?rows=10&page=9223372036854775807", "/api/v1/hosts?per_page=10&page=9223372036854775807"} {
		res, body := get(t, e.client(), e.ts.URL+path, tok...)
		var p struct {
			Page  int
			Items []json.RawMessage
		}
		if res.StatusCode != http.StatusOK || json.Unmarshal(body, &p) != nil || len(p.Items) != 0 || p.Page != math.MaxInt {
			t.Errorf("%s: %d %.200s", path, res.StatusCode, body)
		}
	}
}

// FuzzGraphRequest: whatever the query of a graph, series or export,
// graphRequest either refuses it as a bad request or returns a request
// within the bounds: end after start and at most one poll interval past
// now, at most 20 years, a width in range, distinct existing data
// sources, at most MaxSeries.
func FuzzGraphRequest(f *testing.F) {
	for _, s := range []string{"start=-1d", "start=-1d&end=1827825890", "ds=in_octets,in_octets&ds=out_octets", "end=now&start=-20y",
		"start=9223372036854775807", "start=-9223372036854775808&end=0", "width=4000&cf=max", "ds=,,,", "start=2023-11-14T22:13:20Z&end=-1h", "cf=MIN"} {
		f.Add(s)
	}
	now := time.Unix(1_700_000_000, 0)
	s := &Server{o: Options{Clock: func() time.Time { return now }}}
	a := inventory.AttrInfo{Archive: "rrd/x.rrd", Interval: time.Minute, DS: []inventory.DSInfo{{Name: "in_octets"}, {Name: "out_octets"}, {Name: "in_errors"}}}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := s.graphRequest(a, q, 500)
		if err != nil {
			var br badRequest
			if !errors.As(err, &br) {
				t.Fatalf("%q: refused with %v, not a bad request", raw, err)
			}
			return
		}
		if !req.End.After(req.Start) || req.End.After(now.Add(a.Interval)) || req.End.Sub(req.Start) > maxRange {
			t.Fatalf("%q: range %v .. %v", raw, req.Start, req.End)
		}
		if req.Width < 0 || req.Width > graph.MaxWidth {
			t.Fatalf("%q: width %d", raw, req.Width)
		}
		seen := map[string]bool{}
		for _, d := range req.DS {
			if seen[d] || (d != "in_octets" && d != "out_octets" && d != "in_errors") {
				t.Fatalf("%q: data sources %v", raw, req.DS)
			}
			seen[d] = true
		}
		if len(req.DS) > MaxSeries {
			t.Fatalf("%q: %d data sources", raw, len(req.DS))
		}
	})
}

// TestQuickWorkIsNeverTimedOut: work that finishes at once is answered,
// every time. (The worker used to cancel the request's deadline context as
// it returned, so the handler could see the deadline "pass" together with
// the result and answer 503 "could not ... within 30s" at random.)
func TestQuickWorkIsNeverTimedOut(t *testing.T) {
	srv, err := New(Options{DB: newEnv(t).db, DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/v1/attributes/1/series", nil)
	for i := 0; i < 2000; i++ {
		rec := httptest.NewRecorder()
		srv.heavy(rec, req, "answer", func(context.Context) (answer, error) { return jsonAnswer(i) })
		if rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}

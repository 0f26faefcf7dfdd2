package web

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestForwardOnlyGraphs: with Options.GraphsRemote (a forward-only
// collector) the attribute page shows the notice in place of its chart,
// the attribute API reports no archive, and every graph, series, export
// and live API answers 404 with a JSON error naming the remote store;
// without it the same requests are served from the archive. Inventory and
// status pages are unchanged.
func TestForwardOnlyGraphs(t *testing.T) {
	e := newEnv(t)
	const remote = "the remote-write store (mimir)"
	for _, tc := range []struct {
		name   string
		remote string
	}{{"archives", ""}, {"forward-only", remote}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(Options{DB: e.db, DataDir: e.dir, Clock: func() time.Time { return time.Unix(e.clock.Load(), 0) },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), GraphsRemote: tc.remote})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			tok := []string{"Authorization", "Bearer " + e.viewerTok}
			base := fmt.Sprintf("%s/api/v1/attributes/%d", ts.URL, e.ifAttr)
			for _, p := range []string{"/series?start=-1h", "/graph.png?start=-1h", "/graph.svg?start=-1h", "/export.csv?start=-1h", "/export.json?start=-1h"} {
				res, body := get(t, e.client(), base+p, tok...)
				if tc.remote == "" {
					if res.StatusCode != http.StatusOK {
						t.Errorf("%s: %d %s", p, res.StatusCode, body)
					}
					continue
				}
				var got struct{ Error, Graphs string }
				if res.StatusCode != http.StatusNotFound || json.Unmarshal(body, &got) != nil ||
					!strings.Contains(got.Error, "forward-only (rrd.enabled: false)") || !strings.Contains(got.Error, remote) || got.Graphs != "remote" {
					t.Errorf("%s: %d %s", p, res.StatusCode, body)
				}
			}
			if tc.remote != "" {
				res, body := get(t, e.client(), base+"/live", tok...)
				if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), remote) {
					t.Errorf("live: %d %s", res.StatusCode, body)
				}
			}
			_, body := get(t, e.client(), base, tok...)
			var a AttrJSON
			if err := json.Unmarshal(body, &a); err != nil {
				t.Fatal(err)
			}
			if a.HasArchive != (tc.remote == "") || a.Status == 0 {
				t.Errorf("attribute %+v", a)
			}

			c := e.client()
			e.ts = ts
			e.login(c, "viewer", viewerPass)
			res, page := get(t, c, fmt.Sprintf("%s/attributes/%d", ts.URL, e.ifAttr))
			chart := strings.Contains(string(page), `id="chart-panel"`)
			notice := strings.Contains(string(page), `id="graphs-remote"`) && strings.Contains(string(page), "graphs come from "+remote)
			if res.StatusCode != http.StatusOK || chart != (tc.remote == "") || notice != (tc.remote != "") || !strings.Contains(string(page), "Status history") {
				t.Errorf("attribute page %d: chart %v, notice %v", res.StatusCode, chart, notice)
			}
			for _, p := range []string{"/", "/hosts/r1", "/hosts/ntp1", "/agents", "/events"} {
				if res, body := get(t, c, ts.URL+p); res.StatusCode != http.StatusOK {
					t.Errorf("%s: %d %s", p, res.StatusCode, body)
				}
			}
		})
	}
}

package forward

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestGrafanaDashboardQueries forwards interfaces, NTP and statuses to a
// real Prometheus and runs every query of the shipped Grafana dashboard
// (its variables set as Grafana would): each must succeed and return data.
func TestGrafanaDashboardQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus")
	}
	raw, err := os.ReadFile("../../configs/grafana/outpost-interfaces-ntp.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}

	p := testbed.StartPrometheus(t)
	b := newBed(t)
	b.opts.Endpoint.URL = p.WriteURL()
	b.opts.Now = time.Now
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	const polls = 30
	for i := range polls {
		ts := start.Add(time.Duration(i) * time.Minute).UnixMilli()
		r := &ingest.Record{Kind: ingest.RecordBatch, Agent: "site-a", Seq: uint64(i + 1), Received: ts}
		if i == 0 {
			r.Hosts = []wire.Host{{Name: "r1", Attrs: []wire.Attr{
				{Key: "if:1", Kind: wire.KindInterface, Props: map[string]string{"ifIndex": "1", "ifName": "ge-0/0/1", "ifDescr": "ge-0/0/1"}},
				{Key: "if:2", Kind: wire.KindInterface, Props: map[string]string{"ifIndex": "2", "ifName": "ge-0/0/2", "ifDescr": "ge-0/0/2"}},
			}}, {Name: "ntp1", Attrs: []wire.Attr{{Key: "ntp", Kind: wire.KindNTP}, {Key: "ntp-peer:192.0.2.1", Kind: wire.KindNTPPeer}}}}
		}
		r.Updates = append(r.Updates, ingest.AttrUpdate{Host: "r1", Attr: "host", Time: ts, Values: []ingest.DSValue{{DS: "reachable", Float: 1}, {DS: "rtt", Float: 0.001}}})
		for k, key := range []string{"if:1", "if:2"} {
			var vals []ingest.DSValue
			for ds := range ifCounters {
				kind := sample.Counter64
				if ifCounters[ds][0] == "" {
					kind = sample.Counter32
				}
				vals = append(vals, ingest.DSValue{DS: ds, Kind: kind, Uint: uint64(i * (k + 1) * 12345)})
			}
			r.Updates = append(r.Updates, ingest.AttrUpdate{Host: "r1", Attr: key, Time: ts, Values: vals})
			st := status.Up
			if k == 1 && i > 20 {
				st = status.Down
			}
			r.Statuses = append(r.Statuses, wire.AttrStatus{Host: "r1", Attr: key, Status: st, Time: ts})
		}
		r.Updates = append(r.Updates,
			ingest.AttrUpdate{Host: "ntp1", Attr: "ntp", Time: ts, Values: []ingest.DSValue{{DS: "offset", Float: 0.0002}, {DS: "jitter", Float: 0.0001}, {DS: "stratum", Float: 2}}},
			ingest.AttrUpdate{Host: "ntp1", Attr: "ntp-peer:192.0.2.1", Time: ts, Values: []ingest.DSValue{{DS: "offset", Float: 0.0003}, {DS: "jitter", Float: 0.0002}}})
		b.append(r)
	}
	f := b.run(func(f *Forwarder) bool { return f.Stats().Position == b.j.End() })
	if s := f.Stats(); s.SamplesRejected != 0 {
		t.Fatalf("refused: %+v", s)
	}

	at := start.Add((polls - 1) * time.Minute)
	vars := strings.NewReplacer("$__rate_interval", "2m", "$__interval", "5m", "$host", ".*", "$ifName", ".*")
	n := 0
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			expr := q["query"].(string)
			// label_values(METRIC, LABEL): the series must exist.
			metric := strings.TrimSuffix(strings.TrimPrefix(expr, "label_values("), ")")
			metric = metric[:strings.LastIndex(metric, ",")]
			if got := p.Query(vars.Replace(metric), at); len(got) == 0 {
				t.Errorf("variable %s: %s selects nothing", v.Name, metric)
			}
		}
	}
	for _, panel := range dash.Panels {
		for _, tg := range panel.Targets {
			got := p.Query(vars.Replace(tg.Expr), at)
			if len(got) == 0 {
				t.Errorf("panel %q: %s returns nothing", panel.Title, tg.Expr)
			}
			n++
		}
	}
	if n < 10 {
		t.Errorf("only %d queries in the dashboard", n)
	}
	// The status timeline maps down to 3 for the interface that went down.
	got := p.Query(vars.Replace(`max by (host, attribute) ((outpost_attribute_status{kind="interface", attribute="if:2"} == 1) * on (status) group_left() (label_replace(vector(3), "status", "down", "", "")))`), at)
	if len(got) != 1 || got[0].Value != 3 {
		t.Errorf("if:2 status at the end: %v, want down (3)", got)
	}
}

package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/alerting"
	"github.com/outpost-nms/outpost/collector/inventory"
)

const operatorPass = "operator-password-1"

// addAlerts saves three firing alerts as the engine does, one with a
// hostile summary, and an operator user; it returns the operator's token.
func addAlerts(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	mk := func(labels map[string]string, summary string) string {
		b, _ := json.Marshal(alerting.Alert{Labels: labels, Annotations: map[string]string{"summary": summary}, StartsAt: e.now.Add(-time.Hour)})
		return string(b)
	}
	firing := map[string]string{
		"fp-r1-host": mk(map[string]string{"alertname": "HostUnreachable", "severity": "critical", "host": "r1", "attribute": "host", "kind": "host"}, "r1 is Down"),
		"fp-r1-if":   mk(map[string]string{"alertname": "UplinkBusy", "severity": "warning", "host": "r1", "attribute": "if:ge-0/0/1", "kind": "interface"}, `<script>alert("x")</script>`),
		"fp-ntp1":    mk(map[string]string{"alertname": "NTPOffset", "severity": "warning", "host": "ntp1", "attribute": "ntp", "kind": "ntp"}, "offset 300 ms"),
	}
	notify := func(ch []inventory.AlertChange) ([]inventory.OutboxItem, []inventory.Event) {
		var ev []inventory.Event
		for _, c := range ch {
			ev = append(ev, inventory.Event{At: e.now, Kind: inventory.EventAlertFiring, Host: "r1", Message: "alert " + c.Fingerprint + " firing"})
		}
		return nil, ev
	}
	if _, _, err := e.db.SyncAlertState(ctx, firing, e.now, notify); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateUser(ctx, "olga", operatorPass, inventory.RoleOperator, e.now); err != nil {
		t.Fatal(err)
	}
	tok, err := e.db.CreateAPIToken(ctx, "olga", "test", e.now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func call(t *testing.T, e *env, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, e.ts.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	return res.StatusCode, buf.Bytes()
}

func listAlerts(t *testing.T, e *env, query, token string) []AlertJSON {
	t.Helper()
	code, body := call(t, e, "GET", "/api/v1/alerts"+query, token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET alerts%s: %d %s", query, code, body)
	}
	var p struct {
		Items []AlertJSON `json:"items"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p.Items
}

func TestAlertsAPIAckAndSilences(t *testing.T) {
	e := newEnv(t)
	opTok := addAlerts(t, e)
	all := listAlerts(t, e, "", e.viewerTok)
	if len(all) != 3 || all[0].Labels["severity"] != "critical" {
		t.Fatalf("alerts %+v", all)
	}
	for q, want := range map[string]int{"?severity=warning": 2, "?host=r*": 2, "?rule=NTPOffset": 1, "?state=acknowledged": 0, "?host=nomatch": 0} {
		if got := len(listAlerts(t, e, q, e.viewerTok)); got != want {
			t.Errorf("%s: %d alerts, want %d", q, got, want)
		}
	}
	if code, _ := call(t, e, "GET", "/api/v1/alerts?host=[", e.viewerTok, nil); code != http.StatusBadRequest {
		t.Errorf("bad host pattern: %d", code)
	}
	id := all[0].ID
	for _, tc := range []struct {
		name, token, id string
		body            any
		want            int
	}{
		{"viewer", e.viewerTok, id, map[string]string{"comment": "mine"}, http.StatusForbidden},
		{"no comment", opTok, id, map[string]string{"comment": " "}, http.StatusBadRequest},
		{"unknown field", opTok, id, map[string]string{"note": "x"}, http.StatusBadRequest},
		{"unknown alert", opTok, "0123456789abcdef", map[string]string{"comment": "x"}, http.StatusNotFound},
		{"operator", opTok, id, map[string]string{"comment": "on site at 10:00"}, http.StatusOK},
		{"admin", e.adminTok, id, map[string]string{"comment": "taken over"}, http.StatusOK},
	} {
		if code, body := call(t, e, "POST", "/api/v1/alerts/"+tc.id+"/ack", tc.token, tc.body); code != tc.want {
			t.Errorf("ack %s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
	acked := listAlerts(t, e, "?state=acknowledged", e.viewerTok)
	if len(acked) != 1 || acked[0].Ack.User != "admin" || acked[0].Ack.Comment != "taken over" {
		t.Fatalf("acknowledged %+v", acked)
	}

	// Silences.
	sil := SilenceRequest{Matchers: []inventory.Matcher{{Name: "host", Value: "ntp*"}}, Duration: "2h", Comment: "NTP maintenance"}
	if code, _ := call(t, e, "POST", "/api/v1/silences", e.viewerTok, sil); code != http.StatusForbidden {
		t.Errorf("viewer made a silence: %d", code)
	}
	for _, bad := range []SilenceRequest{
		{Matchers: sil.Matchers, Duration: "2h"},                                                  // no comment
		{Matchers: sil.Matchers, Duration: "soon", Comment: "x"},                                  // bad duration
		{Matchers: []inventory.Matcher{{Name: "host", Value: "["}}, Duration: "1h", Comment: "x"}, // bad glob
		{Duration: "1h", Comment: "x"},                                                            // no matchers
	} {
		if code, body := call(t, e, "POST", "/api/v1/silences", opTok, bad); code != http.StatusBadRequest {
			t.Errorf("bad silence %+v: %d %s", bad, code, body)
		}
	}
	code, body := call(t, e, "POST", "/api/v1/silences", opTok, sil)
	if code != http.StatusCreated {
		t.Fatalf("silence: %d %s", code, body)
	}
	var created struct{ ID int64 }
	json.Unmarshal(body, &created)
	if s := listAlerts(t, e, "?state=silenced", e.viewerTok); len(s) != 1 || s[0].Labels["host"] != "ntp1" || s[0].SilencedBy[0] != created.ID {
		t.Fatalf("silenced %+v", s)
	}
	code, body = call(t, e, "GET", "/api/v1/silences", e.viewerTok, nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"NTP maintenance"`) {
		t.Fatalf("list silences: %d %s", code, body)
	}
	if code, _ := call(t, e, "DELETE", "/api/v1/silences/"+jsonInt(created.ID), opTok, nil); code != http.StatusOK {
		t.Fatalf("expire: %d", code)
	}
	if code, _ := call(t, e, "DELETE", "/api/v1/silences/"+jsonInt(created.ID), opTok, nil); code != http.StatusNotFound {
		t.Fatalf("expire twice: %d", code)
	}
	if s := listAlerts(t, e, "?state=silenced", e.viewerTok); len(s) != 0 {
		t.Fatalf("still silenced after expiry: %+v", s)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

type fakeRules struct{ rep alerting.RulesReport }

func (f fakeRules) Rules() alerting.RulesReport { return f.rep }

func TestAlertsPage(t *testing.T) {
	e := newEnv(t)
	addAlerts(t, e)
	e.srv.o.AlertRules = fakeRules{alerting.RulesReport{Delivery: []alerting.DeliveryInfo{{Target: "webhook noc", Failures: 3, LastError: "webhook noc: 503 <b>busy</b>", ErrorAt: e.now}},
		Error: `collector.yaml:9: alerting.rules[0].threshold.ds: unknown data source "<b>x</b>"`,
		Rules: []alerting.RuleInfo{{Name: "UplinkBusy", Severity: "warning", Condition: "utilisation above 80 (clears at 60)", Matches: 12, Firing: 1}}}}
	viewer := e.client()
	e.login(viewer, "viewer", viewerPass)
	res, body := get(t, viewer, e.ts.URL+"/alerts")
	page := string(body)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="firing-count"`) || !strings.Contains(page, ">3</span>") {
		t.Fatalf("alerts page %d without the firing count:\n%s", res.StatusCode, page)
	}
	if !strings.Contains(page, `<tr class="failing"><td>webhook noc</td>`) || !strings.Contains(page, "503 &lt;b&gt;busy&lt;/b&gt;") {
		t.Error("the failing webhook is not shown")
	}
	if strings.Contains(page, `<script>alert("x")`) || !strings.Contains(page, "&lt;script&gt;") {
		t.Error("an alert's summary is not escaped")
	}
	if strings.Contains(page, `action="/silences"`) || strings.Contains(page, "/ack") {
		t.Error("a viewer is offered ack and silence forms")
	}
	if res, _ := viewer.PostForm(e.ts.URL+"/silences", url.Values{"matchers": {"host=r1"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST /silences: %d", res.StatusCode)
	}
	_, body = get(t, viewer, e.ts.URL+"/alerts/rules")
	if !strings.Contains(string(body), `id="reload-error"`) || !strings.Contains(string(body), "&lt;b&gt;x&lt;/b&gt;") || !strings.Contains(string(body), `<td class="num matches">12</td>`) {
		t.Errorf("rules page:\n%s", body)
	}

	op := e.client()
	csrf := e.login(op, "olga", operatorPass)
	_, body = get(t, op, e.ts.URL+"/alerts")
	if !strings.Contains(string(body), `id="silence-form"`) {
		t.Fatal("an operator has no silence form")
	}
	id := listAlerts(t, e, "?rule=UplinkBusy", e.viewerTok)[0].ID
	res, err := op.PostForm(e.ts.URL+"/alerts/"+id+"/ack", url.Values{"csrf": {csrf}, "comment": {"looking"}})
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("ack form: %v %d", err, res.StatusCode)
	}
	res.Body.Close()
	res, err = op.PostForm(e.ts.URL+"/silences", url.Values{"csrf": {csrf}, "matchers": {"host=r1\nalertname=HostUnreachable"}, "duration": {"30m"}, "comment": {"reboot"}})
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("silence form: %v %d", err, res.StatusCode)
	}
	res.Body.Close()
	res, err = op.PostForm(e.ts.URL+"/silences", url.Values{"csrf": {csrf}, "matchers": {"host r1"}, "duration": {"30m"}, "comment": {"x"}})
	if err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad silence form: %v %d", err, res.StatusCode)
	}
	res.Body.Close()
	states := map[string]string{}
	for _, a := range listAlerts(t, e, "", e.viewerTok) {
		states[a.Labels["alertname"]] = a.State
	}
	if states["UplinkBusy"] != AlertAcknowledged || states["HostUnreachable"] != AlertSilenced || states["NTPOffset"] != AlertFiring {
		t.Fatalf("states %v", states)
	}
}

// TestAlertStormBounded: 100,000 alerts firing at once (a storm) make an
// Alerts page and an API answer of bounded size, with the total said.
func TestAlertStormBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 alerts")
	}
	e := newEnv(t)
	const n = 100_000
	firing := make(map[string]string, n)
	for i := range n {
		b, _ := json.Marshal(alerting.Alert{Labels: map[string]string{"alertname": "InterfaceDown", "severity": "warning", "host": "sw" + jsonInt(int64(i/48)), "attribute": "if:" + jsonInt(int64(i%48))}})
		firing["fp"+jsonInt(int64(i))] = string(b)
	}
	noop := func([]inventory.AlertChange) ([]inventory.OutboxItem, []inventory.Event) { return nil, nil }
	if _, _, err := e.db.SyncAlertState(context.Background(), firing, e.now, noop); err != nil {
		t.Fatal(err)
	}
	code, body := call(t, e, "GET", "/api/v1/alerts", e.viewerTok, nil)
	var p struct {
		Items []AlertJSON `json:"items"`
		Total int         `json:"total"`
	}
	if err := json.Unmarshal(body, &p); err != nil || code != http.StatusOK || len(p.Items) != DefaultAlertRows || p.Total != n {
		t.Fatalf("API: %d, %d items of %d, %v", code, len(p.Items), p.Total, err)
	}
	if code, _ := call(t, e, "GET", "/api/v1/alerts?rows=100000", e.viewerTok, nil); code != http.StatusBadRequest {
		t.Errorf("rows above the maximum: %d", code)
	}
	c := e.client()
	e.login(c, "viewer", viewerPass)
	res, page := get(t, c, e.ts.URL+"/alerts")
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="alerts-capped"`) || len(page) > 2<<20 {
		t.Fatalf("page %d, %d bytes", res.StatusCode, len(page))
	}
}

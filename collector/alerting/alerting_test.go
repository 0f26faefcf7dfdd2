package alerting

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

// fakeSource is the inventory as the engine reads it.
type fakeSource struct {
	mu      sync.Mutex
	failing []inventory.Failing
	agents  []inventory.Agent
}

func (s *fakeSource) FailingAttributes(context.Context) ([]inventory.Failing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]inventory.Failing(nil), s.failing...), nil
}

func (s *fakeSource) ListAgents(context.Context) ([]inventory.Agent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]inventory.Agent(nil), s.agents...), nil
}

type fakeContacts map[string]bool

func (c fakeContacts) Contact(agent string) (bool, time.Time) { return c[agent], time.Time{} }

func names(alerts []Alert) string {
	var out []string
	for _, a := range alerts {
		who := a.Labels["host"]
		if who == "" {
			who = a.Labels["agent"]
		}
		out = append(out, a.Labels["alertname"]+":"+who)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestEvaluateBuiltInRules(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	src := &fakeSource{agents: []inventory.Agent{{Name: "paris"}, {Name: "lyon"}, {Name: "old", RevokedAt: t0}}}
	src.failing = []inventory.Failing{
		{Host: "core1", Agent: "paris", Key: "host", Kind: wire.KindHost, Status: status.Down, Since: t0},
		{Host: "sw1", Agent: "paris", Key: "if:ge-0/0/1", Kind: wire.KindInterface, Name: "ge-0/0/1", Status: status.Down, Since: t0},
		{Host: "sw1", Agent: "paris", Key: "if:ge-0/0/2", Kind: wire.KindInterface, Status: status.Down, Since: t0.Add(110 * time.Second)}, // not for long enough
		{Host: "ntp1", Agent: "paris", Key: "ntp", Kind: wire.KindNTP, Status: status.Alert, Since: t0, Reason: "offset 210 ms > 100 ms"},
		{Host: "ntp2", Agent: "paris", Key: "ntp", Kind: wire.KindNTP, Status: status.Alert, Since: t0, Reason: "unsynchronised: no system peer"},
		{Host: "ntp1", Agent: "paris", Key: "ntp-peer:192.0.2.1", Kind: wire.KindNTPPeer, Status: status.Down, Since: t0},
		{Host: "ly1", Agent: "lyon", Key: "host", Kind: wire.KindHost, Status: status.Down, Since: t0},
		{Host: "ly1", Agent: "lyon", Key: "if:1", Kind: wire.KindInterface, Status: status.Down, Since: t0},
	}
	e := New(Config{Now: func() time.Time { return t0 }}, src, fakeContacts{"paris": true}, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// lyon has had no session since the engine started; silent after 5m.
	got, err := e.Evaluate(context.Background(), t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := "HostUnreachable:core1 HostUnreachable:ly1 InterfaceDown:ly1 InterfaceDown:sw1 NTPOffset:ntp1 NTPUnsynchronised:ntp2"
	if names(got) != want {
		t.Fatalf("at 2m: %s\nwant %s", names(got), want)
	}
	got, _ = e.Evaluate(context.Background(), t0.Add(6*time.Minute))
	// lyon silent: one AgentSilent, its hosts' alerts withheld; the revoked agent never alerts.
	want = "AgentSilent:lyon HostUnreachable:core1 InterfaceDown:sw1 InterfaceDown:sw1 NTPOffset:ntp1 NTPUnsynchronised:ntp2"
	if names(got) != want {
		t.Fatalf("at 6m: %s\nwant %s", names(got), want)
	}
	for _, a := range got {
		if a.Labels["alertname"] == "InterfaceDown" && a.Labels["attribute"] == "if:ge-0/0/1" &&
			(!a.StartsAt.Equal(t0) || a.Labels["kind"] != "interface" || a.Labels["agent"] != "paris" || a.Labels["severity"] != "warning") {
			t.Fatalf("alert %+v", a)
		}
	}
}

// alertmanager starts the real Alertmanager with a webhook receiver that
// is an HTTP server of the test.
func alertmanager(t *testing.T) (string, *receiver) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	return testbed.StartAlertmanager(t, hook.URL), rcv
}

// receiver records Alertmanager's webhook notifications.
type receiver struct {
	mu   sync.Mutex
	msgs []struct {
		Status string
		Alerts []struct {
			Status string
			Labels map[string]string
		}
	}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var m struct {
		Status string
		Alerts []struct {
			Status string
			Labels map[string]string
		}
	}
	if err := json.NewDecoder(req.Body).Decode(&m); err == nil {
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}
}

// seen reports whether a notification said alertname on host is status.
func (r *receiver) seen(alertname, host, st string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		for _, a := range m.Alerts {
			if a.Labels["alertname"] == alertname && a.Labels["host"] == host && a.Status == st {
				return true
			}
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// amAlerts lists the active alerts in Alertmanager's own API.
func amAlerts(t *testing.T, base string) []Alert {
	res, err := http.Get(base + "/api/v2/alerts?active=true&silenced=false")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out []Alert
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeliveryToAlertmanager: alerts reach a real Alertmanager with their
// labels, notify its receiver, and resolve at once when the status clears;
// an Alertmanager that is down is counted and the next cycle delivers.
func TestDeliveryToAlertmanager(t *testing.T) {
	base, rcv := alertmanager(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	src := &fakeSource{agents: []inventory.Agent{{Name: "paris"}}}
	src.failing = []inventory.Failing{
		{Host: "core1", Agent: "paris", Key: "host", Kind: wire.KindHost, Status: status.Down, Since: t0, Reason: "no answer"},
		{Host: "sw1", Agent: "paris", Key: "if:ge-0/0/1", Kind: wire.KindInterface, Name: "ge-0/0/1", Status: status.Down, Since: t0, Reason: "ifOperStatus down"},
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }))
	defer down.Close()
	e := New(Config{Alertmanagers: []string{base, down.URL}, Interval: time.Second}, src, fakeContacts{"paris": true}, nil, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	if err := e.Cycle(ctx); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("cycle with a failing Alertmanager: %v", err)
	}
	var failing, ok bool
	for _, d := range e.Rules().Delivery {
		failing = failing || (d.Target == "alertmanager "+down.URL && d.Failures == 1 && strings.Contains(d.LastError, "500") && d.LastOK.IsZero())
		ok = ok || (d.Target == "alertmanager "+base && d.Failures == 0 && !d.LastOK.IsZero())
	}
	if !failing || !ok {
		t.Errorf("delivery report %+v", e.Rules().Delivery)
	}
	waitFor(t, "two alerts in Alertmanager", func() bool { return len(amAlerts(t, base)) == 2 })
	for _, a := range amAlerts(t, base) {
		if a.Labels["host"] == "sw1" && (a.Labels["alertname"] != "InterfaceDown" || a.Labels["attribute"] != "if:ge-0/0/1" ||
			a.Labels["agent"] != "paris" || a.Annotations["description"] != "ifOperStatus down" || !a.StartsAt.Equal(t0)) {
			t.Fatalf("in Alertmanager: %+v", a)
		}
	}
	waitFor(t, "the firing notification", func() bool { return rcv.seen("InterfaceDown", "sw1", "firing") })
	// The interface comes back up: resolved at the next cycle, not after a timeout.
	src.mu.Lock()
	src.failing = src.failing[:1]
	src.mu.Unlock()
	e.Cycle(ctx)
	waitFor(t, "the resolved notification", func() bool { return rcv.seen("InterfaceDown", "sw1", "resolved") })
	if got := amAlerts(t, base); len(got) != 1 || got[0].Labels["alertname"] != "HostUnreachable" {
		t.Fatalf("active after resolve: %+v", got)
	}
}

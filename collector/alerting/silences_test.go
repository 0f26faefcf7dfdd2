package alerting

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestGlobRegexp: a silence's glob and the regular expression given to
// Alertmanager (which anchors it) accept the same values.
func TestGlobRegexp(t *testing.T) {
	values := []string{"sw1", "sw12", "core-sw1", "sw", "if:ge-0/0/1", "if:ge-0/1/1", "a.b", "axb", "[x]", "*", "sw1/x"}
	for _, glob := range []string{"sw1", "sw*", "sw?", "if:ge-0/0/*", "a.b", "[a-c]xb", "[^s]*", `\*`, "*/*"} {
		re, isRegex := globRegexp(glob)
		if !isRegex {
			re = regexp.QuoteMeta(re) // sent as an equality matcher
		}
		rx := regexp.MustCompile("^(?:" + re + ")$")
		for _, v := range values {
			want, _ := path.Match(glob, v)
			if got := rx.MatchString(v); got != want {
				t.Errorf("glob %q as %q (regex %v) on %q: %v, want %v", glob, re, isRegex, v, got, want)
			}
		}
	}
}

// TestSilencesInAlertmanagerAndWebhooks: a silence made in Outpost mutes
// a webhook's notifications and becomes a silence in a real
// Alertmanager, which then reports the alert as silenced; expired early,
// it is expired there too.
func TestSilencesInAlertmanagerAndWebhooks(t *testing.T) {
	base, _ := alertmanager(t)
	ctx := context.Background()
	db, err := inventory.Open(ctx, filepath.Join(t.TempDir(), "inv.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hook := &hookServer{t: t, secret: "0123456789abcdef-secret"}
	srv := newHook(t, hook)
	now := time.Now().Truncate(time.Second)
	src := &fakeSource{agents: []inventory.Agent{{Name: "paris"}}}
	src.failing = []inventory.Failing{
		{Host: "sw1", Agent: "paris", Key: "if:ge-0/0/1", Kind: wire.KindInterface, Status: status.Down, Since: now.Add(-time.Hour)},
		{Host: "core1", Agent: "paris", Key: "host", Kind: wire.KindHost, Status: status.Down, Since: now.Add(-time.Hour)},
	}
	id, err := db.CreateSilence(ctx, inventory.Silence{Matchers: []inventory.Matcher{{Name: "host", Value: "sw*"}, {Name: "alertname", Value: "InterfaceDown"}},
		StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), CreatedBy: "olga", Comment: "cabling"}, now)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Config{Alertmanagers: []string{base}, Webhooks: []Webhook{{Name: "noc", URL: srv, Secret: hook.secret}}, Interval: time.Second,
		Now: func() time.Time { return now }}, src, fakeContacts{"paris": true}, db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := e.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hook.changes(); len(got) != 1 || got[0] != "firing:HostUnreachable:core1" {
		t.Fatalf("webhook got %v: the silenced alert was notified", got)
	}
	silenced := func() []Alert {
		res, err := http.Get(base + "/api/v2/alerts?silenced=true&active=false&inhibited=false")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out []Alert
		json.NewDecoder(res.Body).Decode(&out)
		return out
	}
	waitFor(t, "the alert silenced in Alertmanager", func() bool {
		s := silenced()
		return len(s) == 1 && s[0].Labels["host"] == "sw1"
	})
	list, _ := db.Silences(ctx, now, 10)
	if len(list) != 1 || list[0].AMIDs[base] == "" {
		t.Fatalf("the Alertmanager's silence id is not kept: %+v", list)
	}
	e.Cycle(ctx) // no second silence
	amSilences := func() (active int) {
		res, err := http.Get(base + "/api/v2/silences")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out []struct {
			Status struct{ State string }
		}
		json.NewDecoder(res.Body).Decode(&out)
		for _, s := range out {
			if s.Status.State == "active" {
				active++
			}
		}
		return active
	}
	if n := amSilences(); n != 1 {
		t.Fatalf("%d active silences in Alertmanager, want 1", n)
	}
	now = now.Add(time.Second)
	if err := db.ExpireSilence(ctx, id, now); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	e.Cycle(ctx)
	waitFor(t, "the silence expired in Alertmanager", func() bool { return amSilences() == 0 })
}

func newHook(t *testing.T, h *hookServer) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestWakeRunsACycle: a status change announced with Wake is sent
// without waiting for the interval (an hour here), and such a cycle posts
// only what changed, not every firing alert again.
func TestWakeRunsACycle(t *testing.T) {
	posted := make(chan []string, 10)
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var alerts []Alert
		json.NewDecoder(r.Body).Decode(&alerts)
		var hosts []string
		for _, a := range alerts {
			hosts = append(hosts, a.Labels["host"])
		}
		posted <- hosts
	}))
	defer am.Close()
	src := &fakeSource{agents: []inventory.Agent{{Name: "paris"}}}
	e := New(Config{Alertmanagers: []string{am.URL}, Interval: time.Hour, For: time.Nanosecond}, src, fakeContacts{"paris": true}, nil, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	down := func(hosts ...string) {
		src.mu.Lock()
		defer src.mu.Unlock()
		src.failing = nil
		for _, h := range hosts {
			src.failing = append(src.failing, inventory.Failing{Host: h, Agent: "paris", Key: "host", Kind: wire.KindHost, Status: status.Down, Since: time.Now().Add(-time.Second)})
		}
	}
	down("core1")
	go func() { done <- e.Run(ctx) }() // the first cycle posts core1
	defer func() { cancel(); <-done }()
	next := func() string {
		t.Helper()
		select {
		case h := <-posted:
			return strings.Join(h, " ")
		case <-time.After(20 * time.Second):
			t.Fatal("Wake did not run a cycle")
		}
		return ""
	}
	if got := next(); got != "core1" {
		t.Fatalf("first cycle posted %q", got)
	}
	down("core1", "core2")
	e.Wake()
	if got := next(); got != "core2" {
		t.Fatalf("a woken cycle posted %q, want only the new alert", got)
	}
}

// FuzzGlobRegexp: every glob a silence accepts becomes a regular
// expression Alertmanager can compile that accepts what the glob accepts.
func FuzzGlobRegexp(f *testing.F) {
	for _, seed := range [][2]string{{"sw*", "sw1"}, {"if:ge-0/0/*", "if:ge-0/0/12"}, {"[a-c]?", "bx"}, {`\*x`, "*x"}, {"[^/]*", "abc"}, {"a.b+c", "a.b+c"}, {"[]a]", "]"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, glob, value string) {
		if _, err := path.Match(glob, ""); err != nil || !utf8.ValidString(glob) {
			return // refused when the silence is made
		}
		re, isRegex := globRegexp(glob)
		if !isRegex {
			re = regexp.QuoteMeta(re)
		}
		rx, err := regexp.Compile("^(?:" + re + ")$")
		if err != nil {
			t.Fatalf("glob %q gives %q: %v", glob, re, err)
		}
		want, err := path.Match(glob, value)
		if err != nil {
			return
		}
		if got := rx.MatchString(value); got != want {
			t.Fatalf("glob %q (regex %q) on %q: %v, path.Match %v", glob, re, value, got, want)
		}
	})
}

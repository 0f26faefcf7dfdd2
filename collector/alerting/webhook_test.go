package alerting

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// hookServer is a webhook receiver that checks signatures and can fail.
type hookServer struct {
	t      *testing.T
	secret string
	fail   atomic.Bool
	mu     sync.Mutex
	got    []NotificationAlert
	posts  int
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if got := r.Header.Get(SignatureHeader); got != Sign(h.secret, body) {
		h.t.Errorf("signature %q does not match the body", got)
	}
	if h.fail.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil || n.Version != "1" {
		h.t.Errorf("notification %s: %v", body, err)
	}
	h.mu.Lock()
	h.got = append(h.got, n.Alerts...)
	h.posts++
	h.mu.Unlock()
}

func (h *hookServer) changes() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.got {
		out = append(out, a.Status+":"+a.Labels["alertname"]+":"+a.Labels["host"])
	}
	return out
}

// TestWebhookEachChangeOnce: each change is posted once, signed, across an
// engine restart (the state is in the inventory); a failing webhook gets
// it later; nothing is sent twice.
func TestWebhookEachChangeOnce(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "inv.db")
	db, err := inventory.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	hook := &hookServer{t: t, secret: "0123456789abcdef-secret"}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	now := time.Unix(1_800_000_000, 0)
	src := &fakeSource{agents: []inventory.Agent{{Name: "paris"}}}
	src.failing = []inventory.Failing{
		{Host: "core1", Agent: "paris", Key: "host", Kind: wire.KindHost, Status: status.Down, Since: now.Add(-time.Hour)},
	}
	engine := func() *Engine {
		return New(Config{Webhooks: []Webhook{{Name: "noc", URL: srv.URL, Secret: hook.secret}}, Interval: time.Second,
			Now: func() time.Time { return now }}, src, fakeContacts{"paris": true}, db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	e := engine()
	for i := 0; i < 3; i++ {
		if err := e.Cycle(ctx); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	if got := hook.changes(); len(got) != 1 || got[0] != "firing:HostUnreachable:core1" {
		t.Fatalf("after 3 cycles: %v", got)
	}
	// The collector restarts (a new engine, the same inventory): no repeat.
	db.Close()
	if db, err = inventory.Open(ctx, dbPath); err != nil {
		t.Fatal(err)
	}
	e = engine()
	e.Cycle(ctx)
	if got := hook.changes(); len(got) != 1 {
		t.Fatalf("after a restart: %v", got)
	}
	// The webhook is down when the host comes back: the resolve waits in
	// the outbox and is delivered once the webhook answers again.
	hook.fail.Store(true)
	src.mu.Lock()
	src.failing = nil
	src.mu.Unlock()
	if err := e.Cycle(ctx); err == nil {
		t.Fatal("a failing webhook reported no error")
	}
	if n, _ := db.OutboxLen(ctx); n != 1 {
		t.Fatalf("outbox holds %d", n)
	}
	hook.fail.Store(false)
	for i := 0; i < 5; i++ { // the retry waits its backoff (one interval, doubling)
		now = now.Add(time.Second)
		e.Cycle(ctx)
	}
	if got := hook.changes(); len(got) != 2 || got[1] != "resolved:HostUnreachable:core1" {
		t.Fatalf("after the webhook came back: %v", got)
	}
	if n, _ := db.OutboxLen(ctx); n != 0 {
		t.Fatalf("outbox still holds %d", n)
	}
}

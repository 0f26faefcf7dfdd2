package inventory

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// API tokens may expire: an expired token authenticates nobody, the list
// shows the expiry, and an expiry in the past is refused.
func TestAPITokenExpiry(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	if err := db.CreateUser(ctx, "ann", "ann-password-1", RoleViewer, now); err != nil {
		t.Fatal(err)
	}
	exp := now.Add(24 * time.Hour)
	tok, err := db.CreateExpiringAPIToken(ctx, "ann", "cron", now, exp)
	if err != nil {
		t.Fatal(err)
	}
	forever, err := db.CreateAPIToken(ctx, "ann", "forever", now)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := db.UserByAPIToken(ctx, tok, exp.Add(-time.Second)); err != nil || u.Name != "ann" {
		t.Fatalf("before its expiry: %v %v", u, err)
	}
	if _, err := db.UserByAPIToken(ctx, tok, exp); !errors.Is(err, ErrNoSession) {
		t.Fatalf("at its expiry: %v, want ErrNoSession", err)
	}
	if _, err := db.UserByAPIToken(ctx, forever, now.Add(100*365*24*time.Hour)); err != nil {
		t.Fatalf("a token without expiry, a century later: %v", err)
	}
	toks, err := db.APITokens(ctx, "ann")
	if err != nil || len(toks) != 2 {
		t.Fatal(toks, err)
	}
	for _, tk := range toks {
		switch tk.Label {
		case "cron":
			if !tk.ExpiresAt.Equal(exp) || tk.Expired(exp.Add(-time.Second)) || !tk.Expired(exp) {
				t.Errorf("cron token: expires %v", tk.ExpiresAt)
			}
		case "forever":
			if !tk.ExpiresAt.IsZero() || tk.Expired(now.Add(1e6*time.Hour)) {
				t.Errorf("forever token: expires %v", tk.ExpiresAt)
			}
		}
	}
	if _, err := db.CreateExpiringAPIToken(ctx, "ann", "late", now, now); !errors.Is(err, ErrExpiryInPast) {
		t.Fatalf("an expiry of now: %v", err)
	}
}

// Status changes older than the retention are deleted (in batches larger
// than one statement deletes), newer ones kept; KeepStatusHistory prunes at
// once and stops with its context.
func TestStatusHistoryRetention(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	r1, _ := seedQuery(t, db)
	var id int64
	if err := db.Reader().QueryRow(`SELECT id FROM attributes WHERE host_id = ? ORDER BY id LIMIT 1`, r1).Scan(&id); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	tx, err := db.Writer().Begin()
	if err != nil {
		t.Fatal(err)
	}
	old := pruneBatch + 500
	for i := 0; i < old; i++ {
		tx.Exec(`INSERT INTO status_events(attr_id, at, old_status, new_status) VALUES (?, ?, 1, 3)`, id, now.Add(-500*24*time.Hour).UnixMilli()+int64(i))
	}
	for i := 0; i < 7; i++ {
		tx.Exec(`INSERT INTO status_events(attr_id, at, old_status, new_status) VALUES (?, ?, 3, 1)`, id, now.Add(-time.Duration(i)*24*time.Hour).UnixMilli())
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		db.Reader().QueryRow(`SELECT count(*) FROM status_events WHERE attr_id = ?`, id).Scan(&n)
		return n
	}
	before := count()
	var log syncLog
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- db.KeepStatusHistory(ctx2, 400*24*time.Hour, func() time.Time { return now }, slog.New(slog.NewTextHandler(&log, nil)))
	}()
	deadline := time.Now().Add(10 * time.Second)
	// Wait for the rows and the log line: the pruning commits before it logs.
	for count() != before-old || !bytes.Contains(log.bytes(), []byte("status history pruned")) {
		if time.Now().After(deadline) {
			t.Fatalf("%d status changes left of %d, want %d; log: %s", count(), before, before-old, log.bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log.bytes(), []byte("status history pruned")) {
		t.Errorf("pruning not logged: %s", log.bytes())
	}
	if n, err := db.PruneStatusHistory(ctx, now.Add(-400*24*time.Hour)); n != 0 || err != nil {
		t.Errorf("a second pruning deleted %d (%v)", n, err)
	}
	if err := db.KeepStatusHistory(ctx, 0, nil, nil); err != nil {
		t.Errorf("retention 0: %v", err)
	}
}

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

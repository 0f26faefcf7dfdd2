package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUsersSessionsTokens(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	if err := db.CreateUser(ctx, "alice", "correct horse", RoleAdmin, now); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, "alice", "another pass", RoleViewer, now); !errors.Is(err, ErrUserExists) {
		t.Errorf("duplicate user: %v", err)
	}
	for _, bad := range []struct{ name, pw, role string }{
		{"", "longenough", "admin"}, {"bob smith", "longenough", "admin"}, {"bob", "short", "admin"},
		{"bob", "longenough", "root"}, {"bob", strings.Repeat("x", 73), "viewer"},
	} {
		if err := db.CreateUser(ctx, bad.name, bad.pw, Role(bad.role), now); err == nil {
			t.Errorf("CreateUser(%q, %q, %q) succeeded", bad.name, bad.pw, bad.role)
		} else if strings.Contains(err.Error(), bad.pw) {
			t.Errorf("error leaks the password: %v", err)
		}
	}
	if err := db.CreateUser(ctx, "bob", "viewer pass", RoleViewer, now); err != nil {
		t.Fatal(err)
	}
	users, err := db.Users(ctx)
	if err != nil || len(users) != 2 || users[0].Role != RoleAdmin || users[1].Name != "bob" {
		t.Fatalf("users = %+v, %v", users, err)
	}
	var stored string
	db.Reader().QueryRow(`SELECT password_hash FROM users WHERE name='alice'`).Scan(&stored)
	if !strings.HasPrefix(stored, "$2a$") || strings.Contains(stored, "correct horse") {
		t.Errorf("stored hash %q is not bcrypt", stored)
	}

	u, err := db.Authenticate(ctx, "alice", "correct horse")
	if err != nil || u.Role != RoleAdmin {
		t.Fatalf("Authenticate = %+v, %v", u, err)
	}
	for _, c := range [][2]string{{"alice", "wrong horse"}, {"mallory", "correct horse"}, {"alice", ""}} {
		if _, err := db.Authenticate(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q) = %v", c[0], err)
		}
	}

	s, err := db.CreateSession(ctx, u, now, time.Hour)
	if err != nil || len(s.Token) < 40 || len(s.CSRF) < 40 || s.Token == s.CSRF {
		t.Fatalf("session = %+v, %v", s, err)
	}
	var n int
	db.Reader().QueryRow(`SELECT count(*) FROM sessions WHERE token_hash = ?`, s.Token).Scan(&n)
	if n != 0 {
		t.Error("session token stored in clear")
	}
	got, err := db.SessionByToken(ctx, s.Token, now.Add(59*time.Minute))
	if err != nil || got.User.Name != "alice" || got.CSRF != s.CSRF {
		t.Fatalf("SessionByToken = %+v, %v", got, err)
	}
	if _, err := db.SessionByToken(ctx, s.Token, now.Add(time.Hour)); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired session accepted: %v", err)
	}
	if _, err := db.SessionByToken(ctx, "forged", now); !errors.Is(err, ErrNoSession) {
		t.Errorf("forged session accepted: %v", err)
	}
	if err := db.DeleteSession(ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByToken(ctx, s.Token, now); !errors.Is(err, ErrNoSession) {
		t.Errorf("logged-out session accepted: %v", err)
	}

	tok, err := db.CreateAPIToken(ctx, "bob", "grafana", now)
	if err != nil || !strings.HasPrefix(tok, APITokenPrefix) {
		t.Fatalf("token %q, %v", tok, err)
	}
	tu, err := db.UserByAPIToken(ctx, tok, now)
	if err != nil || tu.Name != "bob" || tu.Role != RoleViewer {
		t.Fatalf("UserByAPIToken = %+v, %v", tu, err)
	}
	if _, err := db.UserByAPIToken(ctx, tok+"x", now); !errors.Is(err, ErrNoSession) {
		t.Errorf("wrong token accepted: %v", err)
	}
	if _, err := db.CreateAPIToken(ctx, "nobody", "", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("token for missing user: %v", err)
	}
	exec(t, db, `UPDATE users SET disabled = 1 WHERE name = 'bob'`)
	if _, err := db.UserByAPIToken(ctx, tok, now); !errors.Is(err, ErrNoSession) {
		t.Errorf("disabled user's token accepted: %v", err)
	}
	if _, err := db.Authenticate(ctx, "bob", "viewer pass"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled user logged in: %v", err)
	}
}

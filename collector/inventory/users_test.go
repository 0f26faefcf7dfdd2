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

// userFixture is an inventory with an admin (alice) and a viewer (bob),
// each logged in once and holding one API token.
type userFixture struct {
	db       *DB
	now      time.Time
	sessions map[string]string // user -> session cookie value
	tokens   map[string]string // user -> API token
}

var fixturePasswords = map[string]string{"alice": "alice password", "bob": "bob password", "carol": "carol password"}

func newUserFixture(t *testing.T) *userFixture {
	t.Helper()
	f := &userFixture{db: openTest(t), now: time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC),
		sessions: map[string]string{}, tokens: map[string]string{}}
	for _, u := range []struct {
		name string
		role Role
	}{{"alice", RoleAdmin}, {"bob", RoleViewer}} {
		f.addUser(t, u.name, u.role)
	}
	return f
}

// addUser creates a user with a session and an API token.
func (f *userFixture) addUser(t *testing.T, name string, role Role) {
	t.Helper()
	ctx := context.Background()
	if err := f.db.CreateUser(ctx, name, fixturePasswords[name], role, f.now); err != nil {
		t.Fatal(err)
	}
	s, err := f.db.CreateSession(ctx, User{Name: name, Role: role, CreatedAt: f.now}, f.now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.sessions[name] = s.Token
	if f.tokens[name], err = f.db.CreateAPIToken(ctx, name, "test", f.now); err != nil {
		t.Fatal(err)
	}
}

// credentials reports which credentials of user name work now.
func (f *userFixture) credentials(t *testing.T, name, password string) (login, session, token bool) {
	t.Helper()
	ctx := context.Background()
	_, err := f.db.Authenticate(ctx, name, password)
	login = err == nil
	if err != nil && !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("Authenticate(%s): %v", name, err)
	}
	_, err = f.db.SessionByToken(ctx, f.sessions[name], f.now)
	session = err == nil
	if err != nil && !errors.Is(err, ErrNoSession) {
		t.Fatalf("SessionByToken(%s): %v", name, err)
	}
	_, err = f.db.UserByAPIToken(ctx, f.tokens[name], f.now)
	token = err == nil
	if err != nil && !errors.Is(err, ErrNoSession) {
		t.Fatalf("UserByAPIToken(%s): %v", name, err)
	}
	return login, session, token
}

// expectOtherIntact checks that an action on user left another fixture
// user (alice, or bob when user is alice) able to log in, with its session
// and token.
func (f *userFixture) expectOtherIntact(t *testing.T, user string) {
	t.Helper()
	other := "alice"
	if user == "alice" {
		other = "bob"
	}
	f.expect(t, other, fixturePasswords[other], true, true, true)
}

func (f *userFixture) expect(t *testing.T, name, password string, login, session, token bool) {
	t.Helper()
	l, s, k := f.credentials(t, name, password)
	if l != login || s != session || k != token {
		t.Errorf("%s: login %v session %v token %v, want %v %v %v", name, l, s, k, login, session, token)
	}
}

func (f *userFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Reader().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestSetPassword(t *testing.T) {
	for _, tc := range []struct {
		name, user, password string
		wantErr              error // nil: success; errAny: some error
	}{
		{"changed", "bob", "a new password", nil},
		{"admin changed", "alice", "a new password", nil},
		{"too short", "bob", "short", errAny},
		{"too long", "bob", strings.Repeat("x", 73), errAny},
		{"unknown user", "mallory", "a new password", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newUserFixture(t)
			err := f.db.SetPassword(context.Background(), tc.user, tc.password)
			checkErr(t, err, tc.wantErr)
			if err != nil && strings.Contains(err.Error(), tc.password) {
				t.Errorf("error leaks the password: %v", err)
			}
			f.expectOtherIntact(t, tc.user)
			if tc.wantErr != nil {
				if tc.user != "mallory" {
					f.expect(t, tc.user, fixturePasswords[tc.user], true, true, true)
				}
				return
			}
			// The new password works, the old one does not, every
			// browser session is gone, the API token still works.
			f.expect(t, tc.user, tc.password, true, false, true)
			f.expect(t, tc.user, fixturePasswords[tc.user], false, false, true)
			var stored string
			f.db.Reader().QueryRow(`SELECT password_hash FROM users WHERE name = ?`, tc.user).Scan(&stored)
			if !strings.HasPrefix(stored, "$2a$11$") {
				t.Errorf("stored hash %q: want bcrypt cost 11", stored)
			}
		})
	}
}

// errAny stands for "some error" in the tables.
var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && err == nil:
		t.Fatalf("succeeded, want an error (%v)", want)
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Fatalf("error %v, want %v", err, want)
	}
}

func TestSetDisabled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		carol    string // "": no carol; "admin" or "disabled admin"
		user     string
		disabled bool
		wantErr  error
	}{
		{"viewer", "", "bob", true, nil},
		{"admin with another admin", "admin", "alice", true, nil},
		{"last admin", "", "alice", true, ErrLastAdmin},
		{"last enabled admin", "disabled admin", "alice", true, ErrLastAdmin},
		{"disabled admin", "disabled admin", "carol", true, nil},
		{"enable enabled", "", "bob", false, nil},
		{"unknown user", "", "mallory", true, ErrNotFound},
		{"enable unknown user", "", "mallory", false, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newUserFixture(t)
			if tc.carol != "" {
				f.addUser(t, "carol", RoleAdmin)
				if tc.carol == "disabled admin" {
					exec(t, f.db, `UPDATE users SET disabled = 1 WHERE name = 'carol'`)
				}
			}
			err := f.db.SetDisabled(ctx, tc.user, tc.disabled)
			checkErr(t, err, tc.wantErr)
			if errors.Is(err, ErrLastAdmin) && !strings.Contains(err.Error(), "last enabled admin") {
				t.Errorf("refusal does not say why: %v", err)
			}
			f.expectOtherIntact(t, tc.user)
			if tc.wantErr != nil {
				if tc.user != "mallory" {
					f.expect(t, tc.user, fixturePasswords[tc.user], true, true, true)
				}
				return
			}
			if !tc.disabled {
				f.expect(t, tc.user, fixturePasswords[tc.user], true, true, true)
				return
			}
			// Disabled: nothing works and the sessions are deleted; the
			// token is kept and works again after enabling.
			f.expect(t, tc.user, fixturePasswords[tc.user], false, false, false)
			if n := f.count(t, `SELECT count(*) FROM sessions WHERE user_name = ?`, tc.user); n != 0 {
				t.Errorf("%d sessions left", n)
			}
			if err := f.db.SetDisabled(ctx, tc.user, false); err != nil {
				t.Fatal(err)
			}
			f.expect(t, tc.user, fixturePasswords[tc.user], true, false, true)
		})
	}
}

func TestDeleteUser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		carol   string
		user    string
		wantErr error
	}{
		{"viewer", "", "bob", nil},
		{"admin with another admin", "admin", "alice", nil},
		{"disabled admin", "disabled admin", "carol", nil},
		{"last admin", "", "alice", ErrLastAdmin},
		{"last enabled admin", "disabled admin", "alice", ErrLastAdmin},
		{"unknown user", "", "mallory", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newUserFixture(t)
			if tc.carol != "" {
				f.addUser(t, "carol", RoleAdmin)
				if tc.carol == "disabled admin" {
					exec(t, f.db, `UPDATE users SET disabled = 1 WHERE name = 'carol'`)
				}
			}
			// The deletes must not depend on ON DELETE CASCADE.
			exec(t, f.db, `PRAGMA foreign_keys = OFF`)
			var fk int
			if err := f.db.Writer().QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 0 {
				t.Fatalf("foreign_keys = %d, %v", fk, err)
			}
			before := f.count(t, `SELECT count(*) FROM users`)
			err := f.db.DeleteUser(ctx, tc.user)
			checkErr(t, err, tc.wantErr)
			f.expectOtherIntact(t, tc.user)
			if tc.wantErr != nil {
				if n := f.count(t, `SELECT count(*) FROM users`); n != before {
					t.Errorf("%d users, want %d", n, before)
				}
				if tc.user != "mallory" {
					f.expect(t, tc.user, fixturePasswords[tc.user], true, true, true)
				}
				return
			}
			f.expect(t, tc.user, fixturePasswords[tc.user], false, false, false)
			for _, q := range []string{
				`SELECT count(*) FROM users WHERE name = ?`,
				`SELECT count(*) FROM sessions WHERE user_name = ?`,
				`SELECT count(*) FROM api_tokens WHERE user_name = ?`,
			} {
				if n := f.count(t, q, tc.user); n != 0 {
					t.Errorf("%s: %d rows left", q, n)
				}
			}
			if _, err := f.db.APITokens(ctx, tc.user); !errors.Is(err, ErrNotFound) {
				t.Errorf("APITokens of deleted user: %v", err)
			}
		})
	}
}

func TestAPITokensList(t *testing.T) {
	ctx := context.Background()
	f := newUserFixture(t)
	second, err := f.db.CreateAPIToken(ctx, "bob", "grafana", f.now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	used := f.now.Add(2 * time.Minute)
	if _, err := f.db.UserByAPIToken(ctx, second, used); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user    string
		want    []APIToken
		wantErr error
	}{
		{"bob", []APIToken{
			{ID: tokenHash(f.tokens["bob"])[:APITokenIDLen], Label: "test", CreatedAt: f.now},
			{ID: tokenHash(second)[:APITokenIDLen], Label: "grafana", CreatedAt: f.now.Add(time.Minute), LastUsed: used},
		}, nil},
		{"alice", []APIToken{{ID: tokenHash(f.tokens["alice"])[:APITokenIDLen], Label: "test", CreatedAt: f.now}}, nil},
		{"mallory", nil, ErrNotFound},
	} {
		t.Run(tc.user, func(t *testing.T) {
			got, err := f.db.APITokens(ctx, tc.user)
			checkErr(t, err, tc.wantErr)
			if len(got) != len(tc.want) {
				t.Fatalf("tokens = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				w := tc.want[i]
				if got[i].ID != w.ID || got[i].Label != w.Label || !got[i].CreatedAt.Equal(w.CreatedAt) || !got[i].LastUsed.Equal(w.LastUsed) {
					t.Errorf("token %d = %+v, want %+v", i, got[i], w)
				}
				for _, tok := range f.tokens {
					if strings.Contains(tok, got[i].ID) {
						t.Errorf("ID %s is part of a token", got[i].ID)
					}
				}
			}
		})
	}
}

func TestRevokeAPIToken(t *testing.T) {
	ctx := context.Background()
	f := newUserFixture(t)
	keep, err := f.db.CreateAPIToken(ctx, "bob", "keep", f.now)
	if err != nil {
		t.Fatal(err)
	}
	// Two stored hashes sharing 8 digits, to make an ambiguous ID.
	const h1, h2 = "deadbeef00", "deadbeef11"
	for _, h := range []string{h1, h2} {
		exec(t, f.db, `INSERT INTO api_tokens(token_hash, user_name, label, created_at) VALUES (?, 'bob', 'x', 0)`, h+strings.Repeat("0", 54))
	}
	bobID := tokenHash(f.tokens["bob"])[:APITokenIDLen]
	aliceID := tokenHash(f.tokens["alice"])[:APITokenIDLen]
	// Steps run in order on the same inventory.
	for _, tc := range []struct {
		name, user, id string
		wantErr        error
		left           int // bob's tokens afterwards
	}{
		{"too short", "bob", bobID[:7], errAny, 4},
		{"not hex", "bob", "opt_" + bobID, errAny, 4},
		{"the token itself", "bob", f.tokens["bob"], errAny, 4},
		{"another user's token", "bob", aliceID, ErrNotFound, 4},
		{"unknown user", "mallory", bobID, ErrNotFound, 4},
		{"ambiguous", "bob", "deadbeef", errAny, 4},
		{"one of two alike", "bob", h1, nil, 3},
		{"full ID, upper case", "bob", strings.ToUpper(bobID), nil, 2},
		{"already revoked", "bob", bobID, ErrNotFound, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.db.RevokeAPIToken(ctx, tc.user, tc.id)
			checkErr(t, err, tc.wantErr)
			if err != nil && strings.Contains(err.Error(), f.tokens["bob"]) {
				t.Errorf("error leaks the token: %v", err)
			}
			if n := f.count(t, `SELECT count(*) FROM api_tokens WHERE user_name = 'bob'`); n != tc.left {
				t.Errorf("bob has %d tokens, want %d", n, tc.left)
			}
		})
	}
	if n := f.count(t, `SELECT count(*) FROM api_tokens WHERE token_hash LIKE ?`, h2+"%"); n != 1 {
		t.Errorf("the other alike token was revoked too")
	}
	if _, err := f.db.UserByAPIToken(ctx, f.tokens["bob"], f.now); !errors.Is(err, ErrNoSession) {
		t.Errorf("revoked token accepted: %v", err)
	}
	for _, tok := range []string{keep, f.tokens["alice"]} {
		if _, err := f.db.UserByAPIToken(ctx, tok, f.now); err != nil {
			t.Errorf("token kept: %v", err)
		}
	}
}

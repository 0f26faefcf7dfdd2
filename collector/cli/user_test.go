package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
)

func runCollector(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := NewRoot(&out, &errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("s3cret-password\n"), 0o600)
	if _, _, err := runCollector(t, "", "user", "add", "alice", "--role", "admin", "--password-file", pwFile, "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCollector(t, "viewer-password\n", "user", "add", "bob", "--data-dir", dir); err != nil {
		t.Fatalf("password from stdin: %v", err)
	}
	if _, _, err := runCollector(t, "short\n", "user", "add", "carol", "--data-dir", dir); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("short password: %v", err)
	}
	if _, _, err := runCollector(t, "", "user", "add", "dave", "--role", "root", "--password-file", pwFile, "--data-dir", dir); err == nil {
		t.Error("role root accepted")
	}
	out, _, err := runCollector(t, "", "user", "list", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "alice") || !strings.Contains(lines[1], "admin") || !strings.Contains(lines[2], "viewer") {
		t.Errorf("user list:\n%s", out)
	}
	tok, _, err := runCollector(t, "", "user", "token", "bob", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCollector(t, "", "user", "token", "nobody", "--data-dir", dir); err == nil {
		t.Error("token for a missing user")
	}
	db, err := inventory.Open(context.Background(), filepath.Join(dir, inventory.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if u, err := db.UserByAPIToken(ctx, strings.TrimSpace(tok), time.Now()); err != nil || u.Name != "bob" {
		t.Errorf("token: %v %v", u, err)
	}
	if _, err := db.Authenticate(ctx, "alice", "s3cret-password"); err != nil {
		t.Errorf("alice: %v", err)
	}
	if _, err := db.Authenticate(ctx, "bob", "viewer-password"); err != nil {
		t.Errorf("bob: %v", err)
	}
}

func TestUserManagementCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const alicePW, bobPW, bobPW2 = "alice-password", "bob-password", "bob-new-password"
	if _, _, err := runCollector(t, "", "user", "add", "alice", "--role", "admin", "--password-file", write("alice", alicePW), "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCollector(t, bobPW+"\n", "user", "add", "bob", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	var bobTokens []string
	for _, label := range []string{"grafana", "script"} {
		out, _, err := runCollector(t, "", "user", "token", "bob", "--label", label, "--data-dir", dir)
		if err != nil {
			t.Fatal(err)
		}
		bobTokens = append(bobTokens, strings.TrimSpace(out))
	}
	id := func(tok string) string {
		h := sha256.Sum256([]byte(tok))
		return hex.EncodeToString(h[:])[:inventory.APITokenIDLen]
	}
	db, err := inventory.Open(ctx, filepath.Join(dir, inventory.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	session := func(name string) string {
		t.Helper()
		s, err := db.CreateSession(ctx, inventory.User{Name: name}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s.Token
	}
	aliceSession, bobSession := session("alice"), session("bob")
	secrets := []string{alicePW, bobPW, bobPW2, bobTokens[0], bobTokens[1], aliceSession}

	login := func(name, pw string) bool {
		t.Helper()
		_, err := db.Authenticate(ctx, name, pw)
		if err != nil && !errors.Is(err, inventory.ErrBadCredentials) {
			t.Fatal(err)
		}
		return err == nil
	}
	sessionOK := func(tok string) bool {
		_, err := db.SessionByToken(ctx, tok, time.Now())
		return err == nil
	}
	tokenOK := func(tok string) bool {
		_, err := db.UserByAPIToken(ctx, tok, time.Now())
		return err == nil
	}
	rows := func(q string) int {
		t.Helper()
		var n int
		if err := db.Reader().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	want := func(what string, got, want bool) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}

	// Steps run in order on the same data directory.
	for _, st := range []struct {
		args    []string
		stdin   string
		wantErr string // "" for success
		wantOut string // the confirmation line, or a part of the table
		check   func(t *testing.T)
	}{
		{args: []string{"tokens", "bob"}, wantOut: "LAST USED", check: func(t *testing.T) {
			out, _, _ := runCollector(t, "", "user", "tokens", "bob", "--data-dir", dir)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			lastUsed := func(line string) string { return strings.Fields(line)[3] } // ID LABEL CREATED LAST-USED EXPIRES
			if len(lines) != 3 || !strings.Contains(lines[0], "LAST USED\tEXPIRES") && !strings.Contains(lines[0], "LAST USED  EXPIRES") ||
				!strings.HasPrefix(lines[1], id(bobTokens[0])+"  grafana") || lastUsed(lines[1]) != "never" ||
				!strings.HasPrefix(lines[2], id(bobTokens[1])+"  script") || lastUsed(lines[2]) != "never" || !strings.HasSuffix(lines[2], "never") {
				t.Errorf("user tokens:\n%s", out)
			}
			want("bob's first token", tokenOK(bobTokens[0]), true)
			out, _, _ = runCollector(t, "", "user", "tokens", "bob", "--data-dir", dir)
			if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || lastUsed(lines[1]) == "never" || lastUsed(lines[2]) != "never" {
				t.Errorf("user tokens after a use:\n%s", out)
			}
		}},
		{args: []string{"passwd", "bob", "--password-file", write("bob2", bobPW2)}, wantOut: "password of user bob changed", check: func(t *testing.T) {
			want("old password", login("bob", bobPW), false)
			want("new password", login("bob", bobPW2), true)
			want("bob's old session", sessionOK(bobSession), false)
			want("bob's token", tokenOK(bobTokens[1]), true)
			want("alice's session", sessionOK(aliceSession), true)
		}},
		{args: []string{"passwd", "alice"}, stdin: "short\n", wantErr: "password must be", check: func(t *testing.T) {
			want("alice's password", login("alice", alicePW), true)
			want("alice's session", sessionOK(aliceSession), true)
		}},
		{args: []string{"passwd", "nobody"}, stdin: "whatever-password\n", wantErr: "not found"},
		{args: []string{"disable", "alice"}, wantErr: "last enabled admin", check: func(t *testing.T) {
			want("alice's login", login("alice", alicePW), true)
			want("alice's session", sessionOK(aliceSession), true)
		}},
		{args: []string{"delete", "alice"}, wantErr: "last enabled admin", check: func(t *testing.T) {
			want("alice's login", login("alice", alicePW), true)
			bobSession = session("bob")
		}},
		{args: []string{"disable", "bob"}, wantOut: "user bob disabled", check: func(t *testing.T) {
			want("bob's login", login("bob", bobPW2), false)
			want("bob's session", sessionOK(bobSession), false)
			want("bob's token", tokenOK(bobTokens[0]), false)
			want("bob's session row", rows(`SELECT count(*) FROM sessions WHERE user_name = 'bob'`) > 0, false)
			want("alice's session", sessionOK(aliceSession), true)
		}},
		{args: []string{"enable", "bob"}, wantOut: "user bob enabled", check: func(t *testing.T) {
			want("bob's login", login("bob", bobPW2), true)
			want("bob's first token", tokenOK(bobTokens[0]), true)
			want("bob's second token", tokenOK(bobTokens[1]), true)
			bobSession = session("bob")
		}},
		{args: []string{"revoke-token", "bob", id(bobTokens[0])}, wantOut: "API token " + id(bobTokens[0]) + " of user bob revoked", check: func(t *testing.T) {
			want("revoked token", tokenOK(bobTokens[0]), false)
			want("other token", tokenOK(bobTokens[1]), true)
		}},
		{args: []string{"revoke-token", "bob", bobTokens[1]}, wantErr: "hex digits", check: func(t *testing.T) {
			want("token given instead of its ID", tokenOK(bobTokens[1]), true)
		}},
		{args: []string{"revoke-token", "bob", id(bobTokens[1])[:7]}, wantErr: "hex digits"},
		{args: []string{"revoke-token", "alice", id(bobTokens[1])}, wantErr: "not found", check: func(t *testing.T) {
			want("bob's token under alice's name", tokenOK(bobTokens[1]), true)
		}},
		{args: []string{"delete", "bob"}, wantOut: "user bob deleted", check: func(t *testing.T) {
			want("bob's login", login("bob", bobPW2), false)
			want("bob's session", sessionOK(bobSession), false)
			want("bob's token", tokenOK(bobTokens[1]), false)
			for _, q := range []string{
				`SELECT count(*) FROM users WHERE name = 'bob'`,
				`SELECT count(*) FROM sessions WHERE user_name = 'bob'`,
				`SELECT count(*) FROM api_tokens WHERE user_name = 'bob'`,
			} {
				if n := rows(q); n != 0 {
					t.Errorf("%s = %d", q, n)
				}
			}
			want("alice's session", sessionOK(aliceSession), true)
		}},
		{args: []string{"tokens", "bob"}, wantErr: "not found"},
		{args: []string{"enable", "bob"}, wantErr: "not found"},
	} {
		t.Run(strings.Join(st.args[:2], " "), func(t *testing.T) {
			out, errOut, err := runCollector(t, st.stdin, append(append([]string{"user"}, st.args...), "--data-dir", dir)...)
			switch {
			case st.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case st.wantErr != "" && err == nil:
				t.Fatalf("succeeded, want an error containing %q; output %q", st.wantErr, out)
			case st.wantErr != "" && !strings.Contains(err.Error(), st.wantErr):
				t.Errorf("error %q, want %q", err, st.wantErr)
			}
			if st.wantErr == "" && !strings.Contains(out, st.wantOut) {
				t.Errorf("output %q, want %q", out, st.wantOut)
			}
			if st.wantErr == "" && st.args[0] != "tokens" && strings.Count(out, "\n") != 1 {
				t.Errorf("output %q: want one line", out)
			}
			for _, sec := range secrets {
				if strings.Contains(out+errOut, sec) || (err != nil && strings.Contains(err.Error(), sec)) {
					t.Errorf("a secret is printed: out %q, stderr %q, err %v", out, errOut, err)
				}
			}
			if st.check != nil {
				st.check(t)
			}
		})
	}
}

// user token --expires: the token stops working at its expiry, tokens
// shows when, and a time in the past or a bad value is refused.
func TestUserTokenExpires(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("s3cret-password\n"), 0o600)
	if _, _, err := runCollector(t, "", "user", "add", "bob", "--password-file", pwFile, "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	tok, _, err := runCollector(t, "", "user", "token", "bob", "--expires", "90d", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	tok = strings.TrimSpace(tok)
	db, err := inventory.Open(context.Background(), filepath.Join(dir, inventory.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := db.UserByAPIToken(context.Background(), tok, now.AddDate(0, 0, 89)); err != nil {
		t.Errorf("after 89 days: %v", err)
	}
	if _, err := db.UserByAPIToken(context.Background(), tok, now.AddDate(0, 0, 91)); err == nil {
		t.Error("the token works after 91 days")
	}
	db.Close()
	out, _, _ := runCollector(t, "", "user", "tokens", "bob", "--data-dir", dir)
	if !strings.Contains(out, "EXPIRES") || !strings.Contains(out, now.AddDate(0, 0, 90).UTC().Format("2006-01-02")) && !strings.Contains(out, now.AddDate(0, 0, 90).Format("2006-01-02")) {
		t.Errorf("user tokens:\n%s", out)
	}
	for _, bad := range []string{"2001-01-01", "-5h", "soon", "999999d"} {
		if _, _, err := runCollector(t, "", "user", "token", "bob", "--expires", bad, "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "--expires") {
			t.Errorf("--expires %s: %v", bad, err)
		}
	}
	for in, want := range map[string]time.Duration{"720h": 720 * time.Hour, "1h30m": 90 * time.Minute} {
		got, err := parseExpiry(in, now)
		if err != nil || got.Sub(now) != want {
			t.Errorf("parseExpiry(%s) = %v %v", in, got, err)
		}
	}
	if got, err := parseExpiry("2999-01-31T18:00:00Z", now); err != nil || got.Year() != 2999 {
		t.Errorf("RFC 3339: %v %v", got, err)
	}
}

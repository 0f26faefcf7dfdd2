package cli

import (
	"bytes"
	"context"
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

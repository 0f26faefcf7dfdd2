package inventory

import (
	"context"
	"path/filepath"
	"testing"
)

func TestOpenMigratesAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inv.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.Reader().QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v < 1 {
		t.Fatalf("user_version = %d, %v", v, err)
	}
	if _, err := db.Writer().ExecContext(ctx, "INSERT INTO hosts(name, created_at, updated_at) VALUES ('h1', 1, 1)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.Reader().QueryRowContext(ctx, "SELECT count(*) FROM hosts").Scan(&n); err != nil || n != 1 {
		t.Fatalf("hosts = %d, %v", n, err)
	}
	if _, err := db.Writer().ExecContext(ctx, "PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, path); err == nil {
		t.Fatal("opened a database newer than the schema")
	}
}

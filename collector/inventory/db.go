// Package inventory is the collector's database of agents, hosts,
// attributes, statuses, events and users: an embedded SQLite file
// (modernc.org/sqlite, pure Go) in WAL mode, so there is no server to install.
//
// The schema lives in migrations/*.sql, applied in order at Open and
// recorded in PRAGMA user_version; a database newer than this binary is
// refused rather than misread. Writes go through one connection (SQLite has
// one writer), reads through a small pool.
//
// Time series are not stored here: they go to round-robin archives. An
// attribute row names its archive file.
package inventory

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the inventory. Safe for concurrent use.
type DB struct {
	w *sql.DB // the one writer connection
	r *sql.DB // readers
}

// Open opens (creating if needed) the inventory at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := registerNatural(); err != nil {
		return nil, fmt.Errorf("open inventory %s: register the natural collation: %w", path, err)
	}
	dsn := func(mode string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(1)")
		if mode != "" {
			q.Add("mode", mode)
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		return nil, fmt.Errorf("open inventory %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	db := &DB{w: w}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open inventory %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("ro"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open inventory %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	db.r = r
	return db, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	err := db.r.Close()
	if err2 := db.w.Close(); err == nil {
		err = err2
	}
	return err
}

// Writer returns the single writer pool, for packages that keep their own
// tables in this database inside a transaction of their own.
func (db *DB) Writer() *sql.DB { return db.w }

// Reader returns the read-only pool.
func (db *DB) Reader() *sql.DB { return db.r }

func (db *DB) migrate(ctx context.Context) error {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	type step struct {
		version int
		name    string
	}
	var steps []step
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration file %s: name must start with a number and _", e.Name())
		}
		steps = append(steps, step{v, e.Name()})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].version < steps[j].version })
	// Versions are 1..n with no gap: user_version records only the latest
	// step, so a gap filled later would be skipped by databases already past it.
	for i, s := range steps {
		if s.version != i+1 {
			return fmt.Errorf("migration %s: numbers must run 1..n without gaps or repeats (want %04d)", s.name, i+1)
		}
	}
	var current int
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if n := len(steps); n > 0 && current > steps[n-1].version {
		return fmt.Errorf("schema version %d is newer than this collector understands (%d)", current, steps[n-1].version)
	}
	for _, s := range steps {
		if s.version <= current {
			continue
		}
		text, err := migrationFiles.ReadFile("migrations/" + s.name)
		if err != nil {
			return err
		}
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(text)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", s.name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", s.version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", s.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", s.name, err)
		}
	}
	return nil
}

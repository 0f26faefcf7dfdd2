package inventory

// The read side of the inventory: what the web UI, the JSON API and the
// export command ask, in query.go (what the others share, and counts),
// hosts.go, attributes.go and history.go. Every query there runs on the
// read-only pool; nothing in those files writes. Sorting is restricted to an allow-list of columns
// (AttrSortColumns) mapped to SQL expressions, so no user text ever becomes
// SQL; filters are bound parameters.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
)

// DefaultFile is the inventory's file name inside the collector's data directory.
const DefaultFile = "inventory.db"

// severityCase is the SQL expression of the rank in status.BySeverity of
// the status held in the integer column col (0 for Down ... 5 for Up; a
// value outside the six ranks as Unknown, as status.Severity does).
func severityCase(col string) string {
	var b strings.Builder
	b.WriteString("CASE " + col)
	for rank, st := range status.BySeverity {
		fmt.Fprintf(&b, " WHEN %d THEN %d", int(st), rank)
	}
	fmt.Fprintf(&b, " ELSE %d END", status.Unknown.Severity())
	return b.String()
}

// ErrNotFound is returned (wrapped) when a host, attribute or user does not exist.
var ErrNotFound = errors.New("not found")

// StatusCounts counts attributes per status. The index is a status.Status.
type StatusCounts [6]int

// Total is the number of attributes counted.
func (c StatusCounts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Worst is the most severe status with a non-zero count (status.BySeverity:
// Down, Alert, Unknown, Testing, Admin Down, Up); Unknown when c is empty.
func (c StatusCounts) Worst() status.Status {
	for _, s := range status.BySeverity {
		if c[s] > 0 {
			return s
		}
	}
	return status.Unknown
}

// MaxPageRows caps AttrQuery.Rows.
const MaxPageRows = 500

func ms(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// likePattern makes a case-insensitive LIKE pattern that matches t as a
// literal substring (with ESCAPE '\').
func likePattern(t string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(t)) + "%"
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if err2 := rows.Close(); err == nil {
		err = err2
	}
	return err
}

// countsBy counts live attributes per status grouped by host_id (or one
// group 0 when group is "0").
func (db *DB) countsBy(ctx context.Context, group, where string, args ...any) (map[int64]StatusCounts, error) {
	q := `SELECT ` + group + `, status, count(*) FROM attributes a WHERE gone = 0 AND ` + Counted("a") + ` ` + where + ` GROUP BY 1, 2`
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count statuses: %w", err)
	}
	out := map[int64]StatusCounts{}
	for rows.Next() {
		var id int64
		var st, n int
		if err := rows.Scan(&id, &st, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count statuses: %w", err)
		}
		c := out[id]
		if st < 0 || st >= len(c) {
			st = int(status.Unknown)
		}
		c[st] += n
		out[id] = c
	}
	return out, closeRows(rows)
}

// StatusTotals counts every live attribute of every host per status.
func (db *DB) StatusTotals(ctx context.Context) (StatusCounts, error) {
	c, err := db.countsBy(ctx, "0", "")
	return c[0], err
}

// KindCounts is the per-status count of one attribute kind over all hosts:
// a row of the overview of all hosts by attribute state.
type KindCounts struct {
	Kind   string
	Counts StatusCounts
}

// StatusByKind counts live attributes per kind and status, kinds by name.
func (db *DB) StatusByKind(ctx context.Context) ([]KindCounts, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT kind, status, count(*) FROM attributes a WHERE gone = 0 AND `+Counted("a")+` GROUP BY 1, 2 ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("count by kind: %w", err)
	}
	var out []KindCounts
	for rows.Next() {
		var k string
		var st, n int
		if err := rows.Scan(&k, &st, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count by kind: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Kind != k {
			out = append(out, KindCounts{Kind: k})
		}
		if st < 0 || st > 5 {
			st = int(status.Unknown)
		}
		out[len(out)-1].Counts[st] += n
	}
	return out, closeRows(rows)
}

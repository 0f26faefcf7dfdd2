package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Trap is one stored SNMP notification.
type Trap struct {
	ID         int64
	At         time.Time // when the agent received it
	Received   time.Time // when the collector journaled it
	Agent      string
	Host       string // "" when the source matches no target
	Source     string
	SourceFrom string // udp, snmpTrapAddress, agent-addr
	From       string
	Version    int // 1, 2 (v2c), 3
	Inform     bool
	User       string
	OID        string
	Name       string // MODULE::name, "" when unknown
	Uptime     uint32
	VarBinds   []TrapVarBind
	Enterprise string
	Generic    int
	Specific   int
	Truncated  int
}

// TrapVarBind is one variable of a stored trap.
type TrapVarBind struct {
	OID   string `json:"oid"`
	Name  string `json:"name,omitempty"`
	Type  string `json:"type"`
	Value string `json:"value"`
	Hex   bool   `json:"hex,omitempty"`
}

// TrapInsert is a trap to store with its place in the agent's stream,
// which makes the insert idempotent (journal replay).
type TrapInsert struct {
	Epoch uint64
	Seq   uint64
	Index int
	Trap  Trap
}

func insertTraps(ctx context.Context, tx *sql.Tx, agent string, traps []TrapInsert) (int, error) {
	if len(traps) == 0 {
		return 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO traps(at, received_at, agent, epoch, seq, idx, host, source, source_from,
		from_addr, version, inform, user, oid, name, uptime, varbinds, enterprise, generic, specific, truncated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("ingest traps: %w", err)
	}
	defer stmt.Close()
	n := 0
	for _, ti := range traps {
		t := &ti.Trap
		vbs := t.VarBinds
		if vbs == nil {
			vbs = []TrapVarBind{}
		}
		js, err := json.Marshal(vbs)
		if err != nil {
			return n, fmt.Errorf("ingest trap: %w", err)
		}
		res, err := stmt.ExecContext(ctx, t.At.UnixMilli(), t.Received.UnixMilli(), agent, int64(ti.Epoch), int64(ti.Seq), ti.Index,
			t.Host, t.Source, t.SourceFrom, t.From, t.Version, t.Inform, t.User, t.OID, t.Name, int64(t.Uptime), string(js),
			t.Enterprise, t.Generic, t.Specific, t.Truncated)
		if err != nil {
			return n, fmt.Errorf("ingest trap %s from %s: %w", t.OID, t.Source, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}

// TrapQuery selects traps, newest first, one page at a time.
type TrapQuery struct {
	Host string // exact host name; "" any
	// Unknown selects only traps from sources no target matches.
	Unknown bool
	// OID matches the trap OID exactly or as a prefix at a sub-identifier
	// boundary (1.3.6.1.4.1.9 matches every Cisco notification); "" any.
	OID string
	// Name matches the trap name as a case-insensitive substring
	// ("linkDown", "IF-MIB::"); "" any.
	Name         string
	Since, Until time.Time // zero: unbounded
	Page         int       // from 1
	Rows         int       // per page, at most MaxPageRows; default 50
}

// TrapPage is one page of traps and the number of traps that match.
type TrapPage struct {
	Traps []Trap
	Total int
	Page  int
	Rows  int
}

// QueryTraps returns the page of traps that q selects.
func (db *DB) QueryTraps(ctx context.Context, q TrapQuery) (TrapPage, error) {
	if q.Rows <= 0 {
		q.Rows = 50
	}
	q.Rows = min(q.Rows, MaxPageRows)
	q.Page = max(q.Page, 1)
	var where []string
	var args []any
	switch {
	case q.Unknown:
		where = append(where, "host = ''")
	case q.Host != "":
		where = append(where, "host = ?")
		args = append(args, q.Host)
	}
	if q.OID != "" {
		oid := strings.TrimPrefix(q.OID, ".")
		where = append(where, "(oid = ? OR substr(oid, 1, ?) = ?)")
		args = append(args, oid, len(oid)+1, oid+".")
	}
	if q.Name != "" {
		where = append(where, `lower(name) LIKE ? ESCAPE '\'`)
		args = append(args, likePattern(q.Name))
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, q.Since.UnixMilli())
	}
	if !q.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, q.Until.UnixMilli())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	page := TrapPage{Page: q.Page, Rows: q.Rows}
	if err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM traps"+cond, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count traps: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, at, received_at, agent, host, source, source_from, from_addr, version, inform, user,
		oid, name, uptime, varbinds, enterprise, generic, specific, truncated FROM traps`+cond+` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, q.Rows, (q.Page-1)*q.Rows)...)
	if err != nil {
		return page, fmt.Errorf("query traps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t Trap
		var at, recv, uptime int64
		var vbs string
		if err := rows.Scan(&t.ID, &at, &recv, &t.Agent, &t.Host, &t.Source, &t.SourceFrom, &t.From, &t.Version, &t.Inform, &t.User,
			&t.OID, &t.Name, &uptime, &vbs, &t.Enterprise, &t.Generic, &t.Specific, &t.Truncated); err != nil {
			return page, fmt.Errorf("query traps: %w", err)
		}
		t.At, t.Received, t.Uptime = ms(at), ms(recv), uint32(uptime)
		if err := json.Unmarshal([]byte(vbs), &t.VarBinds); err != nil {
			return page, fmt.Errorf("trap %d varbinds: %w", t.ID, err)
		}
		page.Traps = append(page.Traps, t)
	}
	return page, closeRows(rows)
}

// TrapCount is how many traps a host has (Host "" for unknown sources).
type TrapCount struct {
	Host  string
	Count int64
}

// TrapCounts returns the number of stored traps per host.
func (db *DB) TrapCounts(ctx context.Context) ([]TrapCount, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT host, count(*) FROM traps GROUP BY host ORDER BY host`)
	if err != nil {
		return nil, fmt.Errorf("trap counts: %w", err)
	}
	defer rows.Close()
	var out []TrapCount
	for rows.Next() {
		var c TrapCount
		if err := rows.Scan(&c.Host, &c.Count); err != nil {
			return nil, fmt.Errorf("trap counts: %w", err)
		}
		out = append(out, c)
	}
	return out, closeRows(rows)
}

// PruneTraps deletes the traps received before cutoff, in batches (the
// writer is never held long), and returns how many.
func (db *DB) PruneTraps(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		res, err := db.w.ExecContext(ctx, `DELETE FROM traps WHERE id IN (SELECT id FROM traps WHERE at < ? LIMIT ?)`, cutoff.UnixMilli(), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune traps: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune traps: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// KeepTraps prunes the traps older than retention now and then every
// PruneInterval until ctx ends (retention 0: it returns at once, keeping
// everything). now is the clock (nil: time.Now). A failed pruning is
// logged and tried again at the next interval.
func (db *DB) KeepTraps(ctx context.Context, retention time.Duration, now func() time.Time, log *slog.Logger) error {
	if retention <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(PruneInterval)
	defer t.Stop()
	for {
		n, err := db.PruneTraps(ctx, now().Add(-retention))
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Error("prune traps", "err", err)
		case n > 0:
			log.Info("traps pruned", "deleted", n, "older_than", retention)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// InterfaceByIndex returns the key of host's interface attribute whose
// ifIndex (as the agent last described it) is index, or ErrNotFound.
func (db *DB) InterfaceByIndex(ctx context.Context, host string, index uint32) (string, error) {
	var key string
	err := db.r.QueryRowContext(ctx, `SELECT a.key FROM attributes a JOIN hosts h ON h.id = a.host_id
		WHERE h.name = ? AND a.kind = 'interface' AND a.gone = 0 AND json_extract(a.props, '$.ifIndex') = ?
		ORDER BY a.updated_at DESC LIMIT 1`, host, fmt.Sprint(index)).Scan(&key)
	if err == sql.ErrNoRows {
		return "", fmt.Errorf("host %s ifIndex %d: %w", host, index, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("host %s ifIndex %d: %w", host, index, err)
	}
	return key, nil
}

package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// AlertChange is an alert that started firing or resolved since the last
// SyncAlertState.
type AlertChange struct {
	Fingerprint string
	Alert       string // JSON of the alert (for a resolved one: as last seen)
	Resolved    bool
}

// OutboxItem is a notification to deliver to one target.
type OutboxItem struct {
	Target string
	Body   []byte
}

// OutboxRow is a queued notification.
type OutboxRow struct {
	ID       int64
	Target   string
	Body     []byte
	Attempts int
}

// MaxOutbox bounds the notifications kept for delivery: beyond it the
// oldest are dropped (and counted by the caller), so an unreachable webhook
// during a storm cannot grow the database without end.
const MaxOutbox = 100_000

// SyncAlertState compares firing (fingerprint → alert JSON) with the state
// saved by the previous call, saves the new state, and queues the items
// notify returns for the changes and stores the events it returns (the
// alerts' history), all in one transaction: each change is queued
// exactly once, across restarts. The acknowledgement of an alert that
// resolves is removed. It returns the changes and how many queued items
// were dropped to keep the outbox within MaxOutbox.
func (db *DB) SyncAlertState(ctx context.Context, firing map[string]string, now time.Time, notify func([]AlertChange) ([]OutboxItem, []Event)) ([]AlertChange, int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("alert state: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT fingerprint, alert FROM alert_state`)
	if err != nil {
		return nil, 0, fmt.Errorf("alert state: %w", err)
	}
	old := map[string]string{}
	for rows.Next() {
		var fp, a string
		if err := rows.Scan(&fp, &a); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("alert state: %w", err)
		}
		old[fp] = a
	}
	if err := closeRows(rows); err != nil {
		return nil, 0, fmt.Errorf("alert state: %w", err)
	}
	// Changes are written with one statement each (rows as a JSON
	// parameter): a storm of 100,000 changes keeps the writer for a short
	// time, not for 100,000 statements.
	var changes []AlertChange
	added := map[string]string{}
	var gone, goneIDs []string
	for fp, a := range firing {
		if _, ok := old[fp]; ok {
			continue
		}
		changes = append(changes, AlertChange{Fingerprint: fp, Alert: a})
		added[fp] = a
	}
	for fp, a := range old {
		if _, ok := firing[fp]; ok {
			continue
		}
		changes = append(changes, AlertChange{Fingerprint: fp, Alert: a, Resolved: true})
		gone, goneIDs = append(gone, fp), append(goneIDs, AlertID(fp))
	}
	if len(added) > 0 {
		b, err := json.Marshal(added)
		if err != nil {
			return nil, 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_state(fingerprint, alert, since) SELECT key, value, ? FROM json_each(?)`, now.UnixMilli(), string(b)); err != nil {
			return nil, 0, fmt.Errorf("alert state: %w", err)
		}
	}
	if len(gone) > 0 {
		b, _ := json.Marshal(gone)
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_state WHERE fingerprint IN (SELECT value FROM json_each(?))`, string(b)); err != nil {
			return nil, 0, fmt.Errorf("alert state: %w", err)
		}
		b, _ = json.Marshal(goneIDs)
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_acks WHERE alert_id IN (SELECT value FROM json_each(?))`, string(b)); err != nil {
			return nil, 0, fmt.Errorf("alert acks: %w", err)
		}
	}
	dropped := 0
	if len(changes) > 0 {
		items, events := notify(changes)
		if len(events) > 0 {
			type row struct {
				At                         int64
				Kind, Agent, Host, Message string
			}
			rows := make([]row, len(events))
			for i, e := range events {
				rows[i] = row{e.At.UnixMilli(), e.Kind, e.Agent, e.Host, safetext.Line(e.Message, safetext.MaxText)}
			}
			b, err := json.Marshal(rows)
			if err != nil {
				return nil, 0, err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO events(at, kind, agent, host, message)
				SELECT value->>'At', value->>'Kind', value->>'Agent', value->>'Host', value->>'Message' FROM json_each(?)`, string(b)); err != nil {
				return nil, 0, fmt.Errorf("alert events: %w", err)
			}
		}
		for _, it := range items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_outbox(target, body, next_at, created_at) VALUES (?, ?, ?, ?)`,
				it.Target, it.Body, now.UnixMilli(), now.UnixMilli()); err != nil {
				return nil, 0, fmt.Errorf("alert outbox: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_outbox WHERE id IN (SELECT id FROM alert_outbox ORDER BY id DESC LIMIT -1 OFFSET ?)`, MaxOutbox)
		if err != nil {
			return nil, 0, fmt.Errorf("alert outbox: %w", err)
		}
		n, _ := res.RowsAffected()
		dropped = int(n)
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("alert state: %w", err)
	}
	return changes, dropped, nil
}

// DueOutbox returns up to limit notifications due at now, oldest first.
func (db *DB) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxRow, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, target, body, attempts FROM alert_outbox WHERE next_at <= ? ORDER BY id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("alert outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		var r OutboxRow
		if err := rows.Scan(&r.ID, &r.Target, &r.Body, &r.Attempts); err != nil {
			return nil, fmt.Errorf("alert outbox: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OutboxDone removes a delivered notification.
func (db *DB) OutboxDone(ctx context.Context, id int64) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM alert_outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("alert outbox: %w", err)
	}
	return nil
}

// OutboxRetry records a failed attempt and when to try again.
func (db *DB) OutboxRetry(ctx context.Context, id int64, next time.Time, reason string) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE alert_outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?`,
		next.UnixMilli(), safetext.Line(reason, safetext.MaxText), id); err != nil {
		return fmt.Errorf("alert outbox: %w", err)
	}
	return nil
}

// OutboxLen counts the queued notifications.
func (db *DB) OutboxLen(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM alert_outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("alert outbox: %w", err)
	}
	return n, nil
}

package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/status"
)

// Failing is an attribute in a failing state (Down or Alert) that counts
// in roll-ups (unused ports left out: see Counted), with what alert rules
// match on.
type Failing struct {
	Host, Agent     string
	Key, Kind, Name string
	Status          status.Status
	Since           time.Time
	Reason          string
	Props           string // JSON object of the attribute's properties
	// Rule names the alert rule that holds the attribute's status (a
	// threshold's Alert, absent data's Unknown); "" when the status is the
	// agent's.
	Rule string
}

// FailingAttributes returns every live attribute that is Down or Alert.
// It reads only the failing ones: a network in good health costs nothing.
func (db *DB) FailingAttributes(ctx context.Context) ([]Failing, error) {
	return db.attributesWhere(ctx, `a.status IN (?, ?)`, int(status.Down), int(status.Alert))
}

// NotUpAttributes returns every live attribute whose status is not Up
// (unused ports left out), for rules on a status held for a time.
func (db *DB) NotUpAttributes(ctx context.Context) ([]Failing, error) {
	return db.attributesWhere(ctx, `a.status != ?`, int(status.Up))
}

func (db *DB) attributesWhere(ctx context.Context, cond string, args ...any) ([]Failing, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT h.name, h.agent, a.key, a.kind, a.name, a.status, a.status_since, a.status_reason, a.props, a.rule_name
		FROM attributes a JOIN hosts h ON h.id = a.host_id
		WHERE a.gone = 0 AND `+cond+` AND `+Counted("a"), args...)
	if err != nil {
		return nil, fmt.Errorf("failing attributes: %w", err)
	}
	defer rows.Close()
	var out []Failing
	for rows.Next() {
		var f Failing
		var st int
		var since int64
		if err := rows.Scan(&f.Host, &f.Agent, &f.Key, &f.Kind, &f.Name, &st, &since, &f.Reason, &f.Props, &f.Rule); err != nil {
			return nil, fmt.Errorf("failing attributes: %w", err)
		}
		f.Status, f.Since = status.Status(st), ms(since)
		out = append(out, f)
	}
	return out, rows.Err()
}

// RuleTarget is a live attribute as alert rules select it.
type RuleTarget struct {
	Host, Agent     string
	Key, Kind, Name string
	Props           string // JSON object of strings
	Interval        time.Duration
	Created         time.Time
}

// RuleTargets calls fn for every live attribute, in no order, without
// holding them all in memory.
func (db *DB) RuleTargets(ctx context.Context, fn func(RuleTarget) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT h.name, h.agent, a.key, a.kind, a.name, a.props, a.interval_s, a.created_at
		FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE a.gone = 0`)
	if err != nil {
		return fmt.Errorf("rule targets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t RuleTarget
		var iv, created int64
		if err := rows.Scan(&t.Host, &t.Agent, &t.Key, &t.Kind, &t.Name, &t.Props, &iv, &created); err != nil {
			return fmt.Errorf("rule targets: %w", err)
		}
		t.Interval, t.Created = time.Duration(iv)*time.Second, ms(created)
		if err := fn(t); err != nil {
			return err
		}
	}
	return rows.Err()
}

// RuleHold is an attribute held in a status by an alert rule.
type RuleHold struct {
	Host, Key string
	Rule      string // "" in SetRuleHolds: release the attribute
	Status    status.Status
	Reason    string
}

// RuleHolds returns the attributes alert rules hold, as saved.
func (db *DB) RuleHolds(ctx context.Context) ([]RuleHold, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT h.name, a.key, a.rule_name, a.rule_status, a.rule_reason
		FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE a.rule_name != ''`)
	if err != nil {
		return nil, fmt.Errorf("rule holds: %w", err)
	}
	defer rows.Close()
	var out []RuleHold
	for rows.Next() {
		var r RuleHold
		var st int
		if err := rows.Scan(&r.Host, &r.Key, &r.Rule, &st, &r.Reason); err != nil {
			return nil, fmt.Errorf("rule holds: %w", err)
		}
		r.Status = status.Status(st)
		out = append(out, r)
	}
	return out, rows.Err()
}

// holdChunk is how many holds one transaction of SetRuleHolds writes, so
// a storm does not keep the single writer (and ingest) waiting for long.
const holdChunk = 2000

// SetRuleHolds holds attributes in a rule's status or releases them
// (Rule ""), in transactions of holdChunk. The status shown changes only
// where the agent reports Up (see effectiveStatus); each change is a
// status_events row, as for a status the agent reports. It returns how
// many statuses changed. Attributes that no longer exist are skipped.
func (db *DB) SetRuleHolds(ctx context.Context, holds []RuleHold, now time.Time) (int, error) {
	changed := 0
	for len(holds) > 0 {
		n := min(len(holds), holdChunk)
		c, err := db.setRuleHolds(ctx, holds[:n], now)
		changed += c
		if err != nil {
			return changed, err
		}
		holds = holds[n:]
	}
	return changed, nil
}

func (db *DB) setRuleHolds(ctx context.Context, holds []RuleHold, now time.Time) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("rule holds: %w", err)
	}
	defer tx.Rollback()
	sel, err := tx.PrepareContext(ctx, `SELECT a.id, a.status, a.reported_status, a.reported_reason FROM attributes a
		WHERE a.host_id = (SELECT id FROM hosts WHERE name = ?) AND a.key = ?`)
	if err != nil {
		return 0, fmt.Errorf("rule holds: %w", err)
	}
	defer sel.Close()
	upd, err := tx.PrepareContext(ctx, `UPDATE attributes SET rule_name = ?, rule_status = ?, rule_reason = ?, status_reason = ?, status = ?,
		status_since = CASE WHEN status != ? THEN ? ELSE status_since END, updated_at = CASE WHEN status != ? THEN ? ELSE updated_at END WHERE id = ?`)
	if err != nil {
		return 0, fmt.Errorf("rule holds: %w", err)
	}
	defer upd.Close()
	ev, err := tx.PrepareContext(ctx, `INSERT INTO status_events(attr_id, at, old_status, new_status, reason) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("rule holds: %w", err)
	}
	defer ev.Close()
	at := now.UnixMilli()
	changed := 0
	for _, h := range holds {
		var id int64
		var old, reported int
		var reportedReason string
		err := sel.QueryRowContext(ctx, h.Host, h.Key).Scan(&id, &old, &reported, &reportedReason)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return changed, fmt.Errorf("rule holds %s/%s: %w", h.Host, h.Key, err)
		}
		if h.Rule == "" {
			h.Status, h.Reason = status.Unknown, ""
		}
		h.Reason = safetext.Line(h.Reason, safetext.MaxText)
		st, reason := effectiveStatus(status.Status(reported), reportedReason, h.Rule, h.Status, h.Reason)
		if _, err := upd.ExecContext(ctx, h.Rule, int(h.Status), h.Reason, reason, int(st), int(st), at, int(st), at, id); err != nil {
			return changed, fmt.Errorf("rule holds %s/%s: %w", h.Host, h.Key, err)
		}
		if status.Status(old) == st {
			continue
		}
		changed++
		if _, err := ev.ExecContext(ctx, id, at, old, int(st), reason); err != nil {
			return changed, fmt.Errorf("rule holds %s/%s: %w", h.Host, h.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("rule holds: %w", err)
	}
	return changed, nil
}

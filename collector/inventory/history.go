package inventory

// Reading history: status changes and the collector's system events.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
)

// StatusChange is one row of the status history.
type StatusChange struct {
	ID      int64
	At      time.Time
	AttrID  int64
	Host    string
	AttrKey string
	Name    string
	Old     status.Status
	New     status.Status
	Reason  string
}

// ChangeQuery selects status history rows, newest first.
type ChangeQuery struct {
	Host   string // "" = all hosts
	AttrID int64  // 0 = all attributes
	Before int64  // only rows with id < Before (keyset paging); 0 = newest
	Limit  int    // 0 means 100, capped at 1000
}

// StatusChanges returns status transitions, newest first.
func (db *DB) StatusChanges(ctx context.Context, q ChangeQuery) ([]StatusChange, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	where := []string{"1=1"}
	var args []any
	if q.Host != "" {
		where = append(where, "h.name = ?")
		args = append(args, q.Host)
	}
	if q.AttrID != 0 {
		where = append(where, "e.attr_id = ?")
		args = append(args, q.AttrID)
	}
	if q.Before > 0 {
		where = append(where, "e.id < ?")
		args = append(args, q.Before)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT e.id, e.at, e.attr_id, h.name, a.key, a.name, e.old_status, e.new_status, e.reason
		FROM status_events e JOIN attributes a ON a.id = e.attr_id JOIN hosts h ON h.id = a.host_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY e.at DESC, e.id DESC LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("status history: %w", err)
	}
	out := []StatusChange{}
	for rows.Next() {
		var c StatusChange
		var at int64
		var o, n int
		if err := rows.Scan(&c.ID, &at, &c.AttrID, &c.Host, &c.AttrKey, &c.Name, &o, &n, &c.Reason); err != nil {
			rows.Close()
			return nil, fmt.Errorf("status history: %w", err)
		}
		c.At, c.Old, c.New = ms(at), status.Status(o), status.Status(n)
		out = append(out, c)
	}
	return out, closeRows(rows)
}

// SystemEvent is one row of the collector's own event log (an agent
// dropped data, was enrolled or revoked...).
type SystemEvent struct {
	ID      int64
	At      time.Time
	Kind    string
	Agent   string
	Host    string
	Message string
}

// SystemEvents returns the newest system events, newest first; limit 0
// means 50, capped at 1000.
func (db *DB) SystemEvents(ctx context.Context, limit int) ([]SystemEvent, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, at, kind, agent, host, message FROM events ORDER BY at DESC, id DESC LIMIT ?`, min(limit, 1000))
	if err != nil {
		return nil, fmt.Errorf("system events: %w", err)
	}
	out := []SystemEvent{}
	for rows.Next() {
		var e SystemEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Agent, &e.Host, &e.Message); err != nil {
			rows.Close()
			return nil, fmt.Errorf("system events: %w", err)
		}
		e.At = ms(at)
		out = append(out, e)
	}
	return out, closeRows(rows)
}

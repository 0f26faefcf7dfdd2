package inventory

// Reading history: status changes and the collector's system events.

import (
	"context"
	"fmt"
	"log/slog"
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

// pruneBatch is how many status changes one delete statement removes, so
// the writer is never held long.
const pruneBatch = 10000

// PruneStatusHistory deletes the status changes recorded before before, in
// batches, and returns how many it deleted.
func (db *DB) PruneStatusHistory(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := db.w.ExecContext(ctx, `DELETE FROM status_events WHERE id IN (SELECT id FROM status_events WHERE at < ? LIMIT ?)`,
			before.UnixMilli(), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune status history: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune status history: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// PruneInterval is how often KeepStatusHistory prunes.
const PruneInterval = time.Hour

// KeepStatusHistory prunes the status changes older than retention now and
// then every PruneInterval until ctx ends (retention 0: it returns at
// once, keeping everything). now is the clock (nil: time.Now). A failed
// pruning is logged and tried again at the next interval.
func (db *DB) KeepStatusHistory(ctx context.Context, retention time.Duration, now func() time.Time, log *slog.Logger) error {
	if retention <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(PruneInterval)
	defer t.Stop()
	for {
		n, err := db.PruneStatusHistory(ctx, now().Add(-retention))
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Error("prune status history", "err", err)
		case n > 0:
			log.Info("status history pruned", "deleted", n, "older_than", retention)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

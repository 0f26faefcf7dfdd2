package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// RefusalKind names what the collector refused from an agent. The set is
// open: the ingest side defines kinds as it learns to refuse things; these
// are the ones the protocol and the quotas use.
type RefusalKind string

// Refusal kinds.
const (
	RefusedFrame     RefusalKind = "frame"      // a frame that could not be decoded or applied
	RefusedOversize  RefusalKind = "oversize"   // a frame over the negotiated limit
	RefusedClockSkew RefusalKind = "clock-skew" // samples too far ahead of the collector's clock
	RefusedHost      RefusalKind = "host"       // a host outside the agent's patterns
	RefusedQuota     RefusalKind = "quota"      // a per-agent or per-host quota exceeded
)

// Refusal is one row of the agent_refusals table: how many units of one
// kind the collector refused from an agent, and the latest reason.
type Refusal struct {
	Agent      string
	Kind       RefusalKind
	Count      int64
	FirstAt    time.Time
	LastAt     time.Time
	LastReason string
}

// RecordRefusal adds n to the agent's count of refusals of kind and keeps
// reason (cleaned and cut to safetext.MaxText) as the latest one unless a
// later refusal is already recorded. An
// unknown agent is an error (the row references agents).
func (db *DB) RecordRefusal(ctx context.Context, agent string, kind RefusalKind, n int64, reason string, at time.Time) error {
	if n <= 0 {
		return nil
	}
	reason = safetext.Text(reason, safetext.MaxText)
	_, err := db.w.ExecContext(ctx, `INSERT INTO agent_refusals(agent, kind, count, first_at, last_at, last_reason)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(agent, kind) DO UPDATE SET count = count + excluded.count,
			last_at = max(last_at, excluded.last_at),
			last_reason = CASE WHEN excluded.last_at >= last_at THEN excluded.last_reason ELSE last_reason END`,
		agent, string(kind), n, at.UnixMilli(), at.UnixMilli(), reason)
	if err != nil {
		return fmt.Errorf("record refusal for agent %s: %w", agent, err)
	}
	return nil
}

// Refusals returns every refusal row, by agent then kind.
func (db *DB) Refusals(ctx context.Context) ([]Refusal, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT agent, kind, count, first_at, last_at, last_reason
		FROM agent_refusals ORDER BY agent, kind`)
	if err != nil {
		return nil, fmt.Errorf("list refusals: %w", err)
	}
	defer rows.Close()
	var out []Refusal
	for rows.Next() {
		var r Refusal
		var kind string
		var first, last int64
		if err := rows.Scan(&r.Agent, &kind, &r.Count, &first, &last, &r.LastReason); err != nil {
			return nil, fmt.Errorf("list refusals: %w", err)
		}
		r.Kind, r.FirstAt, r.LastAt = RefusalKind(kind), ms(first), ms(last)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetClockSkew records the agent's clock offset as measured by the
// collector (collector's clock minus the agent's).
func (db *DB) SetClockSkew(ctx context.Context, agent string, skew time.Duration) error {
	return db.updateAgent(ctx, "set clock skew of agent", agent,
		`UPDATE agents SET clock_skew_ms = ? WHERE name = ?`, skew.Milliseconds(), agent)
}

// ClockSkew returns the agent's last measured clock offset (0 if never).
func (db *DB) ClockSkew(ctx context.Context, agent string) (time.Duration, error) {
	var ms int64
	if err := db.r.QueryRowContext(ctx, `SELECT clock_skew_ms FROM agents WHERE name = ?`, agent).Scan(&ms); err != nil {
		return 0, fmt.Errorf("clock skew of agent %s: %w", agent, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

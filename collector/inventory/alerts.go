package inventory

import (
	"context"
	"fmt"
	"time"

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
}

// FailingAttributes returns every live attribute that is Down or Alert.
// It reads only the failing ones: a network in good health costs nothing.
func (db *DB) FailingAttributes(ctx context.Context) ([]Failing, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT h.name, h.agent, a.key, a.kind, a.name, a.status, a.status_since, a.status_reason, a.props
		FROM attributes a JOIN hosts h ON h.id = a.host_id
		WHERE a.gone = 0 AND a.status IN (?, ?) AND `+Counted("a"), int(status.Down), int(status.Alert))
	if err != nil {
		return nil, fmt.Errorf("failing attributes: %w", err)
	}
	defer rows.Close()
	var out []Failing
	for rows.Next() {
		var f Failing
		var st int
		var since int64
		if err := rows.Scan(&f.Host, &f.Agent, &f.Key, &f.Kind, &f.Name, &st, &since, &f.Reason, &f.Props); err != nil {
			return nil, fmt.Errorf("failing attributes: %w", err)
		}
		f.Status, f.Since = status.Status(st), ms(since)
		out = append(out, f)
	}
	return out, rows.Err()
}

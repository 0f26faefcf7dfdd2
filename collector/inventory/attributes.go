package inventory

// Reading attributes: one page of a host's attributes, one attribute by
// id or key, a host's NTP peers.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
)

// DSInfo is one data source of an attribute's archive, as stored in the
// attributes.ds JSON column.
type DSInfo struct {
	Name string   `json:"name"`
	Kind string   `json:"kind"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}

// AttrInfo is one attribute of a host.
type AttrInfo struct {
	ID           int64
	HostID       int64
	Host         string
	Key          string
	Kind         string
	Name         string
	Descr        string
	Props        map[string]string
	Interval     time.Duration
	DS           []DSInfo
	Archive      string // RRD path relative to the data directory; "" when none
	Status       status.Status
	StatusReason string
	StatusSince  time.Time // zero when never changed
	Gone         bool
	UpdatedAt    time.Time
}

// AttrSortColumns is the allow-list of sort keys for AttrQuery.Sort and the
// SQL each one orders by. "key" and "name" order naturally ("ge-0/0/2"
// before "ge-0/0/10", see NaturalCompare); "status" orders by severity
// (ascending: Down first, Up last).
var AttrSortColumns = map[string]string{
	"key":    "a.key COLLATE " + naturalCollation,
	"name":   "a.name COLLATE " + naturalCollation,
	"kind":   "a.kind",
	"descr":  "a.descr",
	"status": severityOrder, // ascending: most severe first
	"since":  "a.status_since",
	"id":     "a.id",
}

// severityOrder sorts attributes by the severity of their status
// (status.BySeverity: Down, Alert, Unknown, Testing, Admin Down, Up).
var severityOrder = severityCase("a.status")

// AttrQuery selects a page of one host's attributes.
type AttrQuery struct {
	Page   int    // 1-based; values < 1 mean 1
	Rows   int    // page size; 0 means 50, capped at MaxPageRows
	Sort   string // a key of AttrSortColumns; "" means "key"
	Desc   bool
	Status *status.Status // only attributes in this status
	Kind   string         // only this kind ("" = all)
	Text   string         // substring of key, name or descr (case-insensitive)
	Gone   bool           // include attributes the device no longer reports
}

// AttrPage is one page of attributes and the paging facts the grid needs.
type AttrPage struct {
	Page      int
	Rows      int
	TotalRows int // rows matching the filter, all pages
	LastPage  int // >= 1
	Items     []AttrInfo
}

const attrCols = `a.id, a.host_id, h.name, a.key, a.kind, a.name, a.descr, a.props, a.interval_s, a.ds, a.archive, a.status, a.status_reason, a.status_since, a.gone, a.updated_at`

func scanAttr(sc interface{ Scan(...any) error }) (AttrInfo, error) {
	var a AttrInfo
	var props, ds string
	var interval, since, updated int64
	var st int
	var gone int
	if err := sc.Scan(&a.ID, &a.HostID, &a.Host, &a.Key, &a.Kind, &a.Name, &a.Descr, &props, &interval, &ds, &a.Archive, &st, &a.StatusReason, &since, &gone, &updated); err != nil {
		return a, err
	}
	a.Status = status.Status(st)
	if !a.Status.Valid() {
		a.Status = status.Unknown
	}
	a.Interval = time.Duration(interval) * time.Second
	a.StatusSince, a.UpdatedAt = ms(since), ms(updated)
	a.Gone = gone != 0
	if props != "" {
		if err := json.Unmarshal([]byte(props), &a.Props); err != nil {
			return a, fmt.Errorf("attribute %d props: %w", a.ID, err)
		}
	}
	if ds != "" {
		if err := json.Unmarshal([]byte(ds), &a.DS); err != nil {
			return a, fmt.Errorf("attribute %d ds: %w", a.ID, err)
		}
	}
	return a, nil
}

// HostAttributes returns one page of a host's attributes as q selects.
// An unknown sort key is an error; a page past the end returns no items.
func (db *DB) HostAttributes(ctx context.Context, hostID int64, q AttrQuery) (AttrPage, error) {
	col := AttrSortColumns["key"]
	if q.Sort != "" {
		c, ok := AttrSortColumns[q.Sort]
		if !ok {
			return AttrPage{}, fmt.Errorf("sort by %q: not a sortable column", q.Sort)
		}
		col = c
	}
	if q.Rows <= 0 {
		q.Rows = 50
	}
	if q.Rows > MaxPageRows {
		q.Rows = MaxPageRows
	}
	if q.Page < 1 {
		q.Page = 1
	}
	where := []string{"a.host_id = ?"}
	args := []any{hostID}
	if !q.Gone {
		where = append(where, "a.gone = 0")
	}
	if q.Status != nil {
		where = append(where, "a.status = ?")
		args = append(args, int(*q.Status))
	}
	if q.Kind != "" {
		where = append(where, "a.kind = ?")
		args = append(args, q.Kind)
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(t)) + "%"
		where = append(where, `(lower(a.key) LIKE ? ESCAPE '\' OR lower(a.name) LIKE ? ESCAPE '\' OR lower(a.descr) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	w := strings.Join(where, " AND ")
	page := AttrPage{Page: q.Page, Rows: q.Rows}
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM attributes a WHERE `+w, args...).Scan(&page.TotalRows); err != nil {
		return page, fmt.Errorf("count attributes: %w", err)
	}
	page.LastPage = max(1, (page.TotalRows+q.Rows-1)/q.Rows)
	page.Items = []AttrInfo{}
	// Past the last page (compared by page number: (Page-1)*Rows would
	// overflow for a huge page and wrap to a valid offset).
	if q.Page > page.LastPage {
		return page, nil
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	sqlText := `SELECT ` + attrCols + ` FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE ` + w +
		` ORDER BY ` + col + ` ` + dir + `, ` + AttrSortColumns["key"] + ` ` + dir + ` LIMIT ? OFFSET ?`
	rows, err := db.r.QueryContext(ctx, sqlText, append(args, q.Rows, (q.Page-1)*q.Rows)...)
	if err != nil {
		return page, fmt.Errorf("list attributes: %w", err)
	}
	for rows.Next() {
		a, err := scanAttr(rows)
		if err != nil {
			rows.Close()
			return page, fmt.Errorf("list attributes: %w", err)
		}
		page.Items = append(page.Items, a)
	}
	return page, closeRows(rows)
}

// Attribute returns one attribute by id, or ErrNotFound.
func (db *DB) Attribute(ctx context.Context, id int64) (AttrInfo, error) {
	a, err := scanAttr(db.r.QueryRowContext(ctx, `SELECT `+attrCols+` FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("attribute %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("attribute %d: %w", id, err)
	}
	return a, nil
}

// AttributeByKey returns the attribute key of host name, or ErrNotFound.
func (db *DB) AttributeByKey(ctx context.Context, host, key string) (AttrInfo, error) {
	a, err := scanAttr(db.r.QueryRowContext(ctx, `SELECT `+attrCols+` FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = ? AND a.key = ?`, host, key))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("attribute %s/%s: %w", host, key, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("attribute %s/%s: %w", host, key, err)
	}
	return a, nil
}

// NTPPeers returns the live ntp-peer attributes of a host, by key. Their
// Props carry what `ntpq -pn` shows (tally, refid, st, t, when, poll,
// reach, delay, offset, jitter).
func (db *DB) NTPPeers(ctx context.Context, hostID int64) ([]AttrInfo, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+attrCols+` FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE a.host_id = ? AND a.kind = 'ntp-peer' AND a.gone = 0 ORDER BY a.key`, hostID)
	if err != nil {
		return nil, fmt.Errorf("ntp peers: %w", err)
	}
	var out []AttrInfo
	for rows.Next() {
		a, err := scanAttr(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("ntp peers: %w", err)
		}
		out = append(out, a)
	}
	return out, closeRows(rows)
}

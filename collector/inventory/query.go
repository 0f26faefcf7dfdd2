package inventory

// The read side of the inventory: what the web UI, the JSON API and the
// export command ask. Every query here runs on the read-only pool; nothing
// in this file writes. Sorting is restricted to an allow-list of columns
// (AttrSortColumns) mapped to SQL expressions, so no user text ever becomes
// SQL; filters are bound parameters.

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

// DefaultFile is the inventory's file name inside the collector's data directory.
const DefaultFile = "inventory.db"

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

// Worst is the most severe status with a non-zero count, in the order
// Down, Alert, Unknown, Testing, Admin Down, Up; Unknown when c is empty.
func (c StatusCounts) Worst() status.Status {
	for _, s := range []status.Status{status.Down, status.Alert, status.Unknown, status.Testing, status.AdminDown, status.Up} {
		if c[s] > 0 {
			return s
		}
	}
	return status.Unknown
}

// HostInfo is a host as the UI lists it, with the counts of its live
// (not gone) attributes per status.
type HostInfo struct {
	ID          int64
	Name        string
	Agent       string
	Address     string
	SysName     string
	SysDescr    string
	SysObjectID string
	Location    string
	Contact     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Counts      StatusCounts
}

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
// SQL each one orders by. "status" orders by severity (ascending: Down
// first, Up last).
var AttrSortColumns = map[string]string{
	"key":    "a.key",
	"name":   "a.name",
	"kind":   "a.kind",
	"descr":  "a.descr",
	"status": severityOrder, // ascending: most severe first
	"since":  "a.status_since",
	"id":     "a.id",
}

// severityOrder sorts statuses by severity as StatusCounts.Worst ranks
// them: Down, Alert, Unknown, Testing, Admin Down, Up.
const severityOrder = "CASE a.status WHEN 3 THEN 0 WHEN 2 THEN 1 WHEN 0 THEN 2 WHEN 4 THEN 3 WHEN 5 THEN 4 ELSE 5 END"

// MaxPageRows caps AttrQuery.Rows.
const MaxPageRows = 500

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

func ms(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

const hostCols = `h.id, h.name, h.agent, h.address, h.sys_name, h.sys_descr, h.sys_object_id, h.location, h.contact, h.created_at, h.updated_at`

func scanHost(sc interface{ Scan(...any) error }) (HostInfo, error) {
	var h HostInfo
	var c, u int64
	err := sc.Scan(&h.ID, &h.Name, &h.Agent, &h.Address, &h.SysName, &h.SysDescr, &h.SysObjectID, &h.Location, &h.Contact, &c, &u)
	h.CreatedAt, h.UpdatedAt = ms(c), ms(u)
	return h, err
}

// Hosts lists every host by name with its per-status attribute counts.
func (db *DB) Hosts(ctx context.Context) ([]HostInfo, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+hostCols+` FROM hosts h ORDER BY h.name`)
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	var hosts []HostInfo
	idx := map[int64]int{}
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list hosts: %w", err)
		}
		idx[h.ID] = len(hosts)
		hosts = append(hosts, h)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	counts, err := db.countsBy(ctx, "host_id", "")
	if err != nil {
		return nil, err
	}
	for id, c := range counts {
		if i, ok := idx[id]; ok {
			hosts[i].Counts = c
		}
	}
	return hosts, nil
}

// HostSortColumns is the allow-list of sort keys for HostQuery.Sort.
// "status" orders by the host's worst live attribute (ascending: Down
// first, Up last, as StatusCounts.Worst ranks them; a host without live
// attributes ranks as Unknown).
var HostSortColumns = map[string]string{
	"name":    "h.name",
	"status":  hostWorstRank(),
	"address": "h.address",
	"updated": "h.updated_at",
}

// worstByRank lists the statuses from the most severe, as
// StatusCounts.Worst ranks them.
var worstByRank = [6]status.Status{status.Down, status.Alert, status.Unknown, status.Testing, status.AdminDown, status.Up}

// worstRank is the rank of st in worstByRank.
func worstRank(st status.Status) int {
	for i, s := range worstByRank {
		if s == st {
			return i
		}
	}
	return 2 // Unknown
}

// liveIn is the SQL test "host h has a live attribute in status st": one
// probe of the index attributes_status(status, host_id), so no host's
// attributes are read one by one.
func liveIn(st status.Status) string {
	return fmt.Sprintf("EXISTS (SELECT 1 FROM attributes a WHERE a.status = %d AND a.host_id = h.id AND a.gone = 0)", int(st))
}

// hostWorstRank is the SQL for the rank in worstByRank of host h's worst
// live attribute; a host without live attributes ranks as Unknown. (An
// attribute status outside the six, which ingest never writes, counts as
// Unknown in StatusCounts but is not seen here.)
func hostWorstRank() string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, st := range worstByRank {
		fmt.Fprintf(&b, " WHEN %s THEN %d", liveIn(st), i)
	}
	fmt.Fprintf(&b, " ELSE %d END", worstRank(status.Unknown))
	return b.String()
}

// hostWorstIs is the SQL test "host h's worst live attribute is in status
// st": no live attribute in a more severe status and one in st (for
// Unknown: or no live attribute at all).
func hostWorstIs(st status.Status) string {
	var conds []string
	r := worstRank(st)
	for _, worse := range worstByRank[:r] {
		conds = append(conds, "NOT "+liveIn(worse))
	}
	has := liveIn(st)
	if st == status.Unknown {
		has = "(" + has + " OR NOT EXISTS (SELECT 1 FROM attributes a WHERE a.host_id = h.id AND a.gone = 0))"
	}
	return strings.Join(append(conds, has), " AND ")
}

// HostQuery selects a page of the host list.
type HostQuery struct {
	Page   int    // 1-based; values < 1 mean 1
	Rows   int    // page size; 0 means DefaultHostRows, capped at MaxPageRows
	Sort   string // a key of HostSortColumns; "" means "name"
	Desc   bool
	Status *status.Status // only hosts whose worst live attribute is in this status
	Text   string         // substring of name, address, sysName, sysDescr or location (case-insensitive)
}

// DefaultHostRows is the host list's page size when HostQuery.Rows is 0.
const DefaultHostRows = 50

// HostPage is one page of the host list and the paging facts the
// overview needs.
type HostPage struct {
	Page      int
	Rows      int
	TotalRows int // hosts matching the filter, all pages
	AllHosts  int // every host, filter or not
	LastPage  int // >= 1
	Items     []HostInfo
}

// likePattern makes a case-insensitive LIKE pattern that matches t as a
// literal substring (with ESCAPE '\').
func likePattern(t string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(t)) + "%"
}

// HostList returns one page of hosts as q selects, each with its
// per-status counts. Filtering, sorting and paging happen in SQL: the
// worst status is found (by index probes per host) only when q filters or
// sorts by it, and the counts are read only for the hosts of the page. An unknown sort key is an error; a page past the end
// returns no items.
func (db *DB) HostList(ctx context.Context, q HostQuery) (HostPage, error) {
	sortKey := q.Sort
	if sortKey == "" {
		sortKey = "name"
	}
	col, ok := HostSortColumns[sortKey]
	if !ok {
		return HostPage{}, fmt.Errorf("sort hosts by %q: not a sortable column", q.Sort)
	}
	if q.Rows <= 0 {
		q.Rows = DefaultHostRows
	}
	q.Rows = min(q.Rows, MaxPageRows)
	q.Page = max(q.Page, 1)
	where := []string{"1=1"}
	var args []any
	if t := strings.TrimSpace(q.Text); t != "" {
		like := likePattern(t)
		where = append(where, `(lower(h.name) LIKE ? ESCAPE '\' OR lower(h.address) LIKE ? ESCAPE '\' OR lower(h.sys_name) LIKE ? ESCAPE '\'`+
			` OR lower(h.sys_descr) LIKE ? ESCAPE '\' OR lower(h.location) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like, like, like)
	}
	if q.Status != nil {
		where = append(where, hostWorstIs(*q.Status))
	}
	w := strings.Join(where, " AND ")
	page := HostPage{Page: q.Page, Rows: q.Rows}
	if err := db.r.QueryRowContext(ctx, `SELECT count(*), (SELECT count(*) FROM hosts) FROM hosts h WHERE `+w, args...).Scan(&page.TotalRows, &page.AllHosts); err != nil {
		return page, fmt.Errorf("count hosts: %w", err)
	}
	page.LastPage = max(1, (page.TotalRows+q.Rows-1)/q.Rows)
	page.Items = []HostInfo{}
	if (q.Page-1)*q.Rows >= page.TotalRows {
		return page, nil
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	order := col + ` ` + dir
	if sortKey != "name" {
		order += `, h.name ` + dir
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+hostCols+` FROM hosts h WHERE `+w+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, q.Rows, (q.Page-1)*q.Rows)...)
	if err != nil {
		return page, fmt.Errorf("list hosts: %w", err)
	}
	idx := map[int64]int{}
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			rows.Close()
			return page, fmt.Errorf("list hosts: %w", err)
		}
		idx[h.ID] = len(page.Items)
		page.Items = append(page.Items, h)
	}
	if err := closeRows(rows); err != nil {
		return page, fmt.Errorf("list hosts: %w", err)
	}
	if len(page.Items) == 0 {
		return page, nil
	}
	ids := make([]any, 0, len(page.Items))
	for _, h := range page.Items {
		ids = append(ids, h.ID)
	}
	counts, err := db.countsBy(ctx, "host_id", "AND host_id IN (?"+strings.Repeat(",?", len(ids)-1)+")", ids...)
	if err != nil {
		return page, err
	}
	for id, c := range counts {
		if i, ok := idx[id]; ok {
			page.Items[i].Counts = c
		}
	}
	return page, nil
}

// HostsByWorst counts every host by the status of its worst live
// attribute (Unknown for a host without live attributes), in SQL.
func (db *DB) HostsByWorst(ctx context.Context) (StatusCounts, error) {
	var c StatusCounts
	rows, err := db.r.QueryContext(ctx, `SELECT `+hostWorstRank()+`, count(*) FROM hosts h GROUP BY 1`)
	if err != nil {
		return c, fmt.Errorf("count hosts by worst status: %w", err)
	}
	for rows.Next() {
		var rank, n int
		if err := rows.Scan(&rank, &n); err != nil {
			rows.Close()
			return c, fmt.Errorf("count hosts by worst status: %w", err)
		}
		st := status.Unknown
		if rank >= 0 && rank < len(worstByRank) {
			st = worstByRank[rank]
		}
		c[st] += n
	}
	if err := closeRows(rows); err != nil {
		return c, fmt.Errorf("count hosts by worst status: %w", err)
	}
	return c, nil
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
	q := `SELECT ` + group + `, status, count(*) FROM attributes WHERE gone = 0 ` + where + ` GROUP BY 1, 2`
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

// HostByName returns one host with its counts, or ErrNotFound.
func (db *DB) HostByName(ctx context.Context, name string) (HostInfo, error) {
	h, err := scanHost(db.r.QueryRowContext(ctx, `SELECT `+hostCols+` FROM hosts h WHERE h.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("host %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return h, fmt.Errorf("host %q: %w", name, err)
	}
	c, err := db.countsBy(ctx, "host_id", "AND host_id = ?", h.ID)
	if err != nil {
		return h, err
	}
	h.Counts = c[h.ID]
	return h, nil
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
	rows, err := db.r.QueryContext(ctx, `SELECT kind, status, count(*) FROM attributes WHERE gone = 0 GROUP BY 1, 2 ORDER BY 1`)
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
	col := "a.key"
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
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	sqlText := `SELECT ` + attrCols + ` FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE ` + w +
		` ORDER BY ` + col + ` ` + dir + `, a.key ` + dir + ` LIMIT ? OFFSET ?`
	rows, err := db.r.QueryContext(ctx, sqlText, append(args, q.Rows, (q.Page-1)*q.Rows)...)
	if err != nil {
		return page, fmt.Errorf("list attributes: %w", err)
	}
	page.Items = []AttrInfo{}
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

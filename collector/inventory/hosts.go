package inventory

// Reading hosts: the list (all, or one page filtered and sorted in SQL),
// one host by name, and counts of hosts by their worst attribute.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
)

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

// liveIn is the SQL test "host h has a live attribute in status st": one
// probe of the index attributes_status(status, host_id), so no host's
// attributes are read one by one.
func liveIn(st status.Status) string {
	return fmt.Sprintf("EXISTS (SELECT 1 FROM attributes a WHERE a.status = %d AND a.host_id = h.id AND a.gone = 0 AND %s)", int(st), Counted("a"))
}

// hostWorstRank is the SQL for the rank in status.BySeverity of host h's worst
// live attribute; a host without live attributes ranks as Unknown. (An
// attribute status outside the six, which ingest never writes, counts as
// Unknown in StatusCounts but is not seen here.)
func hostWorstRank() string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, st := range status.BySeverity {
		fmt.Fprintf(&b, " WHEN %s THEN %d", liveIn(st), i)
	}
	fmt.Fprintf(&b, " ELSE %d END", status.Unknown.Severity())
	return b.String()
}

// hostWorstIs is the SQL test "host h's worst live attribute is in status
// st": no live attribute in a more severe status and one in st (for
// Unknown: or no live attribute at all).
func hostWorstIs(st status.Status) string {
	var conds []string
	for _, worse := range status.BySeverity[:st.Severity()] {
		conds = append(conds, "NOT "+liveIn(worse))
	}
	has := liveIn(st)
	if st == status.Unknown {
		has = "(" + has + " OR NOT EXISTS (SELECT 1 FROM attributes a WHERE a.host_id = h.id AND a.gone = 0 AND " + Counted("a") + "))"
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
	// Past the last page (compared by page number: (Page-1)*Rows would
	// overflow for a huge page and wrap to a valid offset).
	if q.Page > page.LastPage || (q.Page-1)*q.Rows >= page.TotalRows {
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
		if rank >= 0 && rank < len(status.BySeverity) {
			st = status.BySeverity[rank]
		}
		c[st] += n
	}
	if err := closeRows(rows); err != nil {
		return c, fmt.Errorf("count hosts by worst status: %w", err)
	}
	return c, nil
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

package inventory

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "inv.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *DB, q string, args ...any) int64 {
	t.Helper()
	r, err := db.Writer().Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	id, _ := r.LastInsertId()
	return id
}

// seedQuery makes host r1 with 25 interfaces (statuses cycling through the
// six), one ntp-peer and one gone attribute, and host r2 with two attributes.
func seedQuery(t *testing.T, db *DB) (r1, r2 int64) {
	r1 = exec(t, db, `INSERT INTO hosts(name, address, sys_descr, created_at, updated_at) VALUES ('r1', '192.0.2.1', 'router one', 1, 2)`)
	r2 = exec(t, db, `INSERT INTO hosts(name, created_at, updated_at) VALUES ('r2', 1, 1)`)
	for i := 0; i < 25; i++ {
		exec(t, db, `INSERT INTO attributes(host_id, key, kind, name, descr, status, interval_s, ds, props, created_at, updated_at)
			VALUES (?, ?, 'interface', ?, ?, ?, 60, '[{"name":"in_octets","kind":"counter64"}]', '{"ifIndex":"1"}', 1, 1)`,
			r1, fmt.Sprintf("if:ge-0/0/%02d", i), fmt.Sprintf("ge-0/0/%02d", i), fmt.Sprintf("uplink %d", i%3), i%6)
	}
	exec(t, db, `INSERT INTO attributes(host_id, key, kind, name, status, props, created_at, updated_at)
		VALUES (?, 'ntp-peer:192.0.2.9', 'ntp-peer', '192.0.2.9', 1, '{"tally":"*","refid":".GPS."}', 1, 1)`, r1)
	exec(t, db, `INSERT INTO attributes(host_id, key, kind, name, status, gone, created_at, updated_at)
		VALUES (?, 'if:old', 'interface', 'old', 3, 1, 1, 1)`, r1)
	exec(t, db, `INSERT INTO attributes(host_id, key, kind, name, status, created_at, updated_at) VALUES (?, 'host', 'host', 'host', 1, 1, 1)`, r2)
	exec(t, db, `INSERT INTO attributes(host_id, key, kind, name, status, created_at, updated_at) VALUES (?, 'ntp', 'ntp', 'ntp', 2, 1, 1)`, r2)
	return r1, r2
}

func TestHostsAndCounts(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	seedQuery(t, db)
	hosts, err := db.Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 2 || hosts[0].Name != "r1" || hosts[1].Name != "r2" {
		t.Fatalf("hosts = %+v", hosts)
	}
	// 25 interfaces with status i%6: statuses 0 gets 5 (0,6,12,18,24), others 4; plus the ntp-peer Up.
	want := StatusCounts{5, 5, 4, 4, 4, 4}
	if hosts[0].Counts != want || hosts[0].Counts.Total() != 26 {
		t.Errorf("r1 counts = %v, want %v (gone attribute excluded)", hosts[0].Counts, want)
	}
	if hosts[1].Counts != (StatusCounts{0, 1, 1, 0, 0, 0}) || hosts[1].Counts.Worst() != status.Alert {
		t.Errorf("r2 counts = %v worst %v", hosts[1].Counts, hosts[1].Counts.Worst())
	}
	h, err := db.HostByName(ctx, "r1")
	if err != nil || h.Counts != want || h.Address != "192.0.2.1" || h.Counts.Worst() != status.Down {
		t.Errorf("HostByName = %+v, %v", h, err)
	}
	if _, err := db.HostByName(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing host: %v", err)
	}
	tot, err := db.StatusTotals(ctx)
	if err != nil || tot != (StatusCounts{5, 6, 5, 4, 4, 4}) {
		t.Errorf("totals = %v, %v", tot, err)
	}
	kinds, err := db.StatusByKind(ctx)
	if err != nil || len(kinds) != 4 || kinds[1].Kind != "interface" || kinds[1].Counts.Total() != 25 {
		t.Errorf("by kind = %+v, %v", kinds, err)
	}
}

func TestHostAttributesPagingSortingFiltering(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	r1, _ := seedQuery(t, db)
	down := status.Down
	tests := []struct {
		name      string
		q         AttrQuery
		total     int
		lastPage  int
		firstKeys []string
	}{
		{"first page", AttrQuery{Rows: 10}, 26, 3, []string{"if:ge-0/0/00", "if:ge-0/0/01"}},
		{"last page", AttrQuery{Rows: 10, Page: 3}, 26, 3, []string{"if:ge-0/0/20", "if:ge-0/0/21", "if:ge-0/0/22", "if:ge-0/0/23", "if:ge-0/0/24", "ntp-peer:192.0.2.9"}},
		{"past the end", AttrQuery{Rows: 10, Page: 9}, 26, 3, nil},
		{"sort name desc", AttrQuery{Rows: 2, Sort: "name", Desc: true}, 26, 13, []string{"if:ge-0/0/24", "if:ge-0/0/23"}},
		{"sort by severity, then key", AttrQuery{Rows: 3, Sort: "status"}, 26, 9, []string{"if:ge-0/0/03", "if:ge-0/0/09", "if:ge-0/0/15"}},
		{"sort by severity descending", AttrQuery{Rows: 3, Sort: "status", Desc: true}, 26, 9, []string{"ntp-peer:192.0.2.9", "if:ge-0/0/19", "if:ge-0/0/13"}},
		{"filter status", AttrQuery{Status: &down}, 4, 1, []string{"if:ge-0/0/03", "if:ge-0/0/09", "if:ge-0/0/15", "if:ge-0/0/21"}},
		{"filter kind", AttrQuery{Kind: "ntp-peer"}, 1, 1, []string{"ntp-peer:192.0.2.9"}},
		{"filter text descr", AttrQuery{Text: "UPLINK 2", Rows: 2}, 8, 4, []string{"if:ge-0/0/02", "if:ge-0/0/05"}},
		{"text with wildcard is literal", AttrQuery{Text: "%"}, 0, 1, nil},
		{"gone included", AttrQuery{Gone: true, Text: "old"}, 1, 1, []string{"if:old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := db.HostAttributes(ctx, r1, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if p.TotalRows != tt.total || p.LastPage != tt.lastPage {
				t.Errorf("total %d last %d, want %d %d", p.TotalRows, p.LastPage, tt.total, tt.lastPage)
			}
			if len(p.Items) < len(tt.firstKeys) || (tt.firstKeys == nil && len(p.Items) != 0) {
				t.Fatalf("%d items, want at least %d", len(p.Items), len(tt.firstKeys))
			}
			for i, k := range tt.firstKeys {
				if p.Items[i].Key != k {
					t.Errorf("item %d = %s, want %s", i, p.Items[i].Key, k)
				}
			}
		})
	}
	if _, err := db.HostAttributes(ctx, r1, AttrQuery{Sort: "password_hash"}); err == nil {
		t.Error("sort by a column outside the allow-list succeeded")
	}
	p, _ := db.HostAttributes(ctx, r1, AttrQuery{Rows: 100000})
	if p.Rows != MaxPageRows {
		t.Errorf("rows not capped: %d", p.Rows)
	}
}

func TestAttributeNTPAndHistory(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	r1, _ := seedQuery(t, db)
	a, err := db.AttributeByKey(ctx, "r1", "if:ge-0/0/03")
	if err != nil || a.Status != status.Down || a.Interval != time.Minute || len(a.DS) != 1 || a.DS[0].Name != "in_octets" || a.Props["ifIndex"] != "1" || a.Host != "r1" {
		t.Fatalf("AttributeByKey = %+v, %v", a, err)
	}
	b, err := db.Attribute(ctx, a.ID)
	if err != nil || b.Key != a.Key {
		t.Fatalf("Attribute = %+v, %v", b, err)
	}
	if _, err := db.Attribute(ctx, 99999); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing attribute: %v", err)
	}
	peers, err := db.NTPPeers(ctx, r1)
	if err != nil || len(peers) != 1 || peers[0].Props["tally"] != "*" {
		t.Fatalf("peers = %+v, %v", peers, err)
	}
	for i := 0; i < 5; i++ {
		exec(t, db, `INSERT INTO status_events(attr_id, at, old_status, new_status, reason) VALUES (?, ?, 1, 3, ?)`, a.ID, 1000+i, fmt.Sprint("flap ", i))
	}
	ev, err := db.StatusChanges(ctx, ChangeQuery{Host: "r1", Limit: 3})
	if err != nil || len(ev) != 3 || ev[0].Reason != "flap 4" || ev[0].New != status.Down || ev[0].AttrKey != "if:ge-0/0/03" {
		t.Fatalf("changes = %+v, %v", ev, err)
	}
	more, err := db.StatusChanges(ctx, ChangeQuery{Before: ev[2].ID})
	if err != nil || len(more) != 2 || more[0].Reason != "flap 1" {
		t.Fatalf("next page = %+v, %v", more, err)
	}
	exec(t, db, `INSERT INTO events(at, kind, agent, message) VALUES (5, 'enrolled', 'edge-a', 'agent enrolled'), (9, 'dropped', 'edge-a', 'spool full: 3 batches dropped')`)
	sys, err := db.SystemEvents(ctx, 0)
	if err != nil || len(sys) != 2 || sys[0].Kind != "dropped" || sys[1].Message != "agent enrolled" {
		t.Fatalf("system events = %+v, %v", sys, err)
	}
	if none, _ := db.StatusChanges(ctx, ChangeQuery{Host: "r2"}); len(none) != 0 {
		t.Errorf("r2 has %d changes", len(none))
	}
}

package inventory

import (
	"context"
	"errors"
	"fmt"
	"math"
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
		{"a huge page is past the end, not page 1", AttrQuery{Rows: 10, Page: math.MaxInt/10 + 2}, 26, 3, nil},
		{"the largest page", AttrQuery{Rows: 500, Page: math.MaxInt}, 26, 1, nil},
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

// seedHostList makes seven hosts, one per worst status and two Up, with
// the fields the host list filters on:
//
//	name    address       sys_name / sys_descr / location  updated  live attributes (worst)
//	core-1  10.0.0.1      core1.lab / - / Rack 4            50       Up, Down (Down)
//	core-2  10.0.0.2      - / - / rack 5                    40       Up, Alert (Alert)
//	edge-1  192.0.2.7     - / Juniper MX204 / -             30       Up; a gone Down (Up)
//	edge-2  192.0.2.8     -                                 60       none (Unknown)
//	lab%x   -             -                                 5        Up (Up)
//	ntp_1   198.51.100.5  - / ntpsec / -                    10       Admin Down, Testing (Testing)
//	sw-3    10.0.0.3      -                                 20       Admin Down (Admin Down)
func seedHostList(t *testing.T, db *DB) {
	t.Helper()
	hosts := []struct {
		name, addr, sysName, sysDescr, loc string
		updated                            int64
		statuses                           []int // live attributes
		gone                               []int
	}{
		{"core-1", "10.0.0.1", "core1.lab", "", "Rack 4", 50, []int{1, 3}, nil},
		{"core-2", "10.0.0.2", "", "", "rack 5", 40, []int{1, 2}, nil},
		{"edge-1", "192.0.2.7", "", "Juniper MX204", "", 30, []int{1}, []int{3}},
		{"edge-2", "192.0.2.8", "", "", "", 60, nil, nil},
		{"lab%x", "", "", "", "", 5, []int{1}, nil},
		{"ntp_1", "198.51.100.5", "", "ntpsec", "", 10, []int{5, 4}, nil},
		{"sw-3", "10.0.0.3", "", "", "", 20, []int{5}, nil},
	}
	for _, h := range hosts {
		id := exec(t, db, `INSERT INTO hosts(name, address, sys_name, sys_descr, location, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?)`,
			h.name, h.addr, h.sysName, h.sysDescr, h.loc, h.updated)
		for i, st := range h.statuses {
			exec(t, db, `INSERT INTO attributes(host_id, key, kind, status, created_at, updated_at) VALUES (?, ?, 'interface', ?, 1, 1)`, id, fmt.Sprint("if:", i), st)
		}
		for i, st := range h.gone {
			exec(t, db, `INSERT INTO attributes(host_id, key, kind, status, gone, created_at, updated_at) VALUES (?, ?, 'interface', ?, 1, 1, 1)`, id, fmt.Sprint("if:gone", i), st)
		}
	}
}

func TestHostList(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	seedHostList(t, db)
	st := func(s status.Status) *status.Status { return &s }
	tests := []struct {
		name     string
		q        HostQuery
		total    int
		lastPage int
		names    []string // the page's hosts, in order
	}{
		{"default: by name, one page", HostQuery{}, 7, 1, []string{"core-1", "core-2", "edge-1", "edge-2", "lab%x", "ntp_1", "sw-3"}},
		{"name descending", HostQuery{Desc: true, Rows: 2}, 7, 4, []string{"sw-3", "ntp_1"}},
		{"first page", HostQuery{Rows: 3}, 7, 3, []string{"core-1", "core-2", "edge-1"}},
		{"last page", HostQuery{Rows: 3, Page: 3}, 7, 3, []string{"sw-3"}},
		{"a huge page is past the end, not page 1", HostQuery{Rows: 3, Page: math.MaxInt/3 + 2}, 7, 3, nil},
		{"page past the end", HostQuery{Rows: 3, Page: 4}, 7, 3, nil},
		{"page 0 means 1", HostQuery{Rows: 3, Page: 0}, 7, 3, []string{"core-1", "core-2", "edge-1"}},
		{"filter location, case-insensitive", HostQuery{Text: "RACK"}, 2, 1, []string{"core-1", "core-2"}},
		{"filter sysDescr", HostQuery{Text: "juniper"}, 1, 1, []string{"edge-1"}},
		{"filter sysName", HostQuery{Text: "core1.LAB"}, 1, 1, []string{"core-1"}},
		{"filter address", HostQuery{Text: "10.0.0."}, 3, 1, []string{"core-1", "core-2", "sw-3"}},
		{"filter name, trimmed", HostQuery{Text: " edge "}, 2, 1, []string{"edge-1", "edge-2"}},
		{"underscore is literal", HostQuery{Text: "_"}, 1, 1, []string{"ntp_1"}},
		{"percent is literal", HostQuery{Text: "%"}, 1, 1, []string{"lab%x"}},
		{"no match", HostQuery{Text: "nowhere"}, 0, 1, nil},
		{"status down", HostQuery{Status: st(status.Down)}, 1, 1, []string{"core-1"}},
		{"status alert", HostQuery{Status: st(status.Alert)}, 1, 1, []string{"core-2"}},
		{"status up ignores gone attributes", HostQuery{Status: st(status.Up)}, 2, 1, []string{"edge-1", "lab%x"}},
		{"status unknown: no live attributes", HostQuery{Status: st(status.Unknown)}, 1, 1, []string{"edge-2"}},
		{"status testing", HostQuery{Status: st(status.Testing)}, 1, 1, []string{"ntp_1"}},
		{"status admin down", HostQuery{Status: st(status.AdminDown)}, 1, 1, []string{"sw-3"}},
		{"status and text", HostQuery{Status: st(status.Up), Text: "edge"}, 1, 1, []string{"edge-1"}},
		{"status, second page", HostQuery{Status: st(status.Up), Rows: 1, Page: 2}, 2, 2, []string{"lab%x"}},
		{"sort by worst status", HostQuery{Sort: "status"}, 7, 1, []string{"core-1", "core-2", "edge-2", "ntp_1", "sw-3", "edge-1", "lab%x"}},
		{"sort by worst status descending", HostQuery{Sort: "status", Desc: true}, 7, 1, []string{"lab%x", "edge-1", "sw-3", "ntp_1", "edge-2", "core-2", "core-1"}},
		{"sort by worst status, filtered and paged", HostQuery{Sort: "status", Text: "e", Rows: 2, Page: 2}, 5, 3, []string{"edge-2", "ntp_1"}},
		{"sort by address", HostQuery{Sort: "address"}, 7, 1, []string{"lab%x", "core-1", "core-2", "sw-3", "edge-1", "edge-2", "ntp_1"}},
		{"sort by address descending", HostQuery{Sort: "address", Desc: true, Rows: 2}, 7, 4, []string{"ntp_1", "edge-2"}},
		{"sort by updated", HostQuery{Sort: "updated", Rows: 3}, 7, 3, []string{"lab%x", "ntp_1", "sw-3"}},
		{"sort by updated descending", HostQuery{Sort: "updated", Desc: true}, 7, 1, []string{"edge-2", "core-1", "core-2", "edge-1", "sw-3", "ntp_1", "lab%x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := db.HostList(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if p.TotalRows != tt.total || p.LastPage != tt.lastPage || p.AllHosts != 7 {
				t.Errorf("total %d last %d all %d, want %d %d 7", p.TotalRows, p.LastPage, p.AllHosts, tt.total, tt.lastPage)
			}
			var names []string
			for _, h := range p.Items {
				names = append(names, h.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.names) {
				t.Errorf("hosts %q, want %q", names, tt.names)
			}
		})
	}

	// Each listed host carries its live counts, as Hosts reads them.
	all, err := db.Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]StatusCounts{}
	for _, h := range all {
		want[h.Name] = h.Counts
	}
	p, err := db.HostList(ctx, HostQuery{Sort: "status", Rows: 4, Page: 2})
	if err != nil || len(p.Items) != 3 {
		t.Fatalf("page 2 of 4: %+v, %v", p, err)
	}
	for _, h := range p.Items {
		if h.Counts != want[h.Name] {
			t.Errorf("%s counts %v, want %v", h.Name, h.Counts, want[h.Name])
		}
	}
	if c := want["edge-1"]; c != (StatusCounts{status.Up: 1}) {
		t.Errorf("edge-1 counts %v: the gone attribute counted?", c)
	}

	if _, err := db.HostList(ctx, HostQuery{Sort: "password_hash"}); err == nil {
		t.Error("sort by a column outside the allow-list succeeded")
	}
	if p, _ := db.HostList(ctx, HostQuery{Rows: 100000}); p.Rows != MaxPageRows {
		t.Errorf("rows not capped: %d", p.Rows)
	}

	worst, err := db.HostsByWorst(ctx)
	wantWorst := StatusCounts{status.Unknown: 1, status.Up: 2, status.Alert: 1, status.Down: 1, status.Testing: 1, status.AdminDown: 1}
	if err != nil || worst != wantWorst {
		t.Errorf("HostsByWorst = %v, %v; want %v", worst, err, wantWorst)
	}
	// A host whose only attribute is gone is Unknown too, not Down.
	id := exec(t, db, `INSERT INTO hosts(name, created_at, updated_at) VALUES ('zz-gone', 1, 1)`)
	exec(t, db, `INSERT INTO attributes(host_id, key, kind, status, gone, created_at, updated_at) VALUES (?, 'if:0', 'interface', 3, 1, 1, 1)`, id)
	p, err = db.HostList(ctx, HostQuery{Status: st(status.Unknown), Sort: "status"})
	if err != nil || p.TotalRows != 2 || len(p.Items) != 2 || p.Items[0].Name != "edge-2" || p.Items[1].Name != "zz-gone" {
		t.Errorf("unknown hosts with zz-gone: %+v, %v", p, err)
	}
	if p, _ := db.HostList(ctx, HostQuery{Status: st(status.Down)}); p.TotalRows != 1 {
		t.Errorf("%d down hosts, want 1: a gone attribute counted", p.TotalRows)
	}
	if worst, _ := db.HostsByWorst(ctx); worst[status.Unknown] != 2 || worst[status.Down] != 1 {
		t.Errorf("HostsByWorst with zz-gone = %v", worst)
	}
}

// The SQL severity rank is status.Severity, computed by SQLite, for the
// six states and for a value outside them.
func TestSeverityCaseIsStatusSeverity(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "inv.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, v := range []int{0, 1, 2, 3, 4, 5, 9, -1} {
		var got int
		if err := db.Reader().QueryRow(`SELECT `+severityCase("?"), v).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := status.Status(v).Severity(); v >= 0 && got != want || v < 0 && got != status.Unknown.Severity() {
			t.Errorf("status %d: SQL rank %d, status.Severity %d", v, got, want)
		}
	}
}

// BenchmarkHostList reads one page of a 5,000-host inventory (20 live
// attributes each, one host in 50 Down, one in 7 Alert) the ways the
// overview does, against Hosts, which reads every host as the overview
// did before it paged.
func BenchmarkHostList(b *testing.B) {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "inv.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Writer().Begin()
	if err != nil {
		b.Fatal(err)
	}
	const hosts, attrs = 5000, 20
	for i := 0; i < hosts; i++ {
		r, err := tx.Exec(`INSERT INTO hosts(name, address, sys_descr, location, created_at, updated_at) VALUES (?, ?, 'Juniper MX204', ?, 1, ?)`,
			fmt.Sprintf("host-%05d", i), fmt.Sprintf("10.%d.%d.1", i/256, i%256), fmt.Sprintf("site %d", i%40), i%977)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := r.LastInsertId()
		for j := 0; j < attrs; j++ {
			st := 1
			switch {
			case j == 0 && i%50 == 0:
				st = 3
			case j == 1 && i%7 == 0:
				st = 2
			}
			if _, err := tx.Exec(`INSERT INTO attributes(host_id, key, kind, status, created_at, updated_at) VALUES (?, ?, 'interface', ?, 1, 1)`, id, fmt.Sprint("if:", j), st); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	down := status.Down
	for _, bc := range []struct {
		name string
		q    HostQuery
	}{
		{"by-name-page-1", HostQuery{}},
		{"by-name-page-60", HostQuery{Page: 60}},
		{"by-updated-desc", HostQuery{Sort: "updated", Desc: true}},
		{"text-filter", HostQuery{Text: "site 7"}},
		{"worst-status-sort", HostQuery{Sort: "status"}},
		{"worst-status-filter", HostQuery{Status: &down}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := db.HostList(ctx, bc.q)
				if err != nil || len(p.Items) == 0 {
					b.Fatalf("%d items, %v", len(p.Items), err)
				}
			}
		})
	}
	b.Run("hosts-by-worst", func(b *testing.B) {
		for b.Loop() {
			if c, err := db.HostsByWorst(ctx); err != nil || c.Total() != hosts {
				b.Fatalf("%v, %v", c, err)
			}
		}
	})
	b.Run("all-hosts-before", func(b *testing.B) {
		for b.Loop() {
			if h, err := db.Hosts(ctx); err != nil || len(h) != hosts {
				b.Fatalf("%d hosts, %v", len(h), err)
			}
		}
	})
}

package inventory

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkHostAttributes reads one page (50 rows) of the attribute grid
// of a host with 10,000 interfaces (ge-<fpc>/<pic>/<port> names, ifAlias
// descriptions), sorted by name and by key (the default), and filtered by
// text, as the host page's grid asks.
func BenchmarkHostAttributes(b *testing.B) {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "inv.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Writer().Begin()
	if err != nil {
		b.Fatal(err)
	}
	r, err := tx.Exec(`INSERT INTO hosts(name, created_at, updated_at) VALUES ('big', 1, 1)`)
	if err != nil {
		b.Fatal(err)
	}
	host, _ := r.LastInsertId()
	const ifaces = 10000
	for i := 0; i < ifaces; i++ {
		name := fmt.Sprintf("ge-%d/%d/%d", i/480, (i/48)%10, i%48)
		if _, err := tx.Exec(`INSERT INTO attributes(host_id, key, kind, name, descr, status, created_at, updated_at) VALUES (?, ?, 'interface', ?, ?, ?, 1, 1)`,
			host, "if:"+name, name, fmt.Sprintf("customer %d uplink", i%700), 1+i%3); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    AttrQuery
	}{
		{"by-key-page-1", AttrQuery{}},
		{"by-name-page-1", AttrQuery{Sort: "name"}},
		{"by-name-desc-page-100", AttrQuery{Sort: "name", Desc: true, Page: 100}},
		{"by-status-page-1", AttrQuery{Sort: "status"}},
		{"text-filter-by-name", AttrQuery{Sort: "name", Text: "customer 7"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := db.HostAttributes(ctx, host, bc.q)
				if err != nil || len(p.Items) == 0 {
					b.Fatalf("%d items, %v", len(p.Items), err)
				}
			}
		})
	}
}

func TestNaturalCompare(t *testing.T) {
	ordered := []string{"", "Gi1/0/1", "Gi1/0/2", "Gi1/0/9", "Gi1/0/10", "Gi1/0/10.100", "Gi1/1/1", "Gi2/0/1", "ge-0/0/2", "ge-0/0/10",
		"ge-0/0/10:1", "ge-0/1/0", "ge-1/0/0", "ge-10/0/0", "if:ge-0/0/009", "if:ge-0/0/09", "if:ge-0/0/9", "if:ge-0/0/10", "xe-0/0/0"}
	for i, a := range ordered {
		for j, b := range ordered {
			if got, want := NaturalCompare(a, b), sign(i-j); got != want {
				t.Errorf("NaturalCompare(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}

// FuzzNaturalCompare: the order is total and consistent (antisymmetric,
// transitive, 0 only for equal strings), as SQLite requires of a collation.
func FuzzNaturalCompare(f *testing.F) {
	f.Add("ge-0/0/2", "ge-0/0/10", "ge-0/0/010")
	f.Add("a01", "a1", "a001b")
	f.Add("9", "10", ":")
	f.Add("x\xff1", "x\xff01", "x/")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := NaturalCompare(a, b), NaturalCompare(b, a)
		if ab != -ba || (ab == 0) != (a == b) {
			t.Fatalf("(%q, %q): %d and %d", a, b, ab, ba)
		}
		bc, ac := NaturalCompare(b, c), NaturalCompare(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("%q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
	})
}

// The grid and the API's sort=name / key put ge-0/0/2 before ge-0/0/10,
// ascending and descending, with paging in SQL.
func TestHostAttributesNaturalOrder(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	host := exec(t, db, `INSERT INTO hosts(name, created_at, updated_at) VALUES ('sw', 1, 1)`)
	names := []string{"ge-0/0/10", "ge-0/0/2", "Gi1/0/10", "ge-0/0/1", "Gi1/0/9", "ge-0/0/11", "ge-1/0/0"}
	for _, n := range names {
		exec(t, db, `INSERT INTO attributes(host_id, key, kind, name, created_at, updated_at) VALUES (?, ?, 'interface', ?, 1, 1)`, host, "if:"+n, n)
	}
	want := []string{"Gi1/0/9", "Gi1/0/10", "ge-0/0/1", "ge-0/0/2", "ge-0/0/10", "ge-0/0/11", "ge-1/0/0"}
	for _, sort := range []string{"name", "key", ""} {
		for _, desc := range []bool{false, true} {
			var got []string
			for page := 1; page <= 3; page++ {
				p, err := db.HostAttributes(ctx, host, AttrQuery{Sort: sort, Desc: desc, Rows: 3, Page: page})
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range p.Items {
					got = append(got, a.Name)
				}
			}
			exp := want
			if desc {
				exp = nil
				for i := len(want) - 1; i >= 0; i-- {
					exp = append(exp, want[i])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				t.Errorf("sort %q desc %v: %v, want %v", sort, desc, got, exp)
			}
		}
	}
}

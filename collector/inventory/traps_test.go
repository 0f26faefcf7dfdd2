package inventory

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestTrapsInsertOncePruneAndInterfaceByIndex(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "inv.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Unix(1_800_000_000, 0)
	var ins []TrapInsert
	for i := 0; i < 25; i++ {
		ins = append(ins, TrapInsert{Epoch: 1<<63 + 5, Seq: 9, Index: i, Trap: Trap{At: now.Add(-time.Duration(i) * time.Hour), Received: now,
			Agent: "a", Host: "r1", Source: "192.0.2.1", SourceFrom: "udp", Version: 2, OID: "1.3.6.1.6.3.1.1.5.3"}})
	}
	for k := 0; k < 2; k++ { // a replay stores nothing twice
		res, err := db.ApplyIngest(ctx, IngestUpdate{Agent: "a", Now: now, Traps: ins, Archive: func(h, k string) string { return h + k }})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{25, 0}[k]; res.TrapsStored != want {
			t.Fatalf("apply %d stored %d, want %d", k, res.TrapsStored, want)
		}
	}
	n, err := db.PruneTraps(ctx, now.Add(-10*time.Hour-time.Minute))
	if err != nil || n != 14 {
		t.Fatalf("pruned %d, %v; want 14 (11 h to 24 h old)", n, err)
	}
	counts, err := db.TrapCounts(ctx)
	if err != nil || len(counts) != 1 || counts[0].Host != "r1" || counts[0].Count != 11 {
		t.Fatalf("counts %+v %v", counts, err)
	}
	if _, err := db.InterfaceByIndex(ctx, "r1", 3); err == nil {
		t.Fatal("an interface of a host without inventory")
	}
	exec := func(q string, args ...any) {
		if _, err := db.Writer().Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO hosts(id, name, created_at, updated_at) VALUES (1, 'r1', 0, 0)`)
	exec(`INSERT INTO attributes(host_id, key, kind, props, created_at, updated_at) VALUES (1, 'if:ge-0/0/3', 'interface', '{"ifIndex":"3"}', 0, 1)`)
	exec(`INSERT INTO attributes(host_id, key, kind, props, gone, created_at, updated_at) VALUES (1, 'if:old', 'interface', '{"ifIndex":"4"}', 1, 0, 2)`)
	if key, err := db.InterfaceByIndex(ctx, "r1", 3); err != nil || key != "if:ge-0/0/3" {
		t.Fatalf("ifIndex 3: %q %v", key, err)
	}
	if _, err := db.InterfaceByIndex(ctx, "r1", 4); err == nil {
		t.Fatal("a gone interface matched")
	}
}

package inventory

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestApplyIngestHostOverVariableLimit applies, in one batch, a complete
// inventory of 40,000 attributes (more than SQLite's 32,766 bound
// variables) next to a normal host with statuses: the whole update
// applies, the big host's sweep marks only its unlisted attribute gone,
// and the normal host's statuses land.
func TestApplyIngestHostOverVariableLimit(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	now := time.UnixMilli(1_800_000_000_000)
	if err := db.AddAgent(ctx, "edge", []string{"*"}, now); err != nil {
		t.Fatal(err)
	}
	arch := func(h, k string) string { return "rrd/" + h + "/" + k + ".rrd" }
	ds := []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: math.NaN()}}
	const n = 40_000
	big := wire.Host{Name: "big", Complete: true, Attrs: make([]wire.Attr, 0, n)}
	for i := range n {
		big.Attrs = append(big.Attrs, wire.Attr{Key: fmt.Sprintf("if:%d", i), Kind: wire.KindInterface, Interval: 60, DS: ds})
	}
	// First the big host with one more attribute, which the second
	// (complete) inventory no longer lists.
	first := big
	first.Attrs = append(append([]wire.Attr(nil), big.Attrs...), wire.Attr{Key: "if:old", Kind: wire.KindInterface, Interval: 60, DS: ds})
	if _, err := db.ApplyIngest(ctx, IngestUpdate{Agent: "edge", Now: now, Hosts: []wire.Host{first}, Archive: arch}); err != nil {
		t.Fatal(err)
	}
	small := wire.Host{Name: "r1", Complete: true, Attrs: []wire.Attr{{Key: "if:eth0", Kind: wire.KindInterface, Interval: 60, DS: ds}}}
	later := now.Add(time.Minute)
	res, err := db.ApplyIngest(ctx, IngestUpdate{Agent: "edge", Now: later, Hosts: []wire.Host{big, small},
		Statuses: []wire.AttrStatus{{Host: "r1", Attr: "if:eth0", Status: status.Down, Reason: "ifOperStatus down", Time: later.UnixMilli()}},
		Archive:  arch})
	if err != nil {
		t.Fatalf("batch with a %d-attribute host: %v", n, err)
	}
	if len(res.Specs) != n+1 || res.StatusChanges != 1 {
		t.Fatalf("specs %d status changes %d", len(res.Specs), res.StatusChanges)
	}
	var st int
	if err := db.Reader().QueryRow(`SELECT a.status FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = 'r1' AND a.key = 'if:eth0'`).Scan(&st); err != nil {
		t.Fatal(err)
	}
	if st != int(status.Down) {
		t.Fatalf("r1 if:eth0 status %d, want %d", st, status.Down)
	}
	for _, c := range []struct {
		q    string
		want int
	}{
		{`SELECT count(*) FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = 'big' AND a.gone = 0`, n},
		{`SELECT count(*) FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = 'big' AND a.gone = 1 AND a.key = 'if:old'`, 1},
	} {
		var got int
		if err := db.Reader().QueryRow(c.q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Fatalf("%s: %d, want %d", c.q, got, c.want)
		}
	}
}

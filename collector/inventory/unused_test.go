package inventory

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestUnusedPortsDoNotMakeTheHostDown: an interface that has been Down
// since discovery (nothing plugged in) is shown Down with a reason saying
// so, but does not make its host Down nor count among Down attributes; once
// it has been Up, Down counts again.
func TestUnusedPortsDoNotMakeTheHostDown(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	now := time.Unix(1_800_000_000, 0)
	ifs := func(host string, keys ...string) wire.Host {
		h := wire.Host{Name: host, Complete: true, Attrs: []wire.Attr{{Key: "host", Kind: wire.KindHost, Interval: 60}}}
		for _, k := range keys {
			h.Attrs = append(h.Attrs, wire.Attr{Key: k, Kind: wire.KindInterface, Interval: 60})
		}
		return h
	}
	st := func(host, key string, s status.Status, reason string) wire.AttrStatus {
		return wire.AttrStatus{Host: host, Attr: key, Status: s, Reason: reason, Time: now.UnixMilli()}
	}
	apply := func(u IngestUpdate) {
		t.Helper()
		u.Agent, u.Archive = "edge", func(h, k string) string { return h + "/" + k }
		if u.Now.IsZero() {
			u.Now = now
		}
		if _, err := db.ApplyIngest(ctx, u); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	apply(IngestUpdate{Hosts: []wire.Host{ifs("access1", "if:1", "if:2"), ifs("core1", "if:1")}, Statuses: []wire.AttrStatus{
		st("access1", "host", status.Up, ""), st("access1", "if:1", status.Up, "ifOperStatus up"), st("access1", "if:2", status.Down, "ifOperStatus down"),
		st("core1", "host", status.Up, ""), st("core1", "if:1", status.Up, "ifOperStatus up"),
	}})
	apply(IngestUpdate{Statuses: []wire.AttrStatus{st("core1", "if:1", status.Down, "ifOperStatus down")}})

	worst := func(host string) status.Status {
		t.Helper()
		h, err := db.HostByName(ctx, host)
		if err != nil {
			t.Fatal(err)
		}
		return h.Counts.Worst()
	}
	if w := worst("access1"); w != status.Up {
		t.Fatalf("access1 with an unused port is %v, want Up", w)
	}
	if w := worst("core1"); w != status.Down {
		t.Fatalf("core1 with a port that went down is %v, want Down", w)
	}
	a, err := db.AttributeByKey(ctx, "access1", "if:2")
	if err != nil || a.Status != status.Down || !strings.HasPrefix(a.StatusReason, UnusedPortReason+": ifOperStatus down") {
		t.Fatalf("unused port %+v, %v", a, err)
	}
	counts, err := db.HostsByWorst(ctx)
	if err != nil || counts[status.Down] != 1 || counts[status.Up] != 1 {
		t.Fatalf("hosts by worst %v, %v", counts, err)
	}
	totals, err := db.StatusTotals(ctx)
	if err != nil || totals[status.Down] != 1 {
		t.Fatalf("totals %v, %v: the unused port counted", totals, err)
	}
	// Something is plugged in: up, then down: now it counts.
	apply(IngestUpdate{Statuses: []wire.AttrStatus{st("access1", "if:2", status.Up, "ifOperStatus up")}})
	apply(IngestUpdate{Statuses: []wire.AttrStatus{st("access1", "if:2", status.Down, "ifOperStatus down")}})
	if w := worst("access1"); w != status.Down {
		t.Fatalf("access1 after its port went down is %v, want Down", w)
	}
	if a, _ := db.AttributeByKey(ctx, "access1", "if:2"); a.StatusReason != "ifOperStatus down" {
		t.Fatalf("reason %q", a.StatusReason)
	}
	// A rediscovery does not make a used port unused again.
	apply(IngestUpdate{Hosts: []wire.Host{ifs("access1", "if:1", "if:2")}})
	if w := worst("access1"); w != status.Down {
		t.Fatalf("access1 after rediscovery is %v, want Down", w)
	}
}

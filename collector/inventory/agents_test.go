package inventory

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/enroll"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "inv.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAgentLifecycle(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	now := time.UnixMilli(1_800_000_000_000)
	if err := db.AddAgent(ctx, "edge", []string{"r*", "sw-[0-9]"}, now); err != nil {
		t.Fatal(err)
	}
	if err := db.AddAgent(ctx, "edge", []string{"*"}, now); !errors.Is(err, ErrAgentExists) {
		t.Fatalf("duplicate add: %v", err)
	}
	if err := db.AddAgent(ctx, "bad", []string{"[unclosed"}, now); err == nil {
		t.Fatal("accepted a malformed pattern")
	}
	if err := db.AddAgent(ctx, "none", nil, now); err == nil {
		t.Fatal("accepted no patterns")
	}
	if err := db.SetAgentCert(ctx, "edge", "abc123", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	a, err := db.LookupAgent(ctx, "edge")
	if err != nil {
		t.Fatal(err)
	}
	if a.CertSerial != "abc123" || !a.CertNotAfter.Equal(now.Add(time.Hour)) || a.Revoked() || !a.MayWrite("r1") || !a.MayWrite("sw-3") || a.MayWrite("core1") {
		t.Fatalf("agent %+v", a)
	}
	if _, err := db.LookupAgent(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}

	tok, _ := enroll.NewToken()
	if err := db.SetAgentToken(ctx, "edge", enroll.HashToken(tok), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name, agent, token string
		at                 time.Time
	}{
		{"wrong token", "edge", tok + "x", now},
		{"expired", "edge", tok, now.Add(2 * time.Hour)},
		{"unknown agent", "ghost", tok, now},
	}
	for _, r := range refusals {
		if _, err := db.CompleteEnrollment(ctx, r.agent, r.token, "s2", now.Add(time.Hour), r.at); !errors.Is(err, enroll.ErrRefused) {
			t.Errorf("%s: %v, want refused", r.name, err)
		}
	}
	hosts, err := db.CompleteEnrollment(ctx, "edge", tok, "s2", now.Add(24*time.Hour), now)
	if err != nil || len(hosts) != 2 {
		t.Fatalf("enroll: %v %v", hosts, err)
	}
	if _, err := db.CompleteEnrollment(ctx, "edge", tok, "s3", now.Add(time.Hour), now); !errors.Is(err, enroll.ErrRefused) {
		t.Fatalf("token reused: %v", err)
	}
	a, _ = db.LookupAgent(ctx, "edge")
	if a.CertSerial != "s2" || a.TokenPending {
		t.Fatalf("after enrollment %+v", a)
	}
	if err := db.AgentSeen(ctx, "edge", "192.0.2.9:4433", "0.1", now); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeAgent(ctx, "edge", now); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeAgent(ctx, "edge", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	if err := db.SetAgentToken(ctx, "edge", "h", now.Add(time.Hour)); err == nil {
		t.Fatal("a revoked agent got a token")
	}
	list, err := db.ListAgents(ctx)
	if err != nil || len(list) != 1 || !list[0].Revoked() || list[0].LastAddress != "192.0.2.9:4433" || !list[0].LastSeen.Equal(now) {
		t.Fatalf("list %+v %v", list, err)
	}
	var events int
	db.Reader().QueryRow(`SELECT count(*) FROM events WHERE agent = 'edge'`).Scan(&events)
	if events != 3 { // added, enrolled, revoked
		t.Fatalf("events %d", events)
	}
}

func TestApplyIngestIdempotent(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	now := time.UnixMilli(1_800_000_000_000)
	if err := db.AddAgent(ctx, "edge", []string{"*"}, now); err != nil {
		t.Fatal(err)
	}
	host := wire.Host{Name: "r1", Address: "192.0.2.1", SysName: "r1.example", Complete: true, Attrs: []wire.Attr{
		{Key: "if:eth0", Kind: wire.KindInterface, Name: "eth0", Interval: 60, Props: map[string]string{"ifIndex": "2"},
			DS: []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64, Min: 0, Max: math.NaN()}}},
		{Key: "host", Kind: wire.KindHost, Interval: 60, DS: []wire.DSDef{{Name: "rtt", Kind: sample.Gauge, Min: math.NaN(), Max: math.NaN()}}},
	}}
	u := IngestUpdate{Agent: "edge", Now: now, Hosts: []wire.Host{host},
		Statuses: []wire.AttrStatus{{Host: "r1", Attr: "if:eth0", Status: status.Down, Reason: "ifOperStatus down", Time: now.UnixMilli()},
			{Host: "r1", Attr: "ntp", Status: status.Up, Time: now.UnixMilli()}},
		Events:  []Event{{At: now, Kind: EventAgentDropped, Agent: "edge", Message: "agent edge dropped 2 batches"}},
		Archive: func(h, k string) string { return "rrd/" + h + "/" + k + ".rrd" }}
	for i := 0; i < 2; i++ {
		res, err := db.ApplyIngest(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Specs) != 2 {
			t.Fatalf("specs %+v", res.Specs)
		}
		if want := 2 - 2*i; res.StatusChanges != want {
			t.Fatalf("pass %d: %d status changes, want %d", i, res.StatusChanges, want)
		}
	}
	count := func(q string) int {
		var n int
		if err := db.Reader().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM hosts`); n != 1 {
		t.Fatalf("hosts %d", n)
	}
	if n := count(`SELECT count(*) FROM attributes`); n != 3 { // if:eth0, host, and ntp (created by its status)
		t.Fatalf("attributes %d", n)
	}
	if n := count(`SELECT count(*) FROM status_events`); n != 2 {
		t.Fatalf("status events %d", n)
	}
	if n := count(`SELECT count(*) FROM events WHERE kind = 'agent-dropped'`); n != 1 {
		t.Fatalf("drop events %d (must not double on replay)", n)
	}
	attr, err := db.AttributeByKey(ctx, "r1", "if:eth0")
	if err != nil || attr.Status != status.Down || attr.Props["ifIndex"] != "2" || attr.Interval != time.Minute {
		t.Fatalf("attribute %+v %v", attr, err)
	}
	ntp, _ := db.AttributeByKey(ctx, "r1", "ntp")
	if ntp.Kind != wire.KindNTP {
		t.Fatalf("status-created attribute kind %q", ntp.Kind)
	}
	spec, err := db.LookupArchiveSpec(ctx, "r1", "if:eth0")
	if err != nil || len(spec.DS) != 1 || spec.DS[0].Kind != sample.Counter64 || spec.DS[0].Min != 0 || !math.IsNaN(spec.DS[0].Max) || spec.Archive != "rrd/r1/if:eth0.rrd" {
		t.Fatalf("spec %+v %v", spec, err)
	}
	// A complete host list without eth0 marks it gone; listing it again revives it.
	host.Attrs = host.Attrs[1:]
	if _, err := db.ApplyIngest(ctx, IngestUpdate{Agent: "edge", Now: now, Hosts: []wire.Host{host}, Archive: u.Archive}); err != nil {
		t.Fatal(err)
	}
	if attr, _ := db.AttributeByKey(ctx, "r1", "if:eth0"); !attr.Gone {
		t.Fatal("attribute missing from a complete list is not gone")
	}
}

func TestStreamsRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	db.AddAgent(ctx, "edge", []string{"*"}, time.Now())
	in := []Stream{
		{Agent: "edge", Epoch: math.MaxUint64 - 5, AckedSeq: 1 << 40, DroppedBatches: 3, DroppedSamples: 30, Corrupt: 1},
		{Agent: "deleted", Epoch: 1, AckedSeq: 1}, // no such agent: skipped
	}
	if err := db.SaveStreams(ctx, in, time.Now()); err != nil {
		t.Fatal(err)
	}
	in[0].AckedSeq++
	if err := db.SaveStreams(ctx, in[:1], time.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := db.LoadStreams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["edge"] != in[0] {
		t.Fatalf("streams %+v", got)
	}
}

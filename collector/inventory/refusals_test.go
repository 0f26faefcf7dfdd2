package inventory

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRecordRefusalAccumulates(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	t0 := time.UnixMilli(1_800_000_000_000)
	for _, name := range []string{"edge-a", "edge-b"} {
		if err := db.AddAgent(ctx, name, []string{"*"}, t0); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		agent  string
		kind   RefusalKind
		n      int64
		reason string
		at     time.Time
	}{
		{"edge-a", RefusedFrame, 1, "decode series: invalid UTF-8", t0},
		{"edge-a", RefusedFrame, 2, "decode batch: \x1b[2Jcleared", t0.Add(time.Minute)},
		{"edge-a", RefusedClockSkew, 40, "samples 100 years ahead", t0.Add(2 * time.Minute)},
		{"edge-b", RefusedQuota, 0, "ignored: nothing refused", t0},
		{"edge-a", RefusedFrame, 1, "older report arriving late", t0.Add(-time.Hour)},
	}
	for _, s := range steps {
		if err := db.RecordRefusal(ctx, s.agent, s.kind, s.n, s.reason, s.at); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordRefusal(ctx, "ghost", RefusedFrame, 1, "x", t0); err == nil {
		t.Error("a refusal for an unknown agent was recorded")
	}
	got, err := db.Refusals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("rows = %+v, want 2 (a zero count records nothing)", got)
	}
	skew, frame := got[0], got[1]
	if skew.Kind != RefusedClockSkew || skew.Count != 40 {
		t.Errorf("clock-skew row = %+v", skew)
	}
	if frame.Kind != RefusedFrame || frame.Count != 4 || !frame.FirstAt.Equal(t0) || !frame.LastAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("frame row = %+v, want count 4, first %v, last %v", frame, t0, t0.Add(time.Minute))
	}
	if frame.LastReason != "decode batch: \\x1b[2Jcleared" || strings.ContainsRune(skew.LastReason+frame.LastReason, 0x1b) {
		t.Errorf("last reason = %q", frame.LastReason)
	}
}

func TestClockSkew(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if err := db.AddAgent(ctx, "edge", []string{"*"}, time.UnixMilli(1)); err != nil {
		t.Fatal(err)
	}
	if d, err := db.ClockSkew(ctx, "edge"); err != nil || d != 0 {
		t.Fatalf("initial skew = %v, %v", d, err)
	}
	if err := db.SetClockSkew(ctx, "edge", -90*time.Second); err != nil {
		t.Fatal(err)
	}
	if d, err := db.ClockSkew(ctx, "edge"); err != nil || d != -90*time.Second {
		t.Fatalf("skew = %v, %v", d, err)
	}
	if err := db.SetClockSkew(ctx, "ghost", time.Second); err == nil {
		t.Error("set the skew of an unknown agent")
	}
}

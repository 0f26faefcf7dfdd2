package inventory

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
)

// TestMigration7KeepsUsersSessionsTokens: the users table is rebuilt to
// allow the operator role; sessions and API tokens survive it and still
// go with their user.
func TestMigration7KeepsUsersSessionsTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inv.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 6; v++ {
		names, _ := migrationFiles.ReadDir("migrations")
		text, err := migrationFiles.ReadFile("migrations/" + names[v-1].Name())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, string(text)); err != nil {
			t.Fatalf("migration %d: %v", v, err)
		}
	}
	for _, q := range []string{
		`PRAGMA user_version = 6`,
		`INSERT INTO users VALUES ('ann', 'hash', 'admin', 1, 0)`,
		`INSERT INTO sessions VALUES ('sess', 'ann', 'csrf', 1, 9999999999999)`,
		`INSERT INTO api_tokens VALUES ('tok', 'ann', 'ci', 1, 0, 0)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(table string) int {
		var n int
		if err := db.Reader().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("users") != 1 || count("sessions") != 1 || count("api_tokens") != 1 {
		t.Fatalf("after migration: %d users, %d sessions, %d tokens", count("users"), count("sessions"), count("api_tokens"))
	}
	now := time.Unix(1_800_000_000, 0)
	if err := db.CreateUser(ctx, "olga", "operator-pass", RoleOperator, now); err != nil {
		t.Fatalf("operator: %v", err)
	}
	if _, err := db.Writer().ExecContext(ctx, `INSERT INTO users VALUES ('x', 'h', 'root', 1, 0)`); err == nil {
		t.Fatal("the CHECK constraint is gone")
	}
	if _, err := db.Writer().ExecContext(ctx, `DELETE FROM users WHERE name = 'ann'`); err != nil {
		t.Fatal(err)
	}
	if count("sessions") != 0 || count("api_tokens") != 0 {
		t.Fatal("sessions and tokens no longer go with their user")
	}
}

func TestSilencesAndAcks(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	now := time.Unix(1_800_000_000, 0)
	for i, tc := range []struct {
		s    Silence
		want string // "" ok
	}{
		{Silence{Matchers: []Matcher{{"host", "sw*"}}, StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "olga"}, ""},
		{Silence{StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "olga"}, "1 to 20 matchers"},
		{Silence{Matchers: []Matcher{{"host", "sw["}}, StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "olga"}, "bad pattern"},
		{Silence{Matchers: []Matcher{{"host", "a"}}, StartsAt: now, EndsAt: now.Add(-time.Hour), CreatedBy: "olga"}, "must end after"},
		{Silence{Matchers: []Matcher{{"host", "a"}}, StartsAt: now, EndsAt: now.Add(400 * 24 * time.Hour), CreatedBy: "olga"}, "at most"},
	} {
		_, err := db.CreateSilence(ctx, tc.s, now)
		if (err == nil) != (tc.want == "") || (err != nil && (!errors.Is(err, ErrBadSilence) || !strings.Contains(err.Error(), tc.want))) {
			t.Errorf("case %d: %v, want %q", i, err, tc.want)
		}
	}
	list, err := db.Silences(ctx, now, 100)
	if err != nil || len(list) != 1 || !list[0].Matches(map[string]string{"host": "sw1", "x": "y"}) || list[0].Matches(map[string]string{"host": "core1"}) {
		t.Fatalf("%v %+v", err, list)
	}
	if err := db.ExpireSilence(ctx, list[0].ID, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.ExpireSilence(ctx, list[0].ID, now.Add(2*time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expire twice: %v", err)
	}
	if list, _ := db.Silences(ctx, now.Add(2*time.Minute), 100); len(list) != 0 {
		t.Fatalf("an expired silence is listed as live: %+v", list)
	}

	// Acks: only of a firing alert, gone when it resolves.
	noop := func([]AlertChange) ([]OutboxItem, []Event) { return nil, nil }
	if _, _, err := db.SyncAlertState(ctx, map[string]string{"fp1": `{"labels":{"alertname":"A"}}`}, now, noop); err != nil {
		t.Fatal(err)
	}
	if err := db.AckAlert(ctx, AlertID("nope"), "olga", "x", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ack of no alert: %v", err)
	}
	if err := db.AckAlert(ctx, AlertID("fp1"), "olga", "on it", now); err != nil {
		t.Fatal(err)
	}
	firing, err := db.FiringAlerts(ctx)
	if err != nil || len(firing) != 1 || firing[0].Ack == nil || firing[0].Ack.Comment != "on it" {
		t.Fatalf("%v %+v", err, firing)
	}
	if _, _, err := db.SyncAlertState(ctx, map[string]string{}, now.Add(time.Minute), noop); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SyncAlertState(ctx, map[string]string{"fp1": `{}`}, now.Add(2*time.Minute), noop); err != nil {
		t.Fatal(err)
	}
	if firing, _ := db.FiringAlerts(ctx); len(firing) != 1 || firing[0].Ack != nil {
		t.Fatalf("an ack outlived its alert: %+v", firing)
	}
}

// BenchmarkRuleHoldStorm measures holding 100,000 interfaces in Alert at
// once (a storm: every uplink over its threshold) and releasing them: one
// transaction each way, a status_events row per change.
func BenchmarkRuleHoldStorm(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "inv.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w := db.Writer()
	if _, err := w.ExecContext(ctx, `WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < ?)
		INSERT INTO hosts(id, name, created_at, updated_at) SELECT value, 'sw' || value, 0, 0 FROM s`, n/48+1); err != nil {
		b.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `WITH RECURSIVE s(value) AS (SELECT 0 UNION ALL SELECT value + 1 FROM s WHERE value < ?)
		INSERT INTO attributes(host_id, key, kind, status, reported_status, created_at, updated_at)
		SELECT value / 48 + 1, 'if:' || (value % 48), 'interface', 1, 1, 0, 0 FROM s`, n-1); err != nil {
		b.Fatal(err)
	}
	holds := make([]RuleHold, n)
	release := make([]RuleHold, n)
	for i := range n {
		holds[i] = RuleHold{Host: "sw" + strconv.Itoa(i/48+1), Key: "if:" + strconv.Itoa(i%48), Rule: "UplinkBusy", Status: status.Alert, Reason: "rule UplinkBusy: utilisation 93% above 80%"}
		release[i] = RuleHold{Host: holds[i].Host, Key: holds[i].Key}
	}
	now := time.Unix(1_800_000_000, 0)
	b.ResetTimer()
	for range b.N {
		if changed, err := db.SetRuleHolds(ctx, holds, now); err != nil || changed != n {
			b.Fatalf("hold: %d changed, %v", changed, err)
		}
		now = now.Add(time.Minute)
		if changed, err := db.SetRuleHolds(ctx, release, now); err != nil || changed != n {
			b.Fatalf("release: %d changed, %v", changed, err)
		}
		now = now.Add(time.Minute)
	}
	b.ReportMetric(float64(2*n*b.N)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkAlertStateStorm measures saving 100,000 alerts that start
// firing at once, with their history events, then their resolution.
func BenchmarkAlertStateStorm(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "inv.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	firing := make(map[string]string, n)
	for i := range n {
		firing["fp"+strconv.Itoa(i)] = `{"labels":{"alertname":"UplinkBusy","host":"sw` + strconv.Itoa(i/48) + `"}}`
	}
	notify := func(ch []AlertChange) ([]OutboxItem, []Event) {
		ev := make([]Event, len(ch))
		for i, c := range ch {
			ev[i] = Event{At: time.Unix(1_800_000_000, 0), Kind: EventAlertFiring, Host: "sw", Message: c.Fingerprint}
		}
		return []OutboxItem{{Target: "noc", Body: []byte("{}")}}, ev
	}
	now := time.Unix(1_800_000_000, 0)
	b.ResetTimer()
	for range b.N {
		if ch, _, err := db.SyncAlertState(ctx, firing, now, notify); err != nil || len(ch) != n {
			b.Fatalf("%d changes, %v", len(ch), err)
		}
		if ch, _, err := db.SyncAlertState(ctx, map[string]string{}, now.Add(time.Minute), notify); err != nil || len(ch) != n {
			b.Fatalf("%d changes, %v", len(ch), err)
		}
	}
	b.ReportMetric(float64(2*n*b.N)/b.Elapsed().Seconds(), "changes/s")
}

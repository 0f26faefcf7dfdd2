package alerting

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/latest"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// ruleBed is an inventory with one switch (two interfaces at 1 Gb/s, one
// an uplink by its alias) and an NTP server, an engine with user rules
// over it, and a clock the test moves.
type ruleBed struct {
	t     *testing.T
	ctx   context.Context
	db    *inventory.DB
	table *latest.Table
	eng   *Engine
	now   time.Time
	oct   map[string]uint64 // in_octets per interface key
}

func newRuleBed(t *testing.T, rulesYAML string) *ruleBed {
	t.Helper()
	ctx := context.Background()
	db, err := inventory.Open(ctx, filepath.Join(t.TempDir(), "inv.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &ruleBed{t: t, ctx: ctx, db: db, table: latest.New(0), now: time.Unix(1_800_000_000, 0), oct: map[string]uint64{}}
	sw := wire.Host{Name: "sw1", Complete: true, Attrs: []wire.Attr{{Key: "host", Kind: wire.KindHost, Interval: 60},
		{Key: "if:1", Kind: wire.KindInterface, Name: "ge-0/0/1", Interval: 60, Props: map[string]string{"speed": "1000000000", "ifType": "6", "ifAlias": "uplink to core"}},
		{Key: "if:2", Kind: wire.KindInterface, Name: "ge-0/0/2", Interval: 60, Props: map[string]string{"speed": "1000000000", "ifType": "6", "ifAlias": "printer"}}}}
	ntp := wire.Host{Name: "ntp1", Complete: true, Attrs: []wire.Attr{{Key: "ntp", Kind: wire.KindNTP, Interval: 60}}}
	b.apply(inventory.IngestUpdate{Hosts: []wire.Host{sw, ntp}, Statuses: []wire.AttrStatus{
		b.st("sw1", "host", status.Up), b.st("sw1", "if:1", status.Up), b.st("sw1", "if:2", status.Up), b.st("ntp1", "ntp", status.Up)}})
	b.eng = b.engine(rulesYAML)
	// The first cycle selects the attributes: the table keeps readings
	// of those only.
	if got := b.cycle(); got != "" {
		t.Fatalf("first cycle: %q", got)
	}
	return b
}

func (b *ruleBed) engine(rulesYAML string) *Engine {
	b.t.Helper()
	rs := b.compile(rulesYAML)
	return New(Config{Now: func() time.Time { return b.now }, For: time.Minute, Rules: rs, Store: b.db, Latest: b.table},
		b.db, fakeContacts{"edge": true}, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func (b *ruleBed) compile(rulesYAML string) *RuleSet {
	b.t.Helper()
	c, err := config.Parse("rules.yaml", []byte("alerting:\n  rules:\n"+rulesYAML))
	if err != nil {
		b.t.Fatal(err)
	}
	rs, err := CompileRules(c.Alerting.Rules, c.Alerting.For.D())
	if err != nil {
		b.t.Fatal(err)
	}
	return rs
}

func (b *ruleBed) st(host, key string, s status.Status) wire.AttrStatus {
	return wire.AttrStatus{Host: host, Attr: key, Status: s, Reason: "agent says " + s.String(), Time: b.now.UnixMilli()}
}

func (b *ruleBed) apply(u inventory.IngestUpdate) {
	b.t.Helper()
	u.Agent, u.Archive, u.Now = "edge", func(h, k string) string { return h + "/" + k }, b.now
	if _, err := b.db.ApplyIngest(b.ctx, u); err != nil {
		b.t.Fatal(err)
	}
}

// traffic advances the clock one minute and records in_octets of key
// grown by mbps megabits per second over it.
func (b *ruleBed) traffic(key string, mbps float64) {
	b.now = b.now.Add(time.Minute)
	b.oct[key] += uint64(mbps * 1e6 / 8 * 60)
	b.table.Observe("sw1", key, b.now.UnixMilli(), []latest.Value{{DS: "in_octets", Kind: sample.Counter64, Uint: b.oct[key]},
		{DS: "out_octets", Kind: sample.Counter64, Uint: 0}})
}

// cycle evaluates and returns the firing alerts as "rule:host/key".
func (b *ruleBed) cycle() string {
	b.t.Helper()
	alerts, err := b.eng.Evaluate(b.ctx, b.now)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for _, a := range alerts {
		out = append(out, a.Labels["alertname"]+":"+a.Labels["host"]+"/"+a.Labels["attribute"])
	}
	return strings.Join(sortStrings(out), " ")
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// statusOf reads an attribute's status and reason from the inventory.
func (b *ruleBed) statusOf(host, key string) (status.Status, string) {
	b.t.Helper()
	all, err := b.db.NotUpAttributes(b.ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, f := range all {
		if f.Host == host && f.Key == key {
			return f.Status, f.Reason
		}
	}
	return status.Up, ""
}

const busyRule = `    - name: UplinkBusy
      severity: critical
      for: 2m
      match:
        kind: interface
        props: {ifAlias: "*uplink*"}
      threshold: {of: utilisation, above: 80, clear: 60}
      labels: {team: network}
      annotations: {summary: "{{host}} {{name}} is busy"}
`

func TestThresholdRuleHoldsAlertWithHysteresis(t *testing.T) {
	b := newRuleBed(t, busyRule)
	steps := []struct {
		mbps       float64
		agent      status.Status // what the agent reports for if:1 this minute (0: nothing)
		wantFiring string
		wantStatus status.Status
	}{
		{900, 0, "", status.Up},                                // first reading: no rate yet
		{900, 0, "", status.Up},                                // 90%: pending
		{900, 0, "", status.Up},                                // 1m held, for is 2m
		{900, 0, "UplinkBusy:sw1/if:1", status.Alert},          // 2m held: fires, the port is held in Alert
		{700, status.Up, "UplinkBusy:sw1/if:1", status.Alert},  // 70%: above clear, still firing; the agent's Up does not clear it
		{700, status.Down, "UplinkBusy:sw1/if:1", status.Down}, // the agent says Down: Down wins
		{700, status.Up, "UplinkBusy:sw1/if:1", status.Alert},  // Up again: the rule holds it in Alert
		{500, 0, "", status.Up},                                // 50%: below clear, resolves at once
		{950, 0, "", status.Up},                                // pending again
		{10, 0, "", status.Up},                                 // dropped before for: never fired
	}
	for i, s := range steps {
		b.traffic("if:1", s.mbps)
		b.traffic("if:2", 990) // the printer port is not an uplink: never selected
		b.now = b.now.Add(-time.Minute)
		if s.agent != 0 {
			b.apply(inventory.IngestUpdate{Statuses: []wire.AttrStatus{b.st("sw1", "if:1", s.agent)}})
		}
		if got := b.cycle(); got != s.wantFiring {
			t.Fatalf("step %d (%v Mb/s): firing %q, want %q", i, s.mbps, got, s.wantFiring)
		}
		st, reason := b.statusOf("sw1", "if:1")
		if st != s.wantStatus {
			t.Fatalf("step %d: if:1 is %v (%s), want %v", i, st, reason, s.wantStatus)
		}
		if st == status.Alert && !strings.Contains(reason, "rule UplinkBusy: utilisation") {
			t.Errorf("step %d: reason %q", i, reason)
		}
	}
	rep := b.eng.Rules()
	var busy RuleInfo
	for _, r := range rep.Rules {
		if r.Name == "UplinkBusy" {
			busy = r
		}
	}
	if busy.Matches != 1 || busy.Severity != "critical" || !strings.Contains(busy.Condition, "utilisation above 80 (clears at 60)") {
		t.Errorf("rules report %+v", busy)
	}
}

func TestThresholdAlertLabels(t *testing.T) {
	b := newRuleBed(t, strings.Replace(busyRule, "for: 2m", "for: 0s", 1))
	b.traffic("if:1", 900)
	b.traffic("if:1", 900)
	alerts, err := b.eng.Evaluate(b.ctx, b.now)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("%v %+v", err, alerts)
	}
	a := alerts[0]
	want := map[string]string{"alertname": "UplinkBusy", "severity": "critical", "host": "sw1", "attribute": "if:1", "kind": "interface", "agent": "edge", "team": "network"}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
		}
	}
	if a.Annotations["summary"] != "sw1 ge-0/0/1 is busy" {
		t.Errorf("summary %q", a.Annotations["summary"])
	}
}

func TestAbsentRuleHoldsUnknown(t *testing.T) {
	b := newRuleBed(t, `    - name: NoData
      for: 0s
      match: {host: ["sw1"], kind: interface}
      absent: 3
`)
	b.traffic("if:1", 1)
	b.traffic("if:2", 1)
	if got := b.cycle(); got != "" {
		t.Fatalf("fresh data: %q", got)
	}
	b.now = b.now.Add(2 * time.Minute)
	b.traffic("if:2", 1) // if:1 goes quiet: 3 minutes without data
	if got := b.cycle(); got != "NoData:sw1/if:1" {
		t.Fatalf("after 3 silent intervals: %q", got)
	}
	if st, reason := b.statusOf("sw1", "if:1"); st != status.Unknown || !strings.Contains(reason, "rule NoData: no data since") {
		t.Fatalf("if:1 %v %q", st, reason)
	}
	b.traffic("if:1", 1)
	if got := b.cycle(); got != "" {
		t.Fatalf("data back: %q", got)
	}
	if st, _ := b.statusOf("sw1", "if:1"); st != status.Up {
		t.Fatalf("if:1 %v after data came back", st)
	}
}

func TestStatusRuleAndBuiltinOverrides(t *testing.T) {
	b := newRuleBed(t, `    - name: PrinterPortDown
      severity: info
      for: 5m
      match: {kind: interface, props: {ifAlias: "print*"}}
      status: [down, unknown]
    - name: InterfaceDown
      disabled: true
    - name: NTPOffset
      severity: critical
      for: 10m
      labels: {team: time}
`)
	b.apply(inventory.IngestUpdate{Statuses: []wire.AttrStatus{b.st("sw1", "if:1", status.Down), b.st("sw1", "if:2", status.Down),
		{Host: "ntp1", Attr: "ntp", Status: status.Alert, Reason: "offset 300 ms > 100 ms", Time: b.now.UnixMilli()}}})
	b.now = b.now.Add(4 * time.Minute)
	if got := b.cycle(); got != "" {
		t.Fatalf("at 4m: %q (InterfaceDown is disabled, the others wait)", got)
	}
	b.now = b.now.Add(time.Minute)
	if got := b.cycle(); got != "PrinterPortDown:sw1/if:2" {
		t.Fatalf("at 5m: %q", got)
	}
	b.now = b.now.Add(5 * time.Minute)
	alerts, err := b.eng.Evaluate(b.ctx, b.now)
	if err != nil {
		t.Fatal(err)
	}
	var offset *Alert
	for i := range alerts {
		if alerts[i].Labels["alertname"] == "NTPOffset" {
			offset = &alerts[i]
		}
	}
	if offset == nil || offset.Labels["severity"] != "critical" || offset.Labels["team"] != "time" {
		t.Fatalf("NTPOffset override: %+v", alerts)
	}
}

// TestRulesAcrossRestartAndReload: a held status survives an engine
// restart and is released when a reload removes its rule; a reload that
// fails keeps the rules and reports why.
func TestRulesAcrossRestartAndReload(t *testing.T) {
	b := newRuleBed(t, strings.Replace(busyRule, "for: 2m", "for: 0s", 1))
	b.traffic("if:1", 900)
	b.traffic("if:1", 900)
	if got := b.cycle(); got != "UplinkBusy:sw1/if:1" {
		t.Fatalf("%q", got)
	}
	// A new engine (collector restart) on the same inventory and table:
	// the hold carries on without waiting for the rule's For again.
	b.eng = b.engine(busyRule)
	b.traffic("if:1", 900)
	if got := b.cycle(); got != "UplinkBusy:sw1/if:1" {
		t.Fatalf("after restart: %q", got)
	}
	if st, _ := b.statusOf("sw1", "if:1"); st != status.Alert {
		t.Fatalf("after restart: %v", st)
	}
	b.traffic("if:1", 100)
	if got := b.cycle(); got != "" {
		t.Fatalf("after restart, traffic down: %q", got)
	}
	if st, _ := b.statusOf("sw1", "if:1"); st != status.Up {
		t.Fatalf("a hold from before the restart is not released: %v", st)
	}
	b.traffic("if:1", 900)
	for range 2 { // pending for 2m
		b.traffic("if:1", 900)
		if got := b.cycle(); got != "" {
			t.Fatalf("pending: %q", got)
		}
	}
	b.traffic("if:1", 900)
	if got := b.cycle(); got != "UplinkBusy:sw1/if:1" {
		t.Fatalf("%q", got)
	}
	b.eng.RulesFailed(errors.New("collector.yaml:7: alerting.rules[0].threshold.ds: unknown data source"))
	b.traffic("if:1", 900)
	if got := b.cycle(); got != "UplinkBusy:sw1/if:1" {
		t.Fatalf("a failed reload changed the rules: %q", got)
	}
	if rep := b.eng.Rules(); !strings.Contains(rep.Error, "unknown data source") {
		t.Fatalf("report %+v", rep)
	}
	b.eng.SetRules(b.compile(`    - name: Quiet
      absent: 100
`))
	b.traffic("if:1", 900)
	if got := b.cycle(); got != "" {
		t.Fatalf("after the reload removed the rule: %q", got)
	}
	if st, _ := b.statusOf("sw1", "if:1"); st != status.Up {
		t.Fatalf("the removed rule's hold stays: %v", st)
	}
	if rep := b.eng.Rules(); rep.Error != "" {
		t.Fatalf("a good reload keeps the old error: %q", rep.Error)
	}
}

// TestNewAttributesSelected: an interface discovered after the rules
// selected their attributes is selected once the inventory says so
// (InventoryChanged) and MinCatalogGap has passed.
func TestNewAttributesSelected(t *testing.T) {
	b := newRuleBed(t, strings.Replace(busyRule, "for: 2m", "for: 0s", 1))
	b.apply(inventory.IngestUpdate{Hosts: []wire.Host{{Name: "sw2", Attrs: []wire.Attr{
		{Key: "if:9", Kind: wire.KindInterface, Interval: 60, Props: map[string]string{"speed": "1000000000", "ifAlias": "uplink 2"}}}}}})
	b.eng.InventoryChanged()
	b.now = b.now.Add(MinCatalogGap)
	b.cycle() // selects sw2 if:9
	observe := func() {
		b.now = b.now.Add(time.Minute)
		b.oct["sw2"] += uint64(900e6 / 8 * 60)
		b.table.Observe("sw2", "if:9", b.now.UnixMilli(), []latest.Value{{DS: "in_octets", Kind: sample.Counter64, Uint: b.oct["sw2"]}})
	}
	observe()
	observe()
	if got := b.cycle(); got != "UplinkBusy:sw2/if:9" {
		t.Fatalf("the new uplink: %q", got)
	}
	for _, r := range b.eng.Rules().Rules {
		if r.Name == "UplinkBusy" && r.Matches != 2 {
			t.Errorf("UplinkBusy selects %d attributes, want 2", r.Matches)
		}
	}
}

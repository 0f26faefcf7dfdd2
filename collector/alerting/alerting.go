// Package alerting turns the inventory's statuses into alerts and sends
// them to Prometheus Alertmanager (API v2), which routes, groups,
// silences and delivers them (email, chat, paging).
//
// This is the first part of issue 16: the built-in rules and delivery to
// Alertmanager. Every Interval the engine reads the failing attributes
// (inventory.FailingAttributes: Down or Alert; unused ports are not
// failing) and the agents' contact, and computes the firing set:
//
//   - HostUnreachable (critical): a host attribute Down for at least For;
//   - InterfaceDown (warning): an interface Down for at least For (an
//     interface never up since discovery is an unused port, not an alert);
//   - NTPUnsynchronised (warning): an NTP server's sync attribute Down, or
//     Alert because it has no system peer; NTPOffset (warning): Alert
//     otherwise (offset beyond its threshold);
//   - AttributeDown (warning): any other attribute Down for For;
//   - AgentSilent (critical): an enrolled agent with no session for
//     AgentSilence. While an agent is silent, the alerts of its hosts'
//     attributes are withheld: a site that goes dark pages once, not once
//     per port.
//
// Firing alerts are posted every Interval with endsAt three intervals
// ahead (Alertmanager's convention for a sender that keeps re-sending);
// an alert that stops firing is posted once more with endsAt now, so it
// resolves at once. If the collector stops, Alertmanager resolves what it
// last received when endsAt passes; on start the engine re-sends what
// fires, with the original startsAt (the status's start), so Alertmanager
// sees the same alerts, not new ones.
package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/latest"
	"github.com/outpost-nms/outpost/collector/metrics"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Defaults of Config.
const (
	DefaultInterval     = 30 * time.Second
	DefaultFor          = time.Minute
	DefaultAgentSilence = 5 * time.Minute
)

// Config tunes the engine.
type Config struct {
	Alertmanagers []string      // base URLs (http://host:9093)
	Webhooks      []Webhook     // signed JSON posts of each change (webhook.go); need an Outbox
	Interval      time.Duration // evaluation and re-send period
	For           time.Duration // how long a status must hold before it fires
	AgentSilence  time.Duration // no session for this long: AgentSilent
	ExternalURL   string        // the web UI's address, for generatorURL links
	Now           func() time.Time
	Client        *http.Client
	// Rules are the user rules and built-in overrides (CompileRules);
	// nil: none. SetRules replaces them.
	Rules *RuleSet
	// Store and Latest are what user threshold, absent and status rules
	// read and write; without them only the built-in rules run.
	Store  RuleStore
	Latest *latest.Table
	// CatalogRefresh is how often the attributes the rules select are
	// re-read; default DefaultCatalogRefresh.
	CatalogRefresh time.Duration
}

// Source is what the engine reads.
type Source interface {
	FailingAttributes(ctx context.Context) ([]inventory.Failing, error)
	ListAgents(ctx context.Context) ([]inventory.Agent, error)
}

// Contacts tells whether an agent has a session up, and when its last one
// ended (ingest.Server.Contact).
type Contacts interface {
	Contact(agent string) (connected bool, lastEnd time.Time)
}

// Alert is one alert as Alertmanager's API v2 takes it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// fingerprint identifies an alert by its labels.
func (a Alert) fingerprint() string {
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(a.Labels[k])
		b.WriteByte(0)
	}
	return b.String()
}

// Engine evaluates and delivers. Create with New, run with Run.
type Engine struct {
	cfg      Config
	src      Source
	contacts Contacts
	m        *metrics.Collector
	log      *slog.Logger
	outbox   Outbox
	started  time.Time
	firing   map[string]Alert // by fingerprint, as last sent
	wake     chan struct{}
	// invChanged is set by InventoryChanged, cleared by a new catalog.
	invChanged atomic.Bool

	mu          sync.Mutex // guards rules, rulesErr, rulesAt, stale, report
	rules       *RuleSet
	rulesErr    string    // why the last reload failed; "" when it did not
	rulesAt     time.Time // when the rules in use were loaded
	rulesErrAt  time.Time
	stale       bool // the catalog must be rebuilt (new rules)
	lastFiring  map[string]int
	cat         *catalog
	holds       map[[2]string]inventory.RuleHold // as saved in the inventory
	holdsLoaded bool
	// matches counts, per user rule of matchRules, the attributes it
	// selected at catalogAt; builtinMatches the same for built-in rules.
	matches        []int
	builtinMatches map[string]int
	matchRules     *RuleSet
	catalogAt      time.Time
	deliveries     map[string]*DeliveryInfo
	agents         int // enrolled agents at the last cycle (AgentSilent's selection)
}

// RuleInfo describes one rule for the rules page.
type RuleInfo struct {
	Name      string        `json:"name"`
	Builtin   bool          `json:"builtin"`
	Disabled  bool          `json:"disabled"`
	Severity  string        `json:"severity"`
	For       time.Duration `json:"for_ns"`
	Condition string        `json:"condition"`
	Matches   int           `json:"matches"` // attributes it selects now (-1: not yet counted)
	Firing    int           `json:"firing"`  // alerts it fires now
}

// RulesReport is the rules in use and the state of their last reload.
type RulesReport struct {
	Rules     []RuleInfo `json:"rules"`
	LoadedAt  time.Time  `json:"loaded_at"`
	CountedAt time.Time  `json:"counted_at"`             // when Matches were counted
	Error     string     `json:"reload_error,omitempty"` // why the last reload was refused
	ErrorAt   time.Time  `json:"reload_error_at,omitzero"`
	// Delivery is how posts to each Alertmanager and webhook went.
	Delivery []DeliveryInfo `json:"delivery"`
}

var builtinInfo = map[string][2]string{
	"AgentSilent":       {"critical", "no contact from an agent for alerting.agent_silence"},
	"HostUnreachable":   {"critical", "a host Down"},
	"InterfaceDown":     {"warning", "an interface Down that was up (unused ports never alert)"},
	"NTPUnsynchronised": {"warning", "an NTP server without a system peer or not answering"},
	"NTPOffset":         {"warning", "an NTP server's offset beyond its threshold (Alert)"},
	"AttributeDown":     {"warning", "any other attribute Down"},
}

// Rules reports the built-in and user rules, how many attributes each
// selects and how many alerts each fires.
func (e *Engine) Rules() RulesReport {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := RulesReport{LoadedAt: e.rulesAt, Error: e.rulesErr, ErrorAt: e.rulesErrAt, CountedAt: e.catalogAt, Delivery: []DeliveryInfo{}}
	for _, d := range e.deliveries {
		r.Delivery = append(r.Delivery, *d)
	}
	sort.Slice(r.Delivery, func(i, j int) bool { return r.Delivery[i].Target < r.Delivery[j].Target })
	for _, name := range config.BuiltinRules {
		ov := e.rules.overrides[name]
		info := builtinInfo[name]
		ri := RuleInfo{Name: name, Builtin: true, Disabled: ov.disabled, Severity: info[0], For: e.cfg.For, Condition: info[1], Matches: -1, Firing: e.lastFiring[name]}
		if name == "AgentSilent" {
			ri.For, ri.Matches = e.cfg.AgentSilence, e.agents
		}
		if ov.severity != "" {
			ri.Severity = ov.severity
		}
		if ov.forD > 0 {
			ri.For = ov.forD
		}
		if n, ok := e.builtinMatches[name]; ok {
			ri.Matches = n
		}
		r.Rules = append(r.Rules, ri)
	}
	for i, c := range e.rules.user {
		ri := RuleInfo{Name: c.name, Severity: c.severity, For: c.forD, Condition: c.condition(), Matches: -1, Firing: e.lastFiring[c.name]}
		if e.matchRules == e.rules && i < len(e.matches) {
			ri.Matches = e.matches[i]
		}
		r.Rules = append(r.Rules, ri)
	}
	return r
}

// New returns an engine; m may be nil, and so may outbox when no webhook
// is configured.
func New(cfg Config, src Source, contacts Contacts, outbox Outbox, m *metrics.Collector, log *slog.Logger) *Engine {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.For < 0 {
		cfg.For = 0
	} else if cfg.For == 0 {
		cfg.For = DefaultFor
	}
	if cfg.AgentSilence <= 0 {
		cfg.AgentSilence = DefaultAgentSilence
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.CatalogRefresh <= 0 {
		cfg.CatalogRefresh = DefaultCatalogRefresh
	}
	rules := cfg.Rules
	if rules == nil {
		rules = &RuleSet{overrides: map[string]override{}, wanted: map[string]bool{}}
	}
	e := &Engine{cfg: cfg, src: src, contacts: contacts, outbox: outbox, m: m, log: log, started: cfg.Now(), firing: map[string]Alert{}, wake: make(chan struct{}, 1),
		rules: rules, rulesAt: cfg.Now(), stale: true}
	if cfg.Latest != nil {
		cfg.Latest.SetWanted(rules.wanted)
	}
	return e
}

// SetRules replaces the rules (a reload); the attributes they select are
// re-read at the next cycle, and the state of rules that keep their name
// carries over.
func (e *Engine) SetRules(rs *RuleSet) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules, e.rulesAt, e.rulesErr, e.stale = rs, e.cfg.Now(), "", true
	if e.cfg.Latest != nil {
		e.cfg.Latest.SetWanted(rs.wanted)
	}
}

// RulesFailed records why a reload was refused; the rules in use stay.
func (e *Engine) RulesFailed(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rulesErr, e.rulesErrAt = err.Error(), e.cfg.Now()
}

// MinCycleGap is the least time between two cycles that Wake starts: a
// storm of status changes costs at most one cycle a second.
const MinCycleGap = time.Second

// MinCatalogGap is the least time between two selections of the
// attributes rules read when the inventory changes (InventoryChanged).
const MinCatalogGap = time.Minute

// InventoryChanged tells the engine that attributes were created or
// redescribed: the rules select again at a cycle at least MinCatalogGap
// after the last selection. It never blocks.
func (e *Engine) InventoryChanged() { e.invChanged.Store(true) }

// Wake asks for a cycle now rather than at the next Interval (ingest
// calls it when a status changes); it never blocks.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run evaluates and sends every Interval, and soon after Wake, until ctx
// ends.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	full := true
	for {
		start := time.Now()
		if err := e.cycle(ctx, full); err != nil && ctx.Err() == nil {
			e.log.Warn("alerting cycle", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			full = true
		case <-e.wake:
			full = false
			if gap := MinCycleGap - time.Since(start); gap > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(gap):
				}
			}
		}
	}
}

// Cycle evaluates the rules once and sends the firing and newly resolved
// alerts to every Alertmanager.
func (e *Engine) Cycle(ctx context.Context) error { return e.cycle(ctx, true) }

// cycle is Cycle; a cycle that is not full (started by Wake) posts to
// Alertmanager only the alerts that started or stopped firing, so status
// churn does not re-send every firing alert each second; the next full
// cycle re-sends them all.
func (e *Engine) cycle(ctx context.Context, full bool) error {
	now := e.cfg.Now()
	alerts, err := e.Evaluate(ctx, now)
	if err != nil {
		return err
	}
	next := map[string]Alert{}
	var batch []Alert
	for _, a := range alerts {
		a.EndsAt = now.Add(3 * e.cfg.Interval)
		fp := a.fingerprint()
		if _, was := e.firing[fp]; was && !full {
			next[fp] = e.firing[fp] // as last sent, with its endsAt
			continue
		}
		next[fp] = a
		batch = append(batch, a)
	}
	for fp, a := range e.firing {
		if _, still := next[fp]; !still {
			a.EndsAt = now
			batch = append(batch, a)
		}
	}
	e.firing = next
	if e.m != nil {
		e.m.AlertsFiring.Set(float64(len(next)))
	}
	var firstErr error
	if e.outbox != nil {
		silences, err := e.outbox.Silences(ctx, now, inventory.MaxSilences)
		if err != nil {
			return err
		}
		firstErr = e.notifyWebhooks(ctx, now, alerts, silences)
		if err := e.syncSilences(ctx, silences, now); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if len(batch) == 0 {
		return firstErr
	}
	for _, am := range e.cfg.Alertmanagers {
		err := e.post(ctx, am, batch)
		e.noteDelivery("alertmanager "+am, now, err)
		if err != nil {
			if e.m != nil {
				e.m.AlertDeliveryErrors.WithLabelValues(am).Inc()
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// DeliveryInfo is how deliveries to one Alertmanager or webhook went.
type DeliveryInfo struct {
	Target    string    `json:"target"` // "alertmanager URL" or "webhook NAME"
	LastOK    time.Time `json:"last_ok,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"error_at,omitzero"`
	Failures  int       `json:"failures"` // since the collector started
}

// noteDelivery records the outcome of a post for the UI.
func (e *Engine) noteDelivery(target string, now time.Time, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.deliveries == nil {
		e.deliveries = map[string]*DeliveryInfo{}
	}
	d := e.deliveries[target]
	if d == nil {
		d = &DeliveryInfo{Target: target}
		e.deliveries[target] = d
	}
	if err != nil {
		d.LastError, d.ErrorAt = err.Error(), now
		d.Failures++
		return
	}
	d.LastOK = now
}

func (e *Engine) post(ctx context.Context, base string, alerts []Alert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alertmanager %s: %w", base, err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager %s: %w", base, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("alertmanager %s: %s", base, res.Status)
	}
	return nil
}

// Evaluate returns the alerts firing at now (StartsAt set, EndsAt not).
// It also advances the user rules' state and saves the statuses their
// threshold and absent rules hold (inventory.SetRuleHolds).
func (e *Engine) Evaluate(ctx context.Context, now time.Time) ([]Alert, error) {
	e.mu.Lock()
	rs, stale := e.rules, e.stale
	e.mu.Unlock()
	agents, err := e.src.ListAgents(ctx)
	if err != nil {
		return nil, err
	}
	silentOv := rs.overrides["AgentSilent"]
	silence := e.cfg.AgentSilence
	if silentOv.forD > 0 {
		silence = silentOv.forD
	}
	silent := map[string]bool{}
	var out []Alert
	enrolled := 0
	for _, ag := range agents {
		if ag.Revoked() {
			continue
		}
		enrolled++
		connected, lastEnd := e.contacts.Contact(ag.Name)
		if connected {
			continue
		}
		since := lastEnd
		if since.IsZero() {
			// No session ended since the collector started: the agent has
			// been silent since it started at the latest.
			since = e.started
			if ag.LastSeen.After(since) {
				since = ag.LastSeen
			}
		}
		if now.Sub(since) < silence {
			continue
		}
		silent[ag.Name] = true
		if silentOv.disabled {
			continue
		}
		a := Alert{
			Labels: map[string]string{"alertname": "AgentSilent", "severity": "critical", "agent": ag.Name},
			Annotations: map[string]string{"summary": fmt.Sprintf("agent %s has not been in contact for %s", ag.Name, now.Sub(since).Round(time.Second)),
				"description": "The site's hosts are shown as last known; their own alerts are withheld until the agent is back."},
			StartsAt: since.Add(silence),
		}
		silentOv.apply(&a)
		out = append(out, a)
	}
	e.mu.Lock()
	e.agents = enrolled
	e.mu.Unlock()
	failing, err := e.src.FailingAttributes(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range failing {
		if silent[f.Agent] || f.Rule != "" {
			// A status a user rule holds is that rule's alert.
			continue
		}
		name, severity := rule(f)
		if name == "" {
			continue
		}
		ov := rs.overrides[name]
		forD := e.cfg.For
		if ov.forD > 0 {
			forD = ov.forD
		}
		if ov.disabled || now.Sub(f.Since) < forD {
			continue
		}
		labels := map[string]string{"alertname": name, "severity": severity, "host": f.Host, "attribute": f.Key, "kind": f.Kind}
		if f.Agent != "" {
			labels["agent"] = f.Agent
		}
		a := Alert{Labels: labels, StartsAt: f.Since,
			Annotations: map[string]string{"summary": fmt.Sprintf("%s %s is %s", f.Host, display(f), f.Status), "description": f.Reason}}
		if e.cfg.ExternalURL != "" {
			a.GeneratorURL = strings.TrimRight(e.cfg.ExternalURL, "/") + "/hosts/" + f.Host
		}
		ov.apply(&a)
		out = append(out, a)
	}
	if e.cfg.Store == nil || e.cfg.Latest == nil {
		e.noteFiring(out)
		return out, nil
	}
	user, err := e.evaluateUser(ctx, rs, stale, now, silent)
	if err != nil {
		return nil, err
	}
	out = append(out, user...)
	e.noteFiring(out)
	return out, nil
}

// apply sets an override's severity, labels and annotations on a
// built-in rule's alert.
func (o override) apply(a *Alert) {
	if o.severity != "" {
		a.Labels["severity"] = o.severity
	}
	for k, v := range o.labels {
		a.Labels[k] = v
	}
	for k, v := range o.annotations {
		a.Annotations[k] = v
	}
}

// evaluateUser evaluates the user rules and saves the statuses they hold.
func (e *Engine) evaluateUser(ctx context.Context, rs *RuleSet, stale bool, now time.Time, silent map[string]bool) ([]Alert, error) {
	if !e.holdsLoaded {
		saved, err := e.cfg.Store.RuleHolds(ctx)
		if err != nil {
			return nil, err
		}
		e.holds = make(map[[2]string]inventory.RuleHold, len(saved))
		for _, h := range saved {
			e.holds[[2]string{h.Host, h.Key}] = h
		}
		e.holdsLoaded = true
	}
	if stale || e.cat == nil || now.Sub(e.cat.at) >= e.cfg.CatalogRefresh || (e.invChanged.Load() && now.Sub(e.cat.at) >= MinCatalogGap) {
		e.invChanged.Store(false)
		c, err := buildCatalog(ctx, e.cfg.Store, rs, e.cfg.Latest, e.cat, e.holds, now)
		if err != nil {
			return nil, err
		}
		e.cat = c
		e.mu.Lock()
		e.matches, e.builtinMatches, e.catalogAt = c.matches, c.builtin, now
		e.matchRules = rs
		if e.rules == rs {
			e.stale = false
		}
		e.mu.Unlock()
	}
	want, out := e.evalTargets(e.cat, rs, now, silent)
	hasStatus := false
	for _, r := range rs.user {
		hasStatus = hasStatus || r.cond == condStatus
	}
	if hasStatus {
		notUp, err := e.cfg.Store.NotUpAttributes(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, e.evalStatusRules(notUp, rs, now, silent)...)
	}
	var diff []inventory.RuleHold
	for k, h := range want {
		if old, ok := e.holds[k]; !ok || old.Rule != h.Rule || old.Status != h.Status {
			// A held attribute's reason keeps the value it fired at: no
			// write per cycle while it holds.
			diff = append(diff, h)
		}
	}
	for k, old := range e.holds {
		if _, ok := want[k]; !ok {
			diff = append(diff, inventory.RuleHold{Host: old.Host, Key: old.Key})
		}
	}
	if len(diff) > 0 {
		if _, err := e.cfg.Store.SetRuleHolds(ctx, diff, now); err != nil {
			return nil, err
		}
		e.holds = want
	}
	return out, nil
}

// noteFiring counts the firing alerts by rule for Rules.
func (e *Engine) noteFiring(alerts []Alert) {
	n := map[string]int{}
	for _, a := range alerts {
		n[a.Labels["alertname"]]++
	}
	e.mu.Lock()
	e.lastFiring = n
	e.mu.Unlock()
}

func display(f inventory.Failing) string {
	if f.Name != "" {
		return f.Name
	}
	return f.Key
}

// rule names the built-in rule a failing attribute fires, with its severity.
func rule(f inventory.Failing) (name, severity string) {
	switch {
	case f.Kind == wire.KindNTPPeer:
		return "", "" // one association of a server: its sync attribute says what matters
	case f.Kind == wire.KindHost && f.Status == status.Down:
		return "HostUnreachable", "critical"
	case f.Kind == wire.KindInterface && f.Status == status.Down:
		return "InterfaceDown", "warning"
	case f.Kind == wire.KindNTP && (f.Status == status.Down || strings.Contains(f.Reason, "unsynchronised")):
		// Down (no answer, stratum 16) or Alert with the agent's reason
		// "unsynchronised: no system peer" (ntpd answering without a peer).
		return "NTPUnsynchronised", "warning"
	case f.Kind == wire.KindNTP && f.Status == status.Alert:
		return "NTPOffset", "warning"
	case f.Status == status.Down:
		return "AttributeDown", "warning"
	}
	return "", ""
}

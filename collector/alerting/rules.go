package alerting

// User rules (alerting.rules): each selects attributes (kind, host and key
// patterns, properties) and fires on one condition:
//
//   - status: the attribute's status is one of a list for For;
//   - threshold: a data source's value or rate, an interface's
//     utilisation (a share of its speed) or error rate, beyond a level
//     for For; it clears only once back past the clear level
//     (hysteresis). While it fires the attribute is held in Alert;
//   - absent: no sample for N of the attribute's poll intervals; the
//     attribute is held in Unknown while it fires.
//
// Thresholds and absence are read from the latest-value table ingest
// fills (collector/latest), for the attributes the rules select: the
// selection is made when the rules change and every CatalogRefresh, so a
// cycle costs a lock and a comparison per selected attribute and rule,
// not a database read. A held status is written to the inventory
// (inventory.SetRuleHolds) only when it changes, and the status the agent
// reports stays apart: a Down port stays Down, and a cleared rule returns
// the attribute to what the agent reports.
//
// Built-in rules are overridden by an entry of their name: disabled,
// severity, for, labels, annotations.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/latest"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// DefaultCatalogRefresh is how often the attributes rules select are
// re-read from the inventory (new hosts and interfaces are picked up).
const DefaultCatalogRefresh = 5 * time.Minute

// RuleStore is the inventory's part user rules use.
type RuleStore interface {
	RuleTargets(ctx context.Context, fn func(inventory.RuleTarget) error) error
	NotUpAttributes(ctx context.Context) ([]inventory.Failing, error)
	RuleHolds(ctx context.Context) ([]inventory.RuleHold, error)
	SetRuleHolds(ctx context.Context, holds []inventory.RuleHold, now time.Time) (int, error)
}

type condition uint8

const (
	condStatus condition = iota + 1
	condThreshold
	condAbsent
)

// compiledRule is a user rule ready to evaluate.
type compiledRule struct {
	name, severity string
	forD           time.Duration
	cond           condition
	kind           string
	hosts, keys    []string
	props          [][2]string // property, pattern; sorted
	statuses       []status.Status
	th             config.Threshold
	above          bool    // fires above level (else below)
	level, clear   float64 // clear: the level it must come back past
	absent         int
	labels         map[string]string
	annotations    map[string]string
}

// override is a built-in rule's entry in alerting.rules.
type override struct {
	disabled    bool
	severity    string
	forD        time.Duration // 0: the engine's
	labels      map[string]string
	annotations map[string]string
}

// RuleSet is a compiled alerting.rules.
type RuleSet struct {
	user      []*compiledRule
	overrides map[string]override
	wanted    map[string]bool // data sources the thresholds read
}

// CompileRules compiles validated rules (config.Load checked them);
// defaultFor is alerting.for.
func CompileRules(rules []config.Rule, defaultFor time.Duration) (*RuleSet, error) {
	rs := &RuleSet{overrides: map[string]override{}, wanted: map[string]bool{}}
	for i, r := range rules {
		forD := defaultFor
		if r.For != nil {
			forD = r.For.D()
		}
		if config.IsBuiltinRule(r.Name) {
			o := override{disabled: r.Disabled, severity: r.Severity, labels: r.Labels, annotations: r.Annotations}
			if r.For != nil {
				o.forD = r.For.D()
			}
			rs.overrides[r.Name] = o
			continue
		}
		if r.Disabled {
			continue
		}
		c := &compiledRule{name: r.Name, severity: r.Severity, forD: forD, kind: r.Match.Kind, hosts: r.Match.Host, keys: r.Match.Key,
			labels: r.Labels, annotations: r.Annotations, absent: r.Absent}
		if c.severity == "" {
			c.severity = "warning"
		}
		for k, p := range r.Match.Props {
			c.props = append(c.props, [2]string{k, p})
		}
		sort.Slice(c.props, func(a, b int) bool { return c.props[a][0] < c.props[b][0] })
		switch {
		case len(r.Status) > 0:
			c.cond = condStatus
			for _, s := range r.Status {
				st, err := status.Parse(s)
				if err != nil {
					return nil, fmt.Errorf("rule %s: %w", r.Name, err)
				}
				c.statuses = append(c.statuses, st)
			}
		case r.Threshold != nil:
			c.cond = condThreshold
			c.th = *r.Threshold
			if c.th.Of == "" {
				c.th.Of = config.OfValue
			}
			if c.th.Above != nil {
				c.above, c.level = true, *c.th.Above
			} else if c.th.Below != nil {
				c.level = *c.th.Below
			} else {
				return nil, fmt.Errorf("rule %s: a threshold needs above or below", r.Name)
			}
			c.clear = c.level
			if c.th.Clear != nil {
				c.clear = *c.th.Clear
			}
			switch c.th.Of {
			case config.OfUtilisation:
				rs.wanted["in_octets"], rs.wanted["out_octets"] = true, true
			case config.OfErrors:
				rs.wanted["in_errors"], rs.wanted["out_errors"] = true, true
			default:
				rs.wanted[c.th.DS] = true
			}
		case r.Absent > 0:
			c.cond = condAbsent
		default:
			return nil, fmt.Errorf("alerting.rules[%d] %s: no condition", i, r.Name)
		}
		rs.user = append(rs.user, c)
	}
	return rs, nil
}

func anyMatch(patterns []string, s string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// selects reports whether the rule selects an attribute; props is its
// properties (parsed on first need through the pointer).
func (c *compiledRule) selects(host, key, kind, propsJSON string, props *map[string]string) bool {
	if c.kind != "" && c.kind != kind {
		return false
	}
	if !anyMatch(c.hosts, host) || !anyMatch(c.keys, key) {
		return false
	}
	if len(c.props) == 0 {
		return true
	}
	if *props == nil {
		m := map[string]string{}
		_ = json.Unmarshal([]byte(propsJSON), &m) // a bad props column selects nothing by props
		*props = m
	}
	for _, p := range c.props {
		v, ok := (*props)[p[0]]
		if !ok {
			return false
		}
		if m, _ := path.Match(p[1], v); !m {
			return false
		}
	}
	return true
}

// ruleState is one (attribute, rule) pair's evaluation state.
type ruleState struct {
	pending int64 // Unix ms the condition started to hold; 0: not holding
	firing  int64 // Unix ms it fired; 0: not firing
	value   float64
}

// target is an attribute that threshold or absent rules select.
type target struct {
	host, agent, key, kind, name string
	interval                     time.Duration
	created                      time.Time
	speed                        float64 // bits/s; 0 unknown
	entry                        *latest.Entry
	rules                        []int32 // indexes in RuleSet.user
	state                        []ruleState
}

// catalog is the attributes the current rules select.
type catalog struct {
	targets []*target
	matches []int // per user rule: attributes it selects
	builtin map[string]int
	at      time.Time
	// rulesNames names the rules the indexes in targets' rules refer to.
	rulesNames []string
}

// buildCatalog reads the inventory's attributes and keeps those the
// threshold and absent rules select, carrying the state of old.
//
// Holds saved before a restart seed the state: an attribute held by a rule
// of the same name starts firing, so a restart neither releases it for
// the rule's For nor notifies again.
func buildCatalog(ctx context.Context, store RuleStore, rs *RuleSet, table *latest.Table, old *catalog, holds map[[2]string]inventory.RuleHold, now time.Time) (*catalog, error) {
	prev := map[[2]string]*target{}
	if old != nil {
		for _, t := range old.targets {
			prev[[2]string{t.host, t.key}] = t
		}
	}
	c := &catalog{matches: make([]int, len(rs.user)), builtin: map[string]int{}, at: now}
	err := store.RuleTargets(ctx, func(rt inventory.RuleTarget) error {
		switch rt.Kind {
		case wire.KindHost:
			c.builtin["HostUnreachable"]++
		case wire.KindInterface:
			c.builtin["InterfaceDown"]++
		case wire.KindNTP:
			c.builtin["NTPUnsynchronised"]++
			c.builtin["NTPOffset"]++
		case wire.KindNTPPeer:
		default:
			c.builtin["AttributeDown"]++
		}
		var props map[string]string
		var t *target
		for i, r := range rs.user {
			if !r.selects(rt.Host, rt.Key, rt.Kind, rt.Props, &props) {
				continue
			}
			c.matches[i]++
			if r.cond == condStatus {
				continue
			}
			if t == nil {
				t = &target{host: rt.Host, agent: rt.Agent, key: rt.Key, kind: rt.Kind, name: rt.Name, interval: rt.Interval, created: rt.Created}
			}
			t.rules = append(t.rules, int32(i))
		}
		if t == nil {
			return nil
		}
		if t.kind == wire.KindInterface {
			if props == nil {
				_ = json.Unmarshal([]byte(rt.Props), &props)
			}
			t.speed, _ = strconv.ParseFloat(props["speed"], 64)
		}
		t.state = make([]ruleState, len(t.rules))
		if h, ok := holds[[2]string{t.host, t.key}]; ok && old == nil {
			for i, ri := range t.rules {
				if rs.user[ri].name == h.Rule {
					t.state[i] = ruleState{pending: now.UnixMilli(), firing: now.UnixMilli()}
				}
			}
		}
		if p := prev[[2]string{t.host, t.key}]; p != nil {
			// Same rule names keep their state across a refresh or reload.
			for i, ri := range t.rules {
				for j, pj := range p.rules {
					if int(pj) < len(old.rulesNames) && old.rulesNames[pj] == rs.user[ri].name {
						t.state[i] = p.state[j]
					}
				}
			}
		}
		if t.entry = table.Ensure(t.host, t.key); t.entry == nil {
			return nil // the table is full: counted there
		}
		c.targets = append(c.targets, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range rs.user {
		c.rulesNames = append(c.rulesNames, r.name)
	}
	keep := make(map[[2]string]bool, len(c.targets))
	for _, t := range c.targets {
		keep[[2]string{t.host, t.key}] = true
	}
	table.Retain(func(h, a string) bool { return keep[[2]string{h, a}] })
	return c, nil
}

// figure computes what a threshold rule compares from the attribute's
// readings (snap, taken at at); NaN when there is no fresh reading.
func (c *compiledRule) figure(t *target, snap []latest.Sample, at, now time.Time) float64 {
	if at.IsZero() || (t.interval > 0 && now.Sub(at) > 3*t.interval) {
		return math.NaN() // none, or stale: absent rules speak for that
	}
	read := func(ds string) float64 {
		for i := range snap {
			if snap[i].DS == ds {
				if c.th.Of == config.OfValue {
					return snap[i].Value
				}
				return snap[i].Rate
			}
		}
		return math.NaN()
	}
	switch c.th.Of {
	case config.OfUtilisation:
		if t.speed <= 0 {
			return math.NaN()
		}
		in, out := read("in_octets"), read("out_octets")
		var v float64
		switch c.th.Direction {
		case "in":
			v = in
		case "out":
			v = out
		default:
			v = maxKnown(in, out)
		}
		return v * 8 / t.speed * 100
	case config.OfErrors:
		in, out := read("in_errors"), read("out_errors")
		switch c.th.Direction {
		case "in":
			return in
		case "out":
			return out
		}
		if math.IsNaN(in) || math.IsNaN(out) {
			return maxKnown(in, out)
		}
		return in + out
	default:
		return read(c.th.DS)
	}
}

func maxKnown(a, b float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return math.Max(a, b)
}

// describe says why a threshold rule fires, for the status reason.
func (c *compiledRule) describe(v float64) string {
	what := c.th.Of
	switch c.th.Of {
	case config.OfValue:
		what = c.th.DS
	case config.OfRate:
		what = c.th.DS + " rate"
	}
	if c.th.Direction != "" {
		what += " " + c.th.Direction
	}
	unit := ""
	switch c.th.Of {
	case config.OfUtilisation:
		unit = "%"
	case config.OfRate, config.OfErrors:
		unit = "/s"
	}
	cmp := "above"
	if !c.above {
		cmp = "below"
	}
	return fmt.Sprintf("rule %s: %s %s%s %s %s%s", c.name, what, strconv.FormatFloat(v, 'g', 4, 64), unit, cmp, strconv.FormatFloat(c.level, 'g', 6, 64), unit)
}

// evalTargets advances the threshold and absent rules' state to now and
// returns the holds they want (by host and key) and the firing pairs.
func (e *Engine) evalTargets(c *catalog, rs *RuleSet, now time.Time, silent map[string]bool) (map[[2]string]inventory.RuleHold, []Alert) {
	holds := map[[2]string]inventory.RuleHold{}
	var out []Alert
	nowMS := now.UnixMilli()
	var snap []latest.Sample
	for _, t := range c.targets {
		var at time.Time
		snap, at = t.entry.Snapshot(snap)
		for i, ri := range t.rules {
			r := rs.user[ri]
			st := &t.state[i]
			var cond bool
			var lastSeen time.Time
			switch r.cond {
			case condThreshold:
				v := r.figure(t, snap, at, now)
				if math.IsNaN(v) {
					continue // no fresh reading: the state stays as it is
				}
				st.value = v
				if st.firing != 0 {
					cond = (r.above && v > r.clear) || (!r.above && v < r.clear)
				} else {
					cond = (r.above && v > r.level) || (!r.above && v < r.level)
				}
			case condAbsent:
				if t.interval <= 0 {
					continue
				}
				lastSeen = at
				if lastSeen.IsZero() {
					lastSeen = e.started
					if t.created.After(lastSeen) {
						lastSeen = t.created
					}
				}
				gap := now.Sub(lastSeen)
				cond = gap >= time.Duration(r.absent)*t.interval
				st.value = gap.Seconds()
			default:
				continue
			}
			switch {
			case !cond:
				st.pending, st.firing = 0, 0
				continue
			case st.firing == 0 && st.pending == 0:
				st.pending = nowMS
			}
			if st.firing == 0 && nowMS-st.pending >= r.forD.Milliseconds() {
				st.firing = nowMS
			}
			if st.firing == 0 {
				continue
			}
			// Words only for what fires: a cycle over a million healthy
			// attributes formats nothing.
			var reason string
			if r.cond == condAbsent {
				reason = fmt.Sprintf("rule %s: no data since %s (%d poll intervals of %s)", r.name, lastSeen.UTC().Format(time.RFC3339), r.absent, t.interval)
			} else {
				reason = r.describe(st.value)
			}
			k := [2]string{t.host, t.key}
			if _, taken := holds[k]; !taken {
				hs := status.Alert
				if r.cond == condAbsent {
					hs = status.Unknown
				}
				holds[k] = inventory.RuleHold{Host: t.host, Key: t.key, Rule: r.name, Status: hs, Reason: reason}
			}
			if silent[t.agent] {
				continue
			}
			out = append(out, e.userAlert(r, t.host, t.agent, t.key, t.kind, t.name, reason, time.UnixMilli(st.pending)))
		}
	}
	return holds, out
}

// condition says in words what the rule fires on.
func (c *compiledRule) condition() string {
	var b strings.Builder
	switch c.cond {
	case condStatus:
		var names []string
		for _, s := range c.statuses {
			names = append(names, s.String())
		}
		fmt.Fprintf(&b, "status %s", strings.Join(names, " or "))
	case condThreshold:
		what := c.th.Of
		if c.th.Of == config.OfValue || c.th.Of == config.OfRate {
			what = c.th.DS + " " + c.th.Of
		}
		if c.th.Direction != "" {
			what += " " + c.th.Direction
		}
		cmp := "above"
		if !c.above {
			cmp = "below"
		}
		fmt.Fprintf(&b, "%s %s %g (clears at %g)", what, cmp, c.level, c.clear)
	case condAbsent:
		fmt.Fprintf(&b, "no data for %d poll intervals", c.absent)
	}
	if c.kind != "" {
		fmt.Fprintf(&b, "; kind %s", c.kind)
	}
	if len(c.hosts) > 0 {
		fmt.Fprintf(&b, "; host %s", strings.Join(c.hosts, ", "))
	}
	if len(c.keys) > 0 {
		fmt.Fprintf(&b, "; key %s", strings.Join(c.keys, ", "))
	}
	for _, p := range c.props {
		fmt.Fprintf(&b, "; %s %s", p[0], p[1])
	}
	return b.String()
}

// userAlert is the alert of a user rule on one attribute.
func (e *Engine) userAlert(r *compiledRule, host, agent, key, kind, name, reason string, since time.Time) Alert {
	labels := map[string]string{"alertname": r.name, "severity": r.severity, "host": host, "attribute": key, "kind": kind}
	if agent != "" {
		labels["agent"] = agent
	}
	for k, v := range r.labels {
		labels[k] = v
	}
	shown := name
	if shown == "" {
		shown = key
	}
	ann := map[string]string{"summary": fmt.Sprintf("%s %s: %s", host, shown, reason)}
	for k, v := range r.annotations {
		ann[k] = expand(v, host, key, shown, reason)
	}
	a := Alert{Labels: labels, Annotations: ann, StartsAt: since}
	if e.cfg.ExternalURL != "" {
		a.GeneratorURL = strings.TrimRight(e.cfg.ExternalURL, "/") + "/hosts/" + host
	}
	return a
}

// expand fills an annotation's placeholders: {{host}}, {{attribute}},
// {{name}}, {{reason}}.
func expand(s, host, key, name, reason string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return strings.NewReplacer("{{host}}", host, "{{attribute}}", key, "{{name}}", name, "{{reason}}", reason).Replace(s)
}

// evalStatusRules fires the status rules on the attributes that are not Up.
func (e *Engine) evalStatusRules(notUp []inventory.Failing, rs *RuleSet, now time.Time, silent map[string]bool) []Alert {
	var out []Alert
	for _, f := range notUp {
		if silent[f.Agent] {
			continue
		}
		var props map[string]string
		for _, r := range rs.user {
			if r.cond != condStatus || now.Sub(f.Since) < r.forD || !hasStatus(r.statuses, f.Status) {
				continue
			}
			if !r.selects(f.Host, f.Key, f.Kind, f.Props, &props) {
				continue
			}
			reason := fmt.Sprintf("%s since %s", f.Status, f.Since.UTC().Format(time.RFC3339))
			if f.Reason != "" {
				reason += ": " + f.Reason
			}
			out = append(out, e.userAlert(r, f.Host, f.Agent, f.Key, f.Kind, f.Name, reason, f.Since))
		}
	}
	return out
}

func hasStatus(list []status.Status, s status.Status) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

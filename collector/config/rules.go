package config

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"sort"
	"time"

	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Rule is one alert rule of alerting.rules: a selection of attributes and
// one condition (status, threshold or absent), or, when its name is a
// built-in rule's (BuiltinRules), an override of that rule (disabled,
// severity, for, labels, annotations only).
type Rule struct {
	Name     string               `yaml:"name"`     // the alertname; letters, digits, '_'; unique
	Disabled bool                 `yaml:"disabled"` // off (for a built-in rule: not evaluated)
	Severity string               `yaml:"severity"` // critical, warning or info; default warning
	For      *configfile.Duration `yaml:"for"`      // how long the condition holds before it fires; default alerting.for
	Match    RuleMatch            `yaml:"match"`
	// Status fires while the attribute's status is one of these (down,
	// alert, unknown, testing, admin-down) for For.
	Status []string `yaml:"status"`
	// Threshold fires while a value crosses a level for For; it puts the
	// attribute into Alert.
	Threshold *Threshold `yaml:"threshold"`
	// Absent fires when the attribute has had no sample for this many of
	// its poll intervals; it puts the attribute into Unknown.
	Absent      int               `yaml:"absent"`
	Labels      map[string]string `yaml:"labels"`      // added to the alert's labels
	Annotations map[string]string `yaml:"annotations"` // summary, description, runbook_url...
}

// RuleMatch selects attributes; every field given must match. Patterns
// are path.Match globs ("core-*", "if:ge-0/0/*"); a list matches when any
// of its patterns does.
type RuleMatch struct {
	Kind  string            `yaml:"kind"`  // host, interface, ntp, ntp-peer, oid, storage, processor
	Host  []string          `yaml:"host"`  // host name patterns
	Key   []string          `yaml:"key"`   // attribute key patterns
	Props map[string]string `yaml:"props"` // property name -> pattern (ifType: "6", ifAlias: "*uplink*")
}

// Threshold compares one figure of an attribute with a level.
type Threshold struct {
	// Of is what is compared: value (a data source's last reading, the
	// default), rate (its change per second; counters wrap as rrdtool's
	// do), utilisation (an interface's traffic as a percentage of its
	// speed) or errors (an interface's in_errors + out_errors per second).
	Of string `yaml:"of"`
	// DS names the data source for value and rate.
	DS string `yaml:"ds"`
	// Direction is in, out or max (the default: the busier of the two)
	// for utilisation; in, out or both (the default: their sum) for errors.
	Direction string   `yaml:"direction"`
	Above     *float64 `yaml:"above"` // fires above this level, or
	Below     *float64 `yaml:"below"` // fires below this level
	// Clear is the level the figure must come back past for the alert to
	// clear (hysteresis); default the firing level.
	Clear *float64 `yaml:"clear"`
}

// Threshold kinds (Threshold.Of).
const (
	OfValue       = "value"
	OfRate        = "rate"
	OfUtilisation = "utilisation"
	OfErrors      = "errors"
)

// BuiltinRules names the rules the collector has without configuration;
// an alerting.rules entry of one of these names overrides it.
var BuiltinRules = []string{"AgentSilent", "HostUnreachable", "InterfaceDown", "NTPUnsynchronised", "NTPOffset", "AttributeDown"}

// Severities are the severities a rule may have.
var Severities = []string{"critical", "warning", "info"}

// KnownDS lists the data sources each kind of attribute has (what the
// agent sends); a rule on one of these kinds must name one of them.
// Kinds absent here (oid) have data sources of the user's choosing.
var KnownDS = map[string][]string{
	wire.KindHost: {"rtt", "reachable"},
	wire.KindInterface: {"in_octets", "out_octets", "in_ucast", "out_ucast", "in_mcast", "out_mcast", "in_bcast", "out_bcast",
		"in_errors", "out_errors", "in_discards", "out_discards"},
	wire.KindNTP:       {"offset", "jitter", "stratum", "synced"},
	wire.KindNTPPeer:   {"offset", "delay", "jitter", "reach"},
	wire.KindStorage:   {"size", "used"},
	wire.KindProcessor: {"load"},
	wire.KindOID:       nil,
}

// ReservedLabels are set by the collector on every alert; rules cannot
// set them.
var ReservedLabels = []string{"alertname", "severity", "host", "attribute", "kind", "agent"}

var (
	ruleNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,99}$`)
	labelNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,99}$`)
	dsNameRE    = regexp.MustCompile(`^[A-Za-z0-9_]{1,19}$`) // rrdtool's data source names
)

// MaxRules bounds alerting.rules.
const MaxRules = 1000

// IsBuiltinRule reports whether name is a built-in rule's.
func IsBuiltinRule(name string) bool {
	for _, b := range BuiltinRules {
		if b == name {
			return true
		}
	}
	return false
}

func validPatterns(list []string) (string, bool) {
	for _, p := range list {
		if p == "" {
			return p, false
		}
		if _, err := path.Match(p, ""); err != nil {
			return p, false
		}
	}
	return "", true
}

// checkRules validates alerting.rules, reporting through fail.
func checkRules(rules []Rule, fail func(path, format string, args ...any)) {
	if len(rules) > MaxRules {
		fail("alerting.rules", "%d rules; at most %d", len(rules), MaxRules)
		return
	}
	names := map[string]bool{}
	for i, r := range rules {
		p := fmt.Sprintf("alerting.rules[%d]", i)
		switch {
		case !ruleNameRE.MatchString(r.Name):
			fail(p+".name", "%q is not a rule name (letters, digits and '_', not starting with a digit)", r.Name)
		case names[r.Name]:
			fail(p+".name", "%q: a rule of this name is already defined", r.Name)
		}
		names[r.Name] = true
		if r.Severity != "" && !oneOf(r.Severity, Severities) {
			fail(p+".severity", "%q: want one of %v", r.Severity, Severities)
		}
		if r.For != nil {
			if d := r.For.D(); d < 0 || d > 24*time.Hour {
				fail(p+".for", "%s out of range (0 to 24h)", r.For)
			}
		}
		checkLabels(p+".labels", r.Labels, true, fail)
		checkLabels(p+".annotations", r.Annotations, false, fail)
		conditions := 0
		if len(r.Status) > 0 {
			conditions++
		}
		if r.Threshold != nil {
			conditions++
		}
		if r.Absent != 0 {
			conditions++
		}
		m := r.Match
		selects := m.Kind != "" || len(m.Host) > 0 || len(m.Key) > 0 || len(m.Props) > 0
		if IsBuiltinRule(r.Name) {
			if conditions > 0 || selects {
				fail(p+".name", "%q is a built-in rule: an entry of its name may only set disabled, severity, for, labels and annotations", r.Name)
			}
			continue
		}
		switch {
		case conditions == 0 && !r.Disabled:
			fail(p, "rule %q needs one condition: status, threshold or absent", r.Name)
		case conditions > 1:
			fail(p, "rule %q has %d conditions; give one of status, threshold or absent", r.Name, conditions)
		}
		if m.Kind != "" {
			if _, ok := KnownDS[m.Kind]; !ok {
				fail(p+".match.kind", "unknown kind %q (want one of %v)", m.Kind, kindNames())
			}
		}
		if bad, ok := validPatterns(m.Host); !ok {
			fail(p+".match.host", "bad pattern %q", bad)
		}
		if bad, ok := validPatterns(m.Key); !ok {
			fail(p+".match.key", "bad pattern %q", bad)
		}
		for _, k := range sortedKeys(m.Props) {
			if bad, ok := validPatterns([]string{m.Props[k]}); !ok {
				fail(p+".match.props."+k, "bad pattern %q", bad)
			}
		}
		for j, s := range r.Status {
			st, err := status.Parse(s)
			if err != nil {
				fail(fmt.Sprintf("%s.status[%d]", p, j), "%v", err)
			} else if st == status.Up {
				fail(fmt.Sprintf("%s.status[%d]", p, j), "a rule cannot fire on Up")
			}
		}
		if r.Absent < 0 || r.Absent > 1000 {
			fail(p+".absent", "%d out of range (1 to 1000 poll intervals)", r.Absent)
		}
		if r.Threshold != nil {
			checkThreshold(p+".threshold", m.Kind, r.Threshold, fail)
		}
	}
}

func checkThreshold(p, kind string, t *Threshold, fail func(path, format string, args ...any)) {
	if t.Of == "" {
		t.Of = OfValue
	}
	switch t.Of {
	case OfValue, OfRate:
		if !dsNameRE.MatchString(t.DS) {
			fail(p+".ds", "%q: a threshold on a %s needs a data source name", t.DS, t.Of)
		} else if known := KnownDS[kind]; known != nil && !oneOf(t.DS, known) {
			fail(p+".ds", "unknown data source %q for kind %s (want one of %v)", t.DS, kind, known)
		}
		if t.Direction != "" {
			fail(p+".direction", "only for utilisation and errors")
		}
	case OfUtilisation, OfErrors:
		if kind != wire.KindInterface {
			fail(p+".of", "%s needs match.kind: interface", t.Of)
		}
		if t.DS != "" {
			fail(p+".ds", "%s reads the interface's own counters; no ds", t.Of)
		}
		dirs := []string{"in", "out", "max"}
		if t.Of == OfErrors {
			dirs = []string{"in", "out", "both"}
		}
		if t.Direction != "" && !oneOf(t.Direction, dirs) {
			fail(p+".direction", "%q: want one of %v", t.Direction, dirs)
		}
	default:
		fail(p+".of", "%q: want value, rate, utilisation or errors", t.Of)
	}
	finite := func(f *float64) bool { return f == nil || (!math.IsNaN(*f) && !math.IsInf(*f, 0)) }
	switch {
	case (t.Above == nil) == (t.Below == nil):
		fail(p, "give one of above or below")
	case !finite(t.Above) || !finite(t.Below) || !finite(t.Clear):
		fail(p, "levels must be finite numbers")
	case t.Above != nil && t.Clear != nil && *t.Clear > *t.Above:
		fail(p+".clear", "%g is above the firing level %g (an alert above a level clears at or below it)", *t.Clear, *t.Above)
	case t.Below != nil && t.Clear != nil && *t.Clear < *t.Below:
		fail(p+".clear", "%g is below the firing level %g (an alert below a level clears at or above it)", *t.Clear, *t.Below)
	}
}

func checkLabels(p string, m map[string]string, reserved bool, fail func(path, format string, args ...any)) {
	for _, k := range sortedKeys(m) {
		switch {
		case !labelNameRE.MatchString(k):
			fail(p+"."+k, "%q is not a label name (letters, digits and '_')", k)
		case reserved && oneOf(k, ReservedLabels):
			fail(p+"."+k, "%q is set by the collector", k)
		case len(m[k]) > 1024:
			fail(p+"."+k, "longer than 1024 bytes")
		}
	}
}

func oneOf(s string, list []string) bool {
	for _, l := range list {
		if s == l {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func kindNames() []string {
	var out []string
	for k := range KnownDS {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

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
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
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
	return &Engine{cfg: cfg, src: src, contacts: contacts, outbox: outbox, m: m, log: log, started: cfg.Now(), firing: map[string]Alert{}}
}

// Run evaluates and sends every Interval until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	for {
		if err := e.Cycle(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("alerting cycle", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Cycle evaluates the rules once and sends the firing and newly resolved
// alerts to every Alertmanager.
func (e *Engine) Cycle(ctx context.Context) error {
	now := e.cfg.Now()
	alerts, err := e.Evaluate(ctx, now)
	if err != nil {
		return err
	}
	next := map[string]Alert{}
	var batch []Alert
	for _, a := range alerts {
		a.EndsAt = now.Add(3 * e.cfg.Interval)
		next[a.fingerprint()] = a
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
	if len(e.cfg.Webhooks) > 0 && e.outbox != nil {
		firstErr = e.notifyWebhooks(ctx, now, alerts)
	}
	if len(batch) == 0 {
		return firstErr
	}
	for _, am := range e.cfg.Alertmanagers {
		if err := e.post(ctx, am, batch); err != nil {
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
func (e *Engine) Evaluate(ctx context.Context, now time.Time) ([]Alert, error) {
	agents, err := e.src.ListAgents(ctx)
	if err != nil {
		return nil, err
	}
	silent := map[string]bool{}
	var out []Alert
	for _, ag := range agents {
		if ag.Revoked() {
			continue
		}
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
		if now.Sub(since) < e.cfg.AgentSilence {
			continue
		}
		silent[ag.Name] = true
		out = append(out, Alert{
			Labels: map[string]string{"alertname": "AgentSilent", "severity": "critical", "agent": ag.Name},
			Annotations: map[string]string{"summary": fmt.Sprintf("agent %s has not been in contact for %s", ag.Name, now.Sub(since).Round(time.Second)),
				"description": "The site's hosts are shown as last known; their own alerts are withheld until the agent is back."},
			StartsAt: since.Add(e.cfg.AgentSilence),
		})
	}
	failing, err := e.src.FailingAttributes(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range failing {
		if silent[f.Agent] || now.Sub(f.Since) < e.cfg.For {
			continue
		}
		name, severity := rule(f)
		if name == "" {
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
		out = append(out, a)
	}
	return out, nil
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

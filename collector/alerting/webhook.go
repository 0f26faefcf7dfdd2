package alerting

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
)

// Webhooks: besides Alertmanager, each change of an alert (it starts
// firing, it resolves) is posted once to every configured webhook as JSON,
// signed with HMAC-SHA256 of the body under the webhook's secret in the
// header X-Outpost-Signature ("sha256=<hex>"). The changes are found by
// comparing the firing set with the state saved in the inventory, and the
// notifications are queued in the inventory's outbox in the same
// transaction (inventory.SyncAlertState): a change is sent once, even
// across a restart or a kill -9, and a webhook that is down, slow or
// failing gets it later (retried with backoff, at most MaxOutbox kept).

// Webhook is one webhook target.
type Webhook struct {
	Name   string
	URL    string
	Secret string // HMAC key; the signature header is always sent
}

// Outbox is the inventory's part the webhooks use.
type Outbox interface {
	SyncAlertState(ctx context.Context, firing map[string]string, now time.Time, notify func([]inventory.AlertChange) ([]inventory.OutboxItem, []inventory.Event)) ([]inventory.AlertChange, int, error)
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]inventory.OutboxRow, error)
	OutboxDone(ctx context.Context, id int64) error
	OutboxRetry(ctx context.Context, id int64, next time.Time, reason string) error
	Silences(ctx context.Context, since time.Time, limit int) ([]inventory.Silence, error)
}

// Notification is the JSON a webhook receives.
type Notification struct {
	Version string              `json:"version"` // "1"
	Sender  string              `json:"sender"`  // "outpost"
	Alerts  []NotificationAlert `json:"alerts"`
}

// NotificationAlert is one change in a Notification.
type NotificationAlert struct {
	Status string `json:"status"` // "firing" or "resolved"
	Alert
}

// SignatureHeader carries the body's HMAC-SHA256.
const SignatureHeader = "X-Outpost-Signature"

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// outboxBatch is how many notifications one cycle tries at most.
const outboxBatch = 100

// historyLine is the events table's line for an alert's change.
func historyLine(st string, a Alert) string {
	what := a.Labels["alertname"]
	if h := a.Labels["host"]; h != "" {
		what += " on " + h
		if k := a.Labels["attribute"]; k != "" {
			what += " " + k
		}
	} else if ag := a.Labels["agent"]; ag != "" {
		what += " for agent " + ag
	}
	line := fmt.Sprintf("%s %s (%s)", what, st, a.Labels["severity"])
	if s := a.Annotations["summary"]; s != "" && st == "firing" {
		line += ": " + s
	}
	return line
}

// notifyWebhooks saves the firing set (the Alerts page reads it) with the
// history of its changes, queues a notification of the changes not
// silenced for each webhook, then delivers what is due.
func (e *Engine) notifyWebhooks(ctx context.Context, now time.Time, firing []Alert, silences []inventory.Silence) error {
	state := map[string]string{}
	for _, a := range firing {
		b, err := json.Marshal(Alert{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, GeneratorURL: a.GeneratorURL})
		if err != nil {
			return err
		}
		state[a.fingerprint()] = string(b)
	}
	_, dropped, err := e.outbox.SyncAlertState(ctx, state, now, func(changes []inventory.AlertChange) ([]inventory.OutboxItem, []inventory.Event) {
		n := Notification{Version: "1", Sender: "outpost"}
		var events []inventory.Event
		for _, c := range changes {
			var a Alert
			if json.Unmarshal([]byte(c.Alert), &a) != nil {
				continue
			}
			st, kind := "firing", inventory.EventAlertFiring
			if c.Resolved {
				st, a.EndsAt, kind = "resolved", now, inventory.EventAlertResolved
			}
			events = append(events, inventory.Event{At: now, Kind: kind, Agent: a.Labels["agent"], Host: a.Labels["host"], Message: historyLine(st, a)})
			if silenced(silences, a.Labels, now) {
				continue // a silenced alert's changes are not notified
			}
			n.Alerts = append(n.Alerts, NotificationAlert{Status: st, Alert: a})
		}
		body, err := json.Marshal(n)
		if err != nil || len(n.Alerts) == 0 {
			return nil, events
		}
		items := make([]inventory.OutboxItem, 0, len(e.cfg.Webhooks))
		for _, w := range e.cfg.Webhooks {
			items = append(items, inventory.OutboxItem{Target: w.Name, Body: body})
		}
		return items, events
	})
	if err != nil {
		return err
	}
	if dropped > 0 {
		e.log.Warn("alert outbox full: oldest notifications dropped", "dropped", dropped, "kept", inventory.MaxOutbox)
		if e.m != nil {
			e.m.AlertDeliveryErrors.WithLabelValues("outbox-dropped").Add(float64(dropped))
		}
	}
	if len(e.cfg.Webhooks) == 0 {
		return nil
	}
	return e.deliverOutbox(ctx, now)
}

// deliverOutbox posts the due notifications; failures are retried with
// backoff (one interval, doubling, at most an hour).
func (e *Engine) deliverOutbox(ctx context.Context, now time.Time) error {
	due, err := e.outbox.DueOutbox(ctx, now, outboxBatch)
	if err != nil {
		return err
	}
	hooks := map[string]Webhook{}
	for _, w := range e.cfg.Webhooks {
		hooks[w.Name] = w
	}
	var firstErr error
	for _, row := range due {
		w, ok := hooks[row.Target]
		if !ok {
			// The webhook is no longer configured: nobody to tell.
			if err := e.outbox.OutboxDone(ctx, row.ID); err != nil {
				return err
			}
			continue
		}
		err := e.postWebhook(ctx, w, row.Body)
		e.noteDelivery("webhook "+w.Name, now, err)
		if err != nil {
			if e.m != nil {
				e.m.AlertDeliveryErrors.WithLabelValues("webhook:" + w.Name).Inc()
			}
			backoff := e.cfg.Interval << min(row.Attempts, 10)
			if backoff > time.Hour {
				backoff = time.Hour
			}
			if rerr := e.outbox.OutboxRetry(ctx, row.ID, now.Add(backoff), err.Error()); rerr != nil {
				return rerr
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if err := e.outbox.OutboxDone(ctx, row.ID); err != nil {
			return err
		}
	}
	return firstErr
}

func (e *Engine) postWebhook(ctx context.Context, w Webhook, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.Secret, body))
	res, err := e.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.Name, err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: %s", w.Name, res.Status)
	}
	return nil
}

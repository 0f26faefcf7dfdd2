package alerting

// Silences (made on the Alerts page or through /api/v1/silences) mute
// the alerts whose labels match all their matchers while they last. The
// engine honours them for webhooks (a silenced alert's changes are not
// posted), and gives each to every Alertmanager as a silence of its own
// (POST /api/v2/silences; a glob becomes the equivalent regular
// expression), so Alertmanager, which keeps receiving every firing alert,
// neither notifies it nor sees it resolve. A silence expired early is
// expired in Alertmanager too (DELETE /api/v2/silence/{id}). The ids
// Alertmanager gives are kept with the silence in the inventory, so a
// restart does not make it twice.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
)

// SilenceStore is the inventory's part silences use.
type SilenceStore interface {
	Silences(ctx context.Context, since time.Time, limit int) ([]inventory.Silence, error)
	SetSilenceAMIDs(ctx context.Context, id int64, ids map[string]string) error
}

func silenced(silences []inventory.Silence, labels map[string]string, now time.Time) bool {
	for i := range silences {
		if silences[i].Active(now) && silences[i].Matches(labels) {
			return true
		}
	}
	return false
}

// amMatcher is a matcher of Alertmanager's API v2.
type amMatcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// globRegexp translates a path.Match pattern (valid, UTF-8) to the
// regular expression Alertmanager anchors: * and ? do not cross '/',
// classes and escapes carry over. A pattern without special characters is
// returned as is, for an equality matcher.
func globRegexp(p string) (string, bool) {
	if !strings.ContainsAny(p, `*?[\`) {
		return p, false
	}
	lit := func(b *strings.Builder, r rune) {
		if strings.ContainsRune(`\.+*?()|[]{}^$-/`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	rs := []rune(p)
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '*':
			b.WriteString(`[^/]*`)
		case '?':
			b.WriteString(`[^/]`)
		case '\\':
			if i+1 < len(rs) {
				i++
				lit(&b, rs[i])
			}
		case '[':
			i++
			negated := i < len(rs) && rs[i] == '^'
			if negated {
				i++
			}
			next := func() rune { // one rune of the class, unescaped
				if rs[i] == '\\' && i+1 < len(rs) {
					i++
				}
				return rs[i]
			}
			var class strings.Builder
			for ; i < len(rs) && rs[i] != ']'; i++ {
				lo := next()
				hi := lo
				if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
					i += 2
					hi = next()
				}
				if lo > hi {
					continue // path.Match: an empty range matches nothing
				}
				lit(&class, lo)
				if hi != lo {
					class.WriteByte('-')
					lit(&class, hi)
				}
			}
			switch {
			case class.Len() > 0 && negated:
				b.WriteString("[^" + class.String() + "]")
			case class.Len() > 0:
				b.WriteString("[" + class.String() + "]")
			case negated:
				b.WriteString(`[\x00-\x{10FFFF}]`) // any rune
			default:
				b.WriteString(`[^\x00-\x{10FFFF}]`) // none
			}
		default:
			lit(&b, r)
		}
	}
	return b.String(), true
}

// syncSilences gives Alertmanagers the silences they lack and expires
// there those that ended early.
func (e *Engine) syncSilences(ctx context.Context, silences []inventory.Silence, now time.Time) error {
	store, ok := e.outbox.(SilenceStore)
	if !ok || len(e.cfg.Alertmanagers) == 0 {
		return nil
	}
	var firstErr error
	for _, s := range silences {
		ids := map[string]string{}
		for k, v := range s.AMIDs {
			ids[k] = v
		}
		changed := false
		for _, am := range e.cfg.Alertmanagers {
			if ids[am] != "" {
				continue
			}
			id, err := e.postSilence(ctx, am, s)
			if err != nil {
				if e.m != nil {
					e.m.AlertDeliveryErrors.WithLabelValues(am).Inc()
				}
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			ids[am], changed = id, true
		}
		if changed {
			if err := store.SetSilenceAMIDs(ctx, s.ID, ids); err != nil {
				return err
			}
		}
	}
	// Silences that ended within the last cycles: expire them in
	// Alertmanager if they ended before their time there.
	ended, err := store.Silences(ctx, now.Add(-3*e.cfg.Interval), inventory.MaxSilences)
	if err != nil {
		return err
	}
	for _, s := range ended {
		if s.EndsAt.After(now) || len(s.AMIDs) == 0 {
			continue
		}
		for am, id := range s.AMIDs {
			if err := e.expireSilence(ctx, am, id); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if err := store.SetSilenceAMIDs(ctx, s.ID, map[string]string{}); err != nil {
			return err
		}
	}
	return firstErr
}

func (e *Engine) postSilence(ctx context.Context, base string, s inventory.Silence) (string, error) {
	body := struct {
		Matchers  []amMatcher `json:"matchers"`
		StartsAt  time.Time   `json:"startsAt"`
		EndsAt    time.Time   `json:"endsAt"`
		CreatedBy string      `json:"createdBy"`
		Comment   string      `json:"comment"`
	}{StartsAt: s.StartsAt, EndsAt: s.EndsAt, CreatedBy: s.CreatedBy, Comment: fmt.Sprintf("outpost silence %d: %s", s.ID, s.Comment)}
	for _, m := range s.Matchers {
		v, isRegex := globRegexp(m.Value)
		body.Matchers = append(body.Matchers, amMatcher{Name: m.Name, Value: v, IsRegex: isRegex, IsEqual: true})
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/v2/silences", bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("alertmanager %s silence: %w", base, err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.cfg.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("alertmanager %s silence: %w", base, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return "", fmt.Errorf("alertmanager %s silence: %s", base, res.Status)
	}
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&out); err != nil || out.SilenceID == "" {
		return "", fmt.Errorf("alertmanager %s silence: no silence id in the answer (%v)", base, err)
	}
	return out.SilenceID, nil
}

func (e *Engine) expireSilence(ctx context.Context, base, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, strings.TrimRight(base, "/")+"/api/v2/silence/"+id, nil)
	if err != nil {
		return fmt.Errorf("alertmanager %s expire silence: %w", base, err)
	}
	res, err := e.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager %s expire silence: %w", base, err)
	}
	res.Body.Close()
	// Any answer will do: a silence that ended on time is already
	// expired there, one Alertmanager lost is gone.
	return nil
}

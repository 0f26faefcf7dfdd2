package web

// Alerts: the Alerts page (/alerts: firing, acknowledged, silenced,
// silences, history), the rules page (/alerts/rules), the firing count in
// the top bar, and the API: GET /api/v1/alerts, POST
// /api/v1/alerts/{id}/ack, GET/POST /api/v1/silences, DELETE
// /api/v1/silences/{id}. Acknowledging and silencing need the operator or
// admin role; viewers read.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/alerting"
	"github.com/outpost-nms/outpost/collector/inventory"
)

// AlertRules is the alerting engine as the rules page reads it.
type AlertRules interface {
	Rules() alerting.RulesReport
}

// Alert states in the UI and API.
const (
	AlertFiring       = "firing"
	AlertAcknowledged = "acknowledged"
	AlertSilenced     = "silenced"
)

// AlertJSON is one item of GET /api/v1/alerts.
type AlertJSON struct {
	ID          string            `json:"id"`
	State       string            `json:"state"` // firing, acknowledged, silenced
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"starts_at"`
	FiringSince time.Time         `json:"firing_since"` // when the collector first saw it fire
	Ack         *inventory.Ack    `json:"ack,omitempty"`
	SilencedBy  []int64           `json:"silenced_by,omitempty"`
}

// alertFilter is the filters the page and the API take: host (a glob),
// severity, rule (alertname), state; and rows, the most alerts listed
// (default DefaultAlertRows, at most MaxAlertRows), so a storm of 100,000
// alerts does not make a page of 100,000 rows.
type alertFilter struct {
	Host, Severity, Rule, State string
	Rows                        int
}

// Rows of the Alerts page and GET /api/v1/alerts.
const (
	DefaultAlertRows = 500
	MaxAlertRows     = 10_000
)

func filterOf(r *http.Request) (alertFilter, error) {
	q := r.URL.Query()
	f := alertFilter{Host: strings.TrimSpace(q.Get("host")), Severity: q.Get("severity"), Rule: strings.TrimSpace(q.Get("rule")), State: q.Get("state")}
	if f.Host != "" {
		if _, err := path.Match(f.Host, ""); err != nil {
			return f, fmt.Errorf("host: bad pattern %q", f.Host)
		}
	}
	switch f.State {
	case "", AlertFiring, AlertAcknowledged, AlertSilenced:
	default:
		return f, fmt.Errorf("state: want firing, acknowledged or silenced")
	}
	f.Rows = DefaultAlertRows
	if v := q.Get("rows"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAlertRows {
			return f, fmt.Errorf("rows: want 1 to %d", MaxAlertRows)
		}
		f.Rows = n
	}
	return f, nil
}

// alerts reads the firing alerts with their state, filtered, most severe
// and oldest first.
func (s *Server) alerts(r *http.Request, f alertFilter) ([]AlertJSON, []inventory.Silence, error) {
	now := s.o.Clock()
	firing, err := s.o.DB.FiringAlerts(r.Context())
	if err != nil {
		return nil, nil, err
	}
	silences, err := s.o.DB.Silences(r.Context(), now, inventory.MaxSilences)
	if err != nil {
		return nil, nil, err
	}
	out := []AlertJSON{}
	for _, fa := range firing {
		var a alerting.Alert
		if json.Unmarshal([]byte(fa.Alert), &a) != nil {
			continue
		}
		j := AlertJSON{ID: fa.ID, State: AlertFiring, Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, FiringSince: fa.Since, Ack: fa.Ack}
		if j.Annotations == nil {
			j.Annotations = map[string]string{}
		}
		for _, si := range silences {
			if si.Active(now) && si.Matches(a.Labels) {
				j.SilencedBy = append(j.SilencedBy, si.ID)
			}
		}
		switch {
		case len(j.SilencedBy) > 0:
			j.State = AlertSilenced
		case j.Ack != nil:
			j.State = AlertAcknowledged
		}
		if f.Host != "" {
			if ok, _ := path.Match(f.Host, a.Labels["host"]); !ok {
				continue
			}
		}
		if (f.Severity != "" && a.Labels["severity"] != f.Severity) || (f.Rule != "" && a.Labels["alertname"] != f.Rule) || (f.State != "" && j.State != f.State) {
			continue
		}
		out = append(out, j)
	}
	rank := map[string]int{"critical": 0, "warning": 1, "info": 2}
	sort.SliceStable(out, func(i, k int) bool {
		ri, ok := rank[out[i].Labels["severity"]]
		if !ok {
			ri = 3
		}
		rk, ok := rank[out[k].Labels["severity"]]
		if !ok {
			rk = 3
		}
		return ri < rk
	})
	return out, silences, nil
}

// apiAlerts is GET /api/v1/alerts.
func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	f, err := filterOf(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	items, _, err := s.alerts(r, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	total := len(items)
	writeJSON(w, http.StatusOK, map[string]any{"items": items[:min(total, f.Rows)], "total": total})
}

// maxFormBytes bounds the body of an ack or silence request.
const maxFormBytes = 64 << 10

// apiAck is POST /api/v1/alerts/{id}/ack with {"comment": "..."}.
func (s *Server) apiAck(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Comment string `json:"comment"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.ack(r, r.PathValue("id"), body.Comment); err != nil {
		s.apiResult(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "acknowledged"})
}

func (s *Server) ack(r *http.Request, id, comment string) error {
	comment = strings.TrimSpace(comment)
	if comment == "" {
		return fmt.Errorf("%w: an acknowledgement needs a comment (who is on it, what is being done)", errAlertRequest)
	}
	if len(comment) > inventory.MaxAckComment {
		return fmt.Errorf("%w: the comment is longer than %d bytes", errAlertRequest, inventory.MaxAckComment)
	}
	return s.o.DB.AckAlert(r.Context(), id, principalOf(r).User.Name, comment, s.o.Clock())
}

var errAlertRequest = errors.New("bad request")

// apiResult answers an error of an API change.
func (s *Server) apiResult(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, errAlertRequest), errors.Is(err, inventory.ErrBadSilence):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		s.fail(w, r, err)
	}
}

func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("want a JSON object: %v", err)
	}
	return nil
}

// SilenceRequest is the body of POST /api/v1/silences: matchers, and
// either ends_at or duration (Go syntax: 2h30m); starts_at defaults to now.
type SilenceRequest struct {
	Matchers []inventory.Matcher `json:"matchers"`
	StartsAt *time.Time          `json:"starts_at"`
	EndsAt   *time.Time          `json:"ends_at"`
	Duration string              `json:"duration"`
	Comment  string              `json:"comment"`
}

func (s *Server) createSilence(r *http.Request, req SilenceRequest) (int64, error) {
	now := s.o.Clock()
	si := inventory.Silence{Matchers: req.Matchers, StartsAt: now, CreatedBy: principalOf(r).User.Name, Comment: strings.TrimSpace(req.Comment)}
	if req.StartsAt != nil {
		si.StartsAt = *req.StartsAt
	}
	switch {
	case req.EndsAt != nil && req.Duration != "":
		return 0, fmt.Errorf("%w: give ends_at or duration, not both", errAlertRequest)
	case req.EndsAt != nil:
		si.EndsAt = *req.EndsAt
	default:
		d, err := time.ParseDuration(req.Duration)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%w: duration %q: want a positive Go duration such as 2h or 30m", errAlertRequest, req.Duration)
		}
		si.EndsAt = si.StartsAt.Add(d)
	}
	if si.Comment == "" {
		return 0, fmt.Errorf("%w: a silence needs a comment (the maintenance it is for)", errAlertRequest)
	}
	return s.o.DB.CreateSilence(r.Context(), si, now)
}

// apiSilences is GET /api/v1/silences: the silences active or pending.
func (s *Server) apiSilences(w http.ResponseWriter, r *http.Request) {
	list, err := s.o.DB.Silences(r.Context(), s.o.Clock(), inventory.MaxSilences)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []inventory.Silence{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list, "total": len(list)})
}

// apiCreateSilence is POST /api/v1/silences.
func (s *Server) apiCreateSilence(w http.ResponseWriter, r *http.Request) {
	var req SilenceRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id, err := s.createSilence(r, req)
	if err != nil {
		s.apiResult(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": id})
}

// apiExpireSilence is DELETE /api/v1/silences/{id}.
func (s *Server) apiExpireSilence(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "the silence id is a number")
		return
	}
	if err := s.o.DB.ExpireSilence(r.Context(), id, s.o.Clock()); err != nil {
		s.apiResult(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "expired"})
}

// requireOperator answers 403 to a user who may not acknowledge or
// silence (it runs after requireUser).
func (s *Server) requireOperator(api bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !principalOf(r).User.Role.Operates() {
			if api {
				writeError(w, http.StatusForbidden, "operator or admin role required")
			} else {
				s.errorPage(w, r, http.StatusForbidden, "Acknowledging alerts and making silences needs the operator or admin role.")
			}
			return
		}
		h(w, r)
	}
}

// alertsPage is the Alerts page.
func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request) {
	s.renderAlerts(w, r, http.StatusOK, "", "")
}

func (s *Server) renderAlerts(w http.ResponseWriter, r *http.Request, code int, notice, problem string) {
	f, err := filterOf(r)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	items, silences, err := s.alerts(r, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	history, err := s.o.DB.AlertHistory(r.Context(), "", 50)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	queued, err := s.o.DB.OutboxLen(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var delivery []alerting.DeliveryInfo
	if s.o.AlertRules != nil {
		delivery = s.o.AlertRules.Rules().Delivery
	}
	total := len(items)
	items = items[:min(total, f.Rows)]
	var firing, acked, silenced []AlertJSON
	for _, a := range items {
		switch a.State {
		case AlertSilenced:
			silenced = append(silenced, a)
		case AlertAcknowledged:
			acked = append(acked, a)
		default:
			firing = append(firing, a)
		}
	}
	s.renderNotice(w, r, code, "alerts", struct {
		Filter                  alertFilter
		Firing, Acked, Silenced []AlertJSON
		Silences                []inventory.Silence
		Total, Shown            int
		Delivery                []alerting.DeliveryInfo
		Queued                  int
		History                 []inventory.SystemEvent
		CanOperate              bool
		Problem                 string
		Now                     time.Time
	}{f, firing, acked, silenced, silences, total, len(items), delivery, queued, history, principalOf(r).User.Role.Operates(), problem, s.o.Clock()}, notice)
}

// ackForm is POST /alerts/{id}/ack from the page.
func (s *Server) ackForm(w http.ResponseWriter, r *http.Request) {
	err := s.ack(r, r.PathValue("id"), r.PostFormValue("comment"))
	s.alertsResult(w, r, "Alert acknowledged.", err)
}

// silenceForm is POST /silences from the page: matchers one per line as
// name=value (a glob), a duration and a comment.
func (s *Server) silenceForm(w http.ResponseWriter, r *http.Request) {
	req := SilenceRequest{Duration: strings.TrimSpace(r.PostFormValue("duration")), Comment: r.PostFormValue("comment")}
	for _, line := range strings.Split(r.PostFormValue("matchers"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			s.alertsResult(w, r, "", fmt.Errorf("%w: matcher %q: want name=value, such as host=sw1 or attribute=if:*", errAlertRequest, line))
			return
		}
		req.Matchers = append(req.Matchers, inventory.Matcher{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	id, err := s.createSilence(r, req)
	s.alertsResult(w, r, fmt.Sprintf("Silence %d created.", id), err)
}

// expireForm is POST /silences/{id}/expire from the page.
func (s *Server) expireForm(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = s.o.DB.ExpireSilence(r.Context(), id, s.o.Clock())
	}
	s.alertsResult(w, r, "Silence expired.", err)
}

// alertsResult renders the Alerts page after a change, with its outcome.
func (s *Server) alertsResult(w http.ResponseWriter, r *http.Request, notice string, err error) {
	switch {
	case err == nil:
		s.renderAlerts(w, r, http.StatusOK, notice, "")
	case errors.Is(err, inventory.ErrNotFound), errors.Is(err, errAlertRequest), errors.Is(err, inventory.ErrBadSilence), errors.Is(err, strconv.ErrSyntax):
		s.renderAlerts(w, r, http.StatusBadRequest, "", err.Error())
	default:
		s.fail(w, r, err)
	}
}

// rulesPage lists the rules, what each selects now and fires, and why
// the last reload was refused, if it was.
func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request) {
	var rep *alerting.RulesReport
	if s.o.AlertRules != nil {
		x := s.o.AlertRules.Rules()
		rep = &x
	}
	s.render(w, r, http.StatusOK, "rules", rep)
}

// apiRules is GET /api/v1/alerts/rules.
func (s *Server) apiRules(w http.ResponseWriter, r *http.Request) {
	if s.o.AlertRules == nil {
		writeError(w, http.StatusNotFound, "the alerting engine is not running")
		return
	}
	writeJSON(w, http.StatusOK, s.o.AlertRules.Rules())
}

package inventory

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// AlertID is the id of an alert in the UI and API: a hash of its
// fingerprint (its labels), stable while it fires and across restarts.
func AlertID(fingerprint string) string {
	h := sha256.Sum256([]byte(fingerprint))
	return hex.EncodeToString(h[:8])
}

// FiringAlert is an alert in alert_state, with its acknowledgement.
type FiringAlert struct {
	ID    string
	Alert string // JSON as the engine saved it
	Since time.Time
	Ack   *Ack
}

// Ack is an acknowledgement of a firing alert.
type Ack struct {
	User    string    `json:"user"`
	Comment string    `json:"comment"`
	At      time.Time `json:"at"`
}

// MaxAckComment bounds an acknowledgement's or a silence's comment.
const MaxAckComment = 1000

// FiringAlerts returns the alerts firing as the engine last saved them,
// oldest first.
func (db *DB) FiringAlerts(ctx context.Context) ([]FiringAlert, error) {
	acks := map[string]*Ack{}
	rows, err := db.r.QueryContext(ctx, `SELECT alert_id, user_name, comment, at FROM alert_acks`)
	if err != nil {
		return nil, fmt.Errorf("alert acks: %w", err)
	}
	for rows.Next() {
		var id string
		var a Ack
		var at int64
		if err := rows.Scan(&id, &a.User, &a.Comment, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("alert acks: %w", err)
		}
		a.At = ms(at)
		acks[id] = &a
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("alert acks: %w", err)
	}
	rows, err = db.r.QueryContext(ctx, `SELECT fingerprint, alert, since FROM alert_state ORDER BY since, fingerprint`)
	if err != nil {
		return nil, fmt.Errorf("firing alerts: %w", err)
	}
	defer rows.Close()
	var out []FiringAlert
	for rows.Next() {
		var fp string
		var f FiringAlert
		var since int64
		if err := rows.Scan(&fp, &f.Alert, &since); err != nil {
			return nil, fmt.Errorf("firing alerts: %w", err)
		}
		f.ID, f.Since = AlertID(fp), ms(since)
		f.Ack = acks[f.ID]
		out = append(out, f)
	}
	return out, rows.Err()
}

// AckAlert acknowledges a firing alert (again: the last word stays); it
// is ErrNotFound when no alert of that id fires.
func (db *DB) AckAlert(ctx context.Context, id, user, comment string, now time.Time) error {
	rows, err := db.w.QueryContext(ctx, `SELECT fingerprint FROM alert_state`)
	if err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	found := false
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			rows.Close()
			return fmt.Errorf("ack: %w", err)
		}
		found = found || AlertID(fp) == id
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	if !found {
		return fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO alert_acks(alert_id, user_name, comment, at) VALUES (?, ?, ?, ?)
		ON CONFLICT(alert_id) DO UPDATE SET user_name = excluded.user_name, comment = excluded.comment, at = excluded.at`,
		id, user, safetext.Line(comment, MaxAckComment), now.UnixMilli()); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return nil
}

// Matcher is one condition of a silence: the alert's label Name has a
// value matching Value, a glob (path.Match; a value without *, ? or [
// is compared as is).
type Matcher struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Silence mutes the alerts that match all its matchers from StartsAt to
// EndsAt.
type Silence struct {
	ID        int64             `json:"id"`
	Matchers  []Matcher         `json:"matchers"`
	StartsAt  time.Time         `json:"starts_at"`
	EndsAt    time.Time         `json:"ends_at"`
	CreatedBy string            `json:"created_by"`
	Comment   string            `json:"comment"`
	CreatedAt time.Time         `json:"created_at"`
	AMIDs     map[string]string `json:"-"` // Alertmanager URL -> its id there
}

// Silence limits.
const (
	MaxMatchers    = 20
	MaxSilenceSpan = 366 * 24 * time.Hour
	// MaxSilences bounds the silences not yet ended.
	MaxSilences = 10_000
)

var labelNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,99}$`)

// ErrBadSilence wraps what is wrong with a silence to create.
var ErrBadSilence = errors.New("bad silence")

// Matches reports whether the silence's matchers all match labels (not
// whether it is active).
func (s *Silence) Matches(labels map[string]string) bool {
	for _, m := range s.Matchers {
		v, ok := labels[m.Name]
		if !ok {
			v = ""
		}
		if ok2, _ := path.Match(m.Value, v); !ok2 {
			return false
		}
	}
	return true
}

// Active reports whether the silence mutes at now.
func (s *Silence) Active(now time.Time) bool { return !now.Before(s.StartsAt) && now.Before(s.EndsAt) }

// CreateSilence validates and stores a silence and returns its id.
func (db *DB) CreateSilence(ctx context.Context, s Silence, now time.Time) (int64, error) {
	switch {
	case len(s.Matchers) == 0 || len(s.Matchers) > MaxMatchers:
		return 0, fmt.Errorf("%w: 1 to %d matchers", ErrBadSilence, MaxMatchers)
	case !s.EndsAt.After(s.StartsAt) || !s.EndsAt.After(now):
		return 0, fmt.Errorf("%w: it must end after it starts, and in the future", ErrBadSilence)
	case s.EndsAt.Sub(s.StartsAt) > MaxSilenceSpan:
		return 0, fmt.Errorf("%w: at most %s long", ErrBadSilence, MaxSilenceSpan)
	case s.CreatedBy == "":
		return 0, fmt.Errorf("%w: no author", ErrBadSilence)
	}
	for _, m := range s.Matchers {
		if !labelNameRE.MatchString(m.Name) || len(m.Value) > 1024 || !utf8.ValidString(m.Value) {
			return 0, fmt.Errorf("%w: matcher %q: a label name (letters, digits, '_') and a UTF-8 value of at most 1024 bytes", ErrBadSilence, m.Name)
		}
		if _, err := path.Match(m.Value, ""); err != nil {
			return 0, fmt.Errorf("%w: matcher %s: bad pattern %q", ErrBadSilence, m.Name, m.Value)
		}
	}
	var n int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM silences WHERE ends_at > ?`, now.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("silence: %w", err)
	}
	if n >= MaxSilences {
		return 0, fmt.Errorf("%w: %d silences are already active or pending; expire some first", ErrBadSilence, n)
	}
	matchers, err := json.Marshal(s.Matchers)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := db.w.QueryRowContext(ctx, `INSERT INTO silences(matchers, starts_at, ends_at, created_by, comment, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		string(matchers), s.StartsAt.UnixMilli(), s.EndsAt.UnixMilli(), s.CreatedBy, safetext.Line(s.Comment, MaxAckComment), now.UnixMilli()).Scan(&id); err != nil {
		return 0, fmt.Errorf("silence: %w", err)
	}
	return id, nil
}

// Silences returns the silences that end after since (all: zero since),
// newest first, at most limit.
func (db *DB) Silences(ctx context.Context, since time.Time, limit int) ([]Silence, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at, am_ids FROM silences
		WHERE ends_at > ? ORDER BY id DESC LIMIT ?`, since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	defer rows.Close()
	var out []Silence
	for rows.Next() {
		var s Silence
		var m, am string
		var st, en, cr int64
		if err := rows.Scan(&s.ID, &m, &st, &en, &s.CreatedBy, &s.Comment, &cr, &am); err != nil {
			return nil, fmt.Errorf("silences: %w", err)
		}
		if err := json.Unmarshal([]byte(m), &s.Matchers); err != nil {
			return nil, fmt.Errorf("silence %d: %w", s.ID, err)
		}
		_ = json.Unmarshal([]byte(am), &s.AMIDs)
		s.StartsAt, s.EndsAt, s.CreatedAt = ms(st), ms(en), ms(cr)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ExpireSilence ends a silence now; ErrNotFound if it has ended already
// or does not exist.
func (db *DB) ExpireSilence(ctx context.Context, id int64, now time.Time) error {
	res, err := db.w.ExecContext(ctx, `UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?`, now.UnixMilli(), id, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("expire silence: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("silence %d: %w", id, ErrNotFound)
	}
	return nil
}

// SetSilenceAMIDs records the ids a silence has in the Alertmanagers.
func (db *DB) SetSilenceAMIDs(ctx context.Context, id int64, ids map[string]string) error {
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE silences SET am_ids = ? WHERE id = ?`, string(b), id); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("silence %d: %w", id, err)
	}
	return nil
}

// AlertHistory returns the newest alert changes (events alert-firing and
// alert-resolved), newest first, of one host when host is not "";
// limit is capped at 1000.
func (db *DB) AlertHistory(ctx context.Context, host string, limit int) ([]SystemEvent, error) {
	q := `SELECT id, at, kind, agent, host, message FROM events WHERE kind IN (?, ?)`
	args := []any{EventAlertFiring, EventAlertResolved}
	if host != "" {
		q += ` AND host = ?`
		args = append(args, host)
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, min(max(limit, 1), 1000))...)
	if err != nil {
		return nil, fmt.Errorf("alert history: %w", err)
	}
	defer rows.Close()
	out := []SystemEvent{}
	for rows.Next() {
		var e SystemEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Agent, &e.Host, &e.Message); err != nil {
			return nil, fmt.Errorf("alert history: %w", err)
		}
		e.At = ms(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// FiringCount counts the firing alerts (the top bar's figure).
func (db *DB) FiringCount(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM alert_state`).Scan(&n); err != nil {
		return 0, fmt.Errorf("firing alerts: %w", err)
	}
	return n, nil
}

package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outpost-nms/outpost/shared/enroll"
)

// ErrAgentExists is returned by AddAgent for a name already registered.
var ErrAgentExists = errors.New("agent already exists")

// Agent is a registered agent (the agents table).
type Agent struct {
	Name         string
	Hosts        []string // host name patterns (path.Match syntax)
	CertSerial   string   // hex serial of the current certificate; "" before one is issued
	CertNotAfter time.Time
	TokenPending bool      // an enrollment token is outstanding
	TokenExpires time.Time // zero when none
	CreatedAt    time.Time
	RevokedAt    time.Time // zero unless revoked
	LastSeen     time.Time // zero if never connected
	LastAddress  string
	Software     string
}

// Revoked reports whether the agent was revoked.
func (a Agent) Revoked() bool { return !a.RevokedAt.IsZero() }

// MayWrite reports whether host matches one of the agent's patterns.
func (a Agent) MayWrite(host string) bool { return MatchHost(a.Hosts, host) }

// MatchHost reports whether host matches one of patterns (path.Match
// syntax; "*" matches every host). A malformed pattern matches nothing.
func MatchHost(patterns []string, host string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, host); err == nil && ok {
			return true
		}
	}
	return false
}

// ValidHostPatterns checks patterns for path.Match syntax errors.
func ValidHostPatterns(patterns []string) error {
	if len(patterns) == 0 {
		return errors.New("no host patterns (use --hosts PATTERN,...; '*' allows every host)")
	}
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" || strings.Contains(p, ",") || !utf8.ValidString(p) {
			return fmt.Errorf("host pattern %q: empty, contains a comma or is not UTF-8", p)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("host pattern %q: %w", p, err)
		}
	}
	return nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

const agentCols = `name, hosts, cert_serial, cert_not_after, token_hash, token_expires, created_at, revoked_at, last_seen, last_address, software`

func scanAgent(sc interface{ Scan(...any) error }) (Agent, error) {
	var a Agent
	var hosts, tok string
	var notAfter, tokExp, created, revoked, seen int64
	if err := sc.Scan(&a.Name, &hosts, &a.CertSerial, &notAfter, &tok, &tokExp, &created, &revoked, &seen, &a.LastAddress, &a.Software); err != nil {
		return Agent{}, err
	}
	if hosts != "" {
		a.Hosts = strings.Split(hosts, ",")
	}
	a.TokenPending = tok != ""
	a.CertNotAfter, a.TokenExpires, a.CreatedAt, a.RevokedAt, a.LastSeen = ms(notAfter), ms(tokExp), ms(created), ms(revoked), ms(seen)
	return a, nil
}

// AddAgent registers an agent with its host patterns.
func (db *DB) AddAgent(ctx context.Context, name string, hosts []string, now time.Time) error {
	if err := ValidHostPatterns(hosts); err != nil {
		return err
	}
	res, err := db.w.ExecContext(ctx, `INSERT INTO agents(name, hosts, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING`,
		name, strings.Join(hosts, ","), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("add agent %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("add agent %s: %w", name, ErrAgentExists)
	}
	return db.RecordEvent(ctx, Event{At: now, Kind: EventAgentAdded, Agent: name, Message: fmt.Sprintf("agent %s added for hosts %s", name, strings.Join(hosts, ","))})
}

// LookupAgent returns one agent, or ErrNotFound. It reads through the
// read pool (WAL mode: it sees every transaction committed before it
// starts, e.g. a revocation by another process), so handshakes never wait
// for the writer.
func (db *DB) LookupAgent(ctx context.Context, name string) (Agent, error) {
	a, err := scanAgent(db.r.QueryRowContext(ctx, `SELECT `+agentCols+` FROM agents WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("agent %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("agent %s: %w", name, err)
	}
	return a, nil
}

// ListAgents returns every agent, by name.
func (db *DB) ListAgents(ctx context.Context) ([]Agent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+agentCols+` FROM agents ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	defer rows.Close()
	var out []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (db *DB) updateAgent(ctx context.Context, what, name, q string, args ...any) error {
	res, err := db.w.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %s: %w", what, name, ErrNotFound)
	}
	return nil
}

// SetAgentCert records the agent's current certificate; earlier
// certificates of the agent are refused from now on.
func (db *DB) SetAgentCert(ctx context.Context, name, serial string, notAfter time.Time) error {
	return db.updateAgent(ctx, "set certificate of agent", name,
		`UPDATE agents SET cert_serial = ?, cert_not_after = ? WHERE name = ? AND revoked_at = 0`, serial, notAfter.UnixMilli(), name)
}

// SetAgentToken stores the hash of a one-time enrollment token (see
// package shared/enroll) valid until expires.
func (db *DB) SetAgentToken(ctx context.Context, name, tokenHash string, expires time.Time) error {
	return db.updateAgent(ctx, "set token of agent", name,
		`UPDATE agents SET token_hash = ?, token_expires = ? WHERE name = ? AND revoked_at = 0`, tokenHash, expires.UnixMilli(), name)
}

// CompleteEnrollment checks a token and, in one transaction, clears it and
// records the certificate issued. Any failed check is enroll.ErrRefused.
func (db *DB) CompleteEnrollment(ctx context.Context, name, token, serial string, notAfter, now time.Time) ([]string, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	defer tx.Rollback()
	a, err := scanAgent(tx.QueryRowContext(ctx, `SELECT `+agentCols+` FROM agents WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("enroll %s: unknown agent: %w", name, enroll.ErrRefused)
	}
	if err != nil {
		return nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	var hash string
	if err := tx.QueryRowContext(ctx, `SELECT token_hash FROM agents WHERE name = ?`, name).Scan(&hash); err != nil {
		return nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	switch {
	case a.Revoked():
		return nil, fmt.Errorf("enroll %s: agent revoked: %w", name, enroll.ErrRefused)
	case !enroll.TokenMatches(token, hash):
		return nil, fmt.Errorf("enroll %s: token does not match or was used: %w", name, enroll.ErrRefused)
	case !now.Before(a.TokenExpires):
		return nil, fmt.Errorf("enroll %s: token expired at %s: %w", name, a.TokenExpires.UTC().Format(time.RFC3339), enroll.ErrRefused)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE agents SET token_hash = '', token_expires = 0, cert_serial = ?, cert_not_after = ? WHERE name = ?`,
		serial, notAfter.UnixMilli(), name); err != nil {
		return nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	if err := insertEvent(ctx, tx, Event{At: now, Kind: EventAgentEnrolled, Agent: name, Message: fmt.Sprintf("agent %s enrolled (certificate %s)", name, serial)}); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	return a.Hosts, nil
}

// RevokeAgent marks the agent revoked: its certificate is refused at the
// next handshake, and it cannot enroll again.
func (db *DB) RevokeAgent(ctx context.Context, name string, now time.Time) error {
	if err := db.updateAgent(ctx, "revoke agent", name,
		`UPDATE agents SET revoked_at = ?, token_hash = '', token_expires = 0 WHERE name = ? AND revoked_at = 0`, now.UnixMilli(), name); err != nil {
		return err
	}
	return db.RecordEvent(ctx, Event{At: now, Kind: EventAgentRevoked, Agent: name, Message: fmt.Sprintf("agent %s revoked", name)})
}

// AgentSeen records a successful session start.
func (db *DB) AgentSeen(ctx context.Context, name, address, software string, now time.Time) error {
	return db.updateAgent(ctx, "agent seen", name,
		`UPDATE agents SET last_seen = ?, last_address = ?, software = ? WHERE name = ?`, now.UnixMilli(), address, software, name)
}

// Event kinds written by the collector.
const (
	EventAgentAdded    = "agent-added"
	EventAgentEnrolled = "agent-enrolled"
	EventAgentRevoked  = "agent-revoked"
	EventAgentDropped  = "agent-dropped"  // the agent's spool dropped batches
	EventAgentRefused  = "agent-refused"  // a connection or batch was refused
	EventAlertFiring   = "alert-firing"   // an alert started firing
	EventAlertResolved = "alert-resolved" // an alert resolved
)

// Event is a row of the events table.
type Event struct {
	At      time.Time
	Kind    string
	Agent   string
	Host    string
	Message string
}

// RecordEvent appends a system event.
func (db *DB) RecordEvent(ctx context.Context, e Event) error {
	return insertEvent(ctx, db.w, e)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertEvent(ctx context.Context, x execer, e Event) error {
	if _, err := x.ExecContext(ctx, `INSERT INTO events(at, kind, agent, host, message) VALUES (?, ?, ?, ?, ?)`,
		e.At.UnixMilli(), e.Kind, e.Agent, e.Host, e.Message); err != nil {
		return fmt.Errorf("record event %s: %w", e.Kind, err)
	}
	return nil
}

package inventory

// Users, sessions and API tokens of the web UI and JSON API.
//
// Invariants: passwords are stored only as bcrypt hashes; session cookies
// and API tokens are 256-bit random values stored only as their SHA-256
// (a stolen database does not yield a usable session); Authenticate spends
// one bcrypt comparison whether or not the user exists, so response time
// does not reveal user names. No secret value is ever put in an error.
//
// Account lifecycle: SetPassword and SetDisabled(true) end the user's
// sessions; API tokens are separate credentials, listed by APITokens (by an
// ID derived from the hash) and ended by RevokeAPIToken or DeleteUser. The
// last enabled admin can be neither disabled nor deleted (ErrLastAdmin).

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do: RoleAdmin changes things, RoleOperator
// acknowledges alerts and makes silences, RoleViewer reads.
type Role string

// The roles.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleViewer   Role = "viewer"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleOperator || r == RoleViewer }

// Operates reports whether r may acknowledge alerts and make silences.
func (r Role) Operates() bool { return r == RoleAdmin || r == RoleOperator }

// ErrBadCredentials is returned by Authenticate for an unknown user, a
// wrong password or a disabled user, without saying which.
var ErrBadCredentials = errors.New("invalid user name or password")

// ErrUserExists is returned by CreateUser when the name is taken.
var ErrUserExists = errors.New("user already exists")

// BcryptCost is the work factor of stored password hashes.
const BcryptCost = 11

// MinPasswordLen is the shortest password CreateUser accepts.
const MinPasswordLen = 8

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// User is an account of the web UI.
type User struct {
	Name      string
	Role      Role
	CreatedAt time.Time
	Disabled  bool
}

// CreateUser adds a user with a bcrypt hash of password. Names are 1-64
// characters of letters, digits and ._@-; passwords 8-72 bytes.
func (db *DB) CreateUser(ctx context.Context, name, password string, role Role, now time.Time) error {
	if !userNameRE.MatchString(name) {
		return fmt.Errorf("user name %q: want 1-64 of letters, digits, . _ @ -", name)
	}
	if !role.Valid() {
		return fmt.Errorf("user %s: role %q: want admin, operator or viewer", name, role)
	}
	hash, err := hashPassword(name, password)
	if err != nil {
		return err
	}
	var n int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
		return fmt.Errorf("create user %s: %w", name, err)
	}
	if n > 0 {
		return fmt.Errorf("create user %s: %w", name, ErrUserExists)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO users(name, password_hash, role, created_at) VALUES (?, ?, ?, ?)`,
		name, hash, string(role), now.UnixMilli()); err != nil {
		return fmt.Errorf("create user %s: %w", name, err)
	}
	return nil
}

// hashPassword checks the length of password (MinPasswordLen to 72 bytes,
// bcrypt's limit) and returns its bcrypt hash. Errors name the user, never
// the password.
func hashPassword(name, password string) (string, error) {
	if len(password) < MinPasswordLen || len(password) > 72 {
		return "", fmt.Errorf("user %s: password must be %d to 72 bytes long", name, MinPasswordLen)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return "", fmt.Errorf("user %s: hash password: %w", name, err)
	}
	return string(hash), nil
}

// Users lists the accounts by name.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, role, created_at, disabled FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	var out []User
	for rows.Next() {
		var u User
		var c int64
		var d int
		if err := rows.Scan(&u.Name, &u.Role, &c, &d); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list users: %w", err)
		}
		u.CreatedAt, u.Disabled = ms(c), d != 0
		out = append(out, u)
	}
	return out, closeRows(rows)
}

// dummyHash is compared against when the user does not exist, so an
// unknown name costs the same bcrypt work as a wrong password.
const dummyHash = "$2a$11$P1pDBEwMU/GO9bGYn856uOQuxGmejtspu2L6Ap9GutWKngofS14pS"

// Authenticate checks name and password and returns the user, or
// ErrBadCredentials.
func (db *DB) Authenticate(ctx context.Context, name, password string) (User, error) {
	var u User
	var hash string
	var c int64
	var d int
	err := db.r.QueryRowContext(ctx, `SELECT name, password_hash, role, created_at, disabled FROM users WHERE name = ?`, name).Scan(&u.Name, &hash, &u.Role, &c, &d)
	if errors.Is(err, sql.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || d != 0 {
		return User{}, ErrBadCredentials
	}
	u.CreatedAt, u.Disabled = ms(c), false
	return u, nil
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// Session is a logged-in browser. Token is the cookie value (only known at
// creation); CSRF must accompany every state-changing request.
type Session struct {
	Token     string
	User      User
	CSRF      string
	ExpiresAt time.Time
}

// ErrNoSession is returned for an unknown, expired or revoked session or token.
var ErrNoSession = errors.New("no valid session")

// CreateSession starts a session for user valid for ttl from now.
func (db *DB) CreateSession(ctx context.Context, user User, now time.Time, ttl time.Duration) (Session, error) {
	tok, err := randomToken()
	if err != nil {
		return Session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return Session{}, err
	}
	s := Session{Token: tok, User: user, CSRF: csrf, ExpiresAt: now.Add(ttl)}
	// Expired sessions are swept here so the table cannot grow without bound.
	if _, err := db.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli()); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO sessions(token_hash, user_name, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		tokenHash(tok), user.Name, csrf, now.UnixMilli(), s.ExpiresAt.UnixMilli()); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	return s, nil
}

// SessionByToken returns the live session whose cookie value is tok, or
// ErrNoSession (also for a disabled user). The returned Token is tok.
func (db *DB) SessionByToken(ctx context.Context, tok string, now time.Time) (Session, error) {
	var s Session
	var exp, c int64
	var d int
	err := db.r.QueryRowContext(ctx, `SELECT s.csrf, s.expires_at, u.name, u.role, u.created_at, u.disabled
		FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = ?`, tokenHash(tok)).
		Scan(&s.CSRF, &exp, &s.User.Name, &s.User.Role, &c, &d)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	s.ExpiresAt, s.User.CreatedAt = ms(exp), ms(c)
	if d != 0 || !now.Before(s.ExpiresAt) {
		return Session{}, ErrNoSession
	}
	s.Token = tok
	return s, nil
}

// DeleteSession ends the session whose cookie value is tok (logout).
func (db *DB) DeleteSession(ctx context.Context, tok string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(tok)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// APITokenPrefix starts every API token, so leaked tokens are recognisable.
const APITokenPrefix = "opt_"

// CreateAPIToken issues a bearer token for user name that does not expire
// and returns it; only its hash is stored, so it cannot be shown again.
func (db *DB) CreateAPIToken(ctx context.Context, name, label string, now time.Time) (string, error) {
	return db.CreateExpiringAPIToken(ctx, name, label, now, time.Time{})
}

// ErrExpiryInPast refuses an API token whose expiry is not after its
// creation.
var ErrExpiryInPast = errors.New("the expiry must be in the future")

// CreateExpiringAPIToken is CreateAPIToken for a token that stops working
// at expires (the zero time: never). An expiry not after now is refused
// with ErrExpiryInPast.
func (db *DB) CreateExpiringAPIToken(ctx context.Context, name, label string, now, expires time.Time) (string, error) {
	if !expires.IsZero() && !expires.After(now) {
		return "", fmt.Errorf("api token for %s: %w", name, ErrExpiryInPast)
	}
	var n int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
		return "", fmt.Errorf("api token for %s: %w", name, err)
	}
	if n == 0 {
		return "", fmt.Errorf("api token for %s: user %w", name, ErrNotFound)
	}
	tok, err := randomToken()
	if err != nil {
		return "", err
	}
	tok = APITokenPrefix + tok
	if _, err := db.w.ExecContext(ctx, `INSERT INTO api_tokens(token_hash, user_name, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		tokenHash(tok), name, label, now.UnixMilli(), millis(expires)); err != nil {
		return "", fmt.Errorf("api token for %s: %w", name, err)
	}
	return tok, nil
}

// UserByAPIToken returns the (enabled) owner of a bearer token that has
// not expired and records its use, or ErrNoSession.
func (db *DB) UserByAPIToken(ctx context.Context, tok string, now time.Time) (User, error) {
	var u User
	var c, exp int64
	var d int
	h := tokenHash(tok)
	err := db.r.QueryRowContext(ctx, `SELECT u.name, u.role, u.created_at, u.disabled, t.expires_at FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.token_hash = ?`, h).
		Scan(&u.Name, &u.Role, &c, &d, &exp)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (d != 0 || exp != 0 && now.UnixMilli() >= exp)) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, fmt.Errorf("api token: %w", err)
	}
	u.CreatedAt = ms(c)
	if _, err := db.w.ExecContext(ctx, `UPDATE api_tokens SET last_used = ? WHERE token_hash = ?`, now.UnixMilli(), h); err != nil {
		return User{}, fmt.Errorf("api token: %w", err)
	}
	return u, nil
}

// ErrLastAdmin is returned (wrapped) by SetDisabled and DeleteUser for the
// only enabled admin: without one nobody could manage users from the UI.
var ErrLastAdmin = errors.New("it is the last enabled admin; enable or add another admin first")

// userTx runs fn in one write transaction on the row of user name, which
// must exist (else ErrNotFound, wrapped with what). fn gets the user's role
// and disabled flag as stored when the transaction began; with the single
// writer connection nothing else writes until it commits.
func (db *DB) userTx(ctx context.Context, what, name string, fn func(tx *sql.Tx, role Role, disabled bool) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	defer tx.Rollback()
	var role Role
	var d int
	err = tx.QueryRowContext(ctx, `SELECT role, disabled FROM users WHERE name = ?`, name).Scan(&role, &d)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %s: user %w", what, name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	if err := fn(tx, role, d != 0); err != nil {
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	return nil
}

// refuseLastAdmin returns ErrLastAdmin if user name is an enabled admin and
// no other enabled admin exists.
func refuseLastAdmin(ctx context.Context, tx *sql.Tx, name string, role Role, disabled bool) error {
	if role != RoleAdmin || disabled {
		return nil
	}
	var others int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = ? AND disabled = 0 AND name <> ?`,
		string(RoleAdmin), name).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return ErrLastAdmin
	}
	return nil
}

// SetPassword replaces the password of user name (same rules and bcrypt
// cost as CreateUser) and ends all the user's browser sessions, so a
// password change logs every browser out. The user's API tokens stay valid:
// they are separate credentials, revoked with RevokeAPIToken. A disabled
// user stays disabled.
func (db *DB) SetPassword(ctx context.Context, name, password string) error {
	hash, err := hashPassword(name, password)
	if err != nil {
		return err
	}
	return db.userTx(ctx, "set password of", name, func(tx *sql.Tx, _ Role, _ bool) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ?`, hash, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_name = ?`, name)
		return err
	})
}

// SetDisabled disables or re-enables user name. Disabling deletes the
// user's sessions; its API tokens stay stored but are refused while the
// user is disabled (UserByAPIToken) and work again once it is enabled, as
// does its password. Disabling the last enabled admin is refused with
// ErrLastAdmin. Setting the state the user already has is not an error.
func (db *DB) SetDisabled(ctx context.Context, name string, disabled bool) error {
	what := "enable user"
	if disabled {
		what = "disable user"
	}
	return db.userTx(ctx, what, name, func(tx *sql.Tx, role Role, was bool) error {
		if !disabled {
			_, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 0 WHERE name = ?`, name)
			return err
		}
		if err := refuseLastAdmin(ctx, tx, name, role, was); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 1 WHERE name = ?`, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_name = ?`, name)
		return err
	})
}

// DeleteUser deletes user name with its sessions and API tokens in one
// transaction (explicitly, not through the foreign keys' ON DELETE CASCADE,
// which SQLite applies only when foreign_keys is on for the connection).
// Deleting the last enabled admin is refused with ErrLastAdmin.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	return db.userTx(ctx, "delete user", name, func(tx *sql.Tx, role Role, disabled bool) error {
		if err := refuseLastAdmin(ctx, tx, name, role, disabled); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM sessions WHERE user_name = ?`,
			`DELETE FROM api_tokens WHERE user_name = ?`,
			`DELETE FROM users WHERE name = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		return nil
	})
}

// APITokenIDLen is the length of an APIToken.ID: that many leading hex
// digits of the token's stored SHA-256.
const APITokenIDLen = 12

// MinAPITokenIDLen is the shortest token ID RevokeAPIToken accepts.
const MinAPITokenIDLen = 8

// APIToken describes an issued API token. The token itself is never
// stored; ID is the first APITokenIDLen hex digits of its SHA-256, which
// names the token without revealing or reproducing it.
type APIToken struct {
	ID        string
	Label     string
	CreatedAt time.Time
	LastUsed  time.Time // zero if never used
	ExpiresAt time.Time // zero if it never expires
}

// Expired reports whether the token no longer works at now.
func (t APIToken) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// APITokens lists the API tokens of user name, oldest first, or an error
// wrapping ErrNotFound for an unknown user.
func (db *DB) APITokens(ctx context.Context, name string) ([]APIToken, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
		return nil, fmt.Errorf("api tokens of %s: %w", name, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("api tokens of %s: user %w", name, ErrNotFound)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT substr(token_hash, 1, ?), label, created_at, last_used, expires_at
		FROM api_tokens WHERE user_name = ? ORDER BY created_at, token_hash`, APITokenIDLen, name)
	if err != nil {
		return nil, fmt.Errorf("api tokens of %s: %w", name, err)
	}
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var c, u, e int64
		if err := rows.Scan(&t.ID, &t.Label, &c, &u, &e); err != nil {
			rows.Close()
			return nil, fmt.Errorf("api tokens of %s: %w", name, err)
		}
		t.CreatedAt, t.LastUsed, t.ExpiresAt = ms(c), ms(u), ms(e)
		out = append(out, t)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("api tokens of %s: %w", name, err)
	}
	return out, nil
}

var tokenIDRE = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// RevokeAPIToken deletes the API token of user name whose ID (see
// APIToken) starts with id: at least MinAPITokenIDLen hex digits that match
// exactly one of the user's tokens. An unknown user or an id matching none
// gives an error wrapping ErrNotFound. The id is not echoed unless it is
// valid hex, so a token pasted by mistake does not end up in an error.
func (db *DB) RevokeAPIToken(ctx context.Context, name, id string) error {
	id = strings.ToLower(id)
	if !tokenIDRE.MatchString(id) {
		return fmt.Errorf("revoke api token of %s: the token ID must be %d to 64 hex digits (the ID column of the token list)", name, MinAPITokenIDLen)
	}
	return db.userTx(ctx, "revoke api token of", name, func(tx *sql.Tx, _ Role, _ bool) error {
		rows, err := tx.QueryContext(ctx, `SELECT token_hash FROM api_tokens WHERE user_name = ? AND substr(token_hash, 1, ?) = ?`,
			name, len(id), id)
		if err != nil {
			return err
		}
		var hashes []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			hashes = append(hashes, h)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		switch len(hashes) {
		case 0:
			return fmt.Errorf("api token %s %w", id, ErrNotFound)
		case 1:
		default:
			return fmt.Errorf("api token ID %s matches %d tokens; give more digits", id, len(hashes))
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE token_hash = ?`, hashes[0])
		return err
	})
}

package inventory

// Users, sessions and API tokens of the web UI and JSON API.
//
// Invariants: passwords are stored only as bcrypt hashes; session cookies
// and API tokens are 256-bit random values stored only as their SHA-256
// (a stolen database does not yield a usable session); Authenticate spends
// one bcrypt comparison whether or not the user exists, so response time
// does not reveal user names. No secret value is ever put in an error.

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
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do: RoleAdmin changes things, RoleViewer reads.
type Role string

// The roles.
const (
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleViewer }

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
		return fmt.Errorf("user %s: role %q: want admin or viewer", name, role)
	}
	if len(password) < MinPasswordLen || len(password) > 72 {
		return fmt.Errorf("user %s: password must be %d to 72 bytes long", name, MinPasswordLen)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return fmt.Errorf("user %s: hash password: %w", name, err)
	}
	var n int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
		return fmt.Errorf("create user %s: %w", name, err)
	}
	if n > 0 {
		return fmt.Errorf("create user %s: %w", name, ErrUserExists)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO users(name, password_hash, role, created_at) VALUES (?, ?, ?, ?)`,
		name, string(hash), string(role), now.UnixMilli()); err != nil {
		return fmt.Errorf("create user %s: %w", name, err)
	}
	return nil
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
		bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
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

// CreateAPIToken issues a bearer token for user name and returns it; only
// its hash is stored, so it cannot be shown again.
func (db *DB) CreateAPIToken(ctx context.Context, name, label string, now time.Time) (string, error) {
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
	if _, err := db.w.ExecContext(ctx, `INSERT INTO api_tokens(token_hash, user_name, label, created_at) VALUES (?, ?, ?, ?)`,
		tokenHash(tok), name, label, now.UnixMilli()); err != nil {
		return "", fmt.Errorf("api token for %s: %w", name, err)
	}
	return tok, nil
}

// UserByAPIToken returns the (enabled) owner of a bearer token and records
// its use, or ErrNoSession.
func (db *DB) UserByAPIToken(ctx context.Context, tok string, now time.Time) (User, error) {
	var u User
	var c int64
	var d int
	h := tokenHash(tok)
	err := db.r.QueryRowContext(ctx, `SELECT u.name, u.role, u.created_at, u.disabled FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.token_hash = ?`, h).
		Scan(&u.Name, &u.Role, &c, &d)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && d != 0) {
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

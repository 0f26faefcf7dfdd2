package web

// Account management in the browser, over the inventory's account
// operations (the same ones the CLI's `user` commands use):
//
//   - /admin/users (admin only): disable, enable and delete a user (delete
//     needs the form's "confirm" box ticked, which works without
//     JavaScript) and set a user's password. The last enabled admin cannot
//     be disabled or deleted (inventory.ErrLastAdmin, shown as a 400).
//   - /account (every user): change one's own password (the current one is
//     required, the new one twice), list one's API tokens by ID, issue one
//     (shown once) and revoke one.
//
// Every change is a POST through requireUser (CSRF token, role), and the
// page is re-rendered with the outcome as createUser does: a notice on
// success, the page's error line and a 400 for a refused request, a 404
// for a missing user or token. Passwords and tokens travel only in POST
// bodies (token IDs and user names are not secrets) and are never logged.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outpost-nms/outpost/collector/inventory"
)

// errTooMany refuses a password change from a client address or for an
// account with too many failed logins or wrong current passwords (see
// loginLimiter).
var errTooMany = errors.New("too many wrong passwords")

// errTooManyTries is errTooMany with the limit that refused.
func errTooManyTries(why limitReason) error {
	if why == limitAccount {
		return fmt.Errorf("%w for this account; wait a few minutes", errTooMany)
	}
	return fmt.Errorf("%w from your address; wait a few minutes", errTooMany)
}

// maxTokenLabel is the longest API token label, in characters.
const maxTokenLabel = 64

// checkNewPassword applies the inventory's password rule before any work,
// so that a refusal is a 400 that does not echo the password.
func checkNewPassword(pw string) error {
	if len(pw) < inventory.MinPasswordLen || len(pw) > 72 {
		return errBadRequest("The password must be 8 to 72 bytes long.")
	}
	return nil
}

// userResult re-renders /admin/users after an action on a user, as
// createUser does: notice on success; err's message and 404 for a missing
// user, 400 for a refusal (ErrLastAdmin, a bad form); anything else is
// logged and a 500.
func (s *Server) userResult(w http.ResponseWriter, r *http.Request, notice string, err error) {
	d := usersData{}
	code, ok := actionStatus(err)
	if !ok {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		d.Error, notice = err.Error(), ""
	}
	users, err := s.o.DB.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Users = users
	s.renderNotice(w, r, code, "users", d, notice)
}

// actionStatus is the status of a page showing the outcome of an account
// action: 200 when it succeeded, 404 for a missing user or token, 400 for
// a refused one (bad input, the last admin), 429 after too many wrong
// passwords; ok is false for an unexpected error (for s.fail).
func actionStatus(err error) (code int, ok bool) {
	var br badRequest
	switch {
	case err == nil:
		return http.StatusOK, true
	case errors.Is(err, inventory.ErrNotFound):
		return http.StatusNotFound, true
	case errors.Is(err, inventory.ErrLastAdmin), errors.As(err, &br):
		return http.StatusBadRequest, true
	case errors.Is(err, errTooMany):
		return http.StatusTooManyRequests, true
	}
	return 0, false
}

// loggedOutSelf ends the browser side of a session the inventory has just
// deleted (an admin who disabled or deleted their own account while
// another admin remains): the cookie is cleared and the login page follows.
func (s *Server) loggedOutSelf(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setUserDisabled serves POST /admin/users/{name}/disable and .../enable.
// Disabling ends the user's sessions and makes its API tokens refused
// until it is enabled again.
func (s *Server) setUserDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, name := principalOf(r), r.PathValue("name")
		verb := "enabled"
		if disabled {
			verb = "disabled"
		}
		err := s.o.DB.SetDisabled(r.Context(), name, disabled)
		if err == nil {
			s.log.Info("user "+verb, "user", name, "by", p.User.Name)
			if disabled && name == p.User.Name {
				s.loggedOutSelf(w, r)
				return
			}
		}
		s.userResult(w, r, "User "+name+" "+verb+".", err)
	}
}

// deleteUser serves POST /admin/users/{name}/delete; the form's "confirm"
// box must be ticked (value "yes"). The user's sessions and API tokens go
// with it.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	p, name := principalOf(r), r.PathValue("name")
	if r.PostFormValue("confirm") != "yes" {
		s.userResult(w, r, "", errBadRequest("Tick “confirm” to delete user "+name+"."))
		return
	}
	err := s.o.DB.DeleteUser(r.Context(), name)
	if err == nil {
		s.log.Info("user deleted", "user", name, "by", p.User.Name)
		if name == p.User.Name {
			s.loggedOutSelf(w, r)
			return
		}
	}
	s.userResult(w, r, "User "+name+" deleted.", err)
}

// setUserPassword serves POST /admin/users/{name}/password: a new password
// for another user, whose sessions end. Admins change their own password
// on /account, which asks for the current one.
func (s *Server) setUserPassword(w http.ResponseWriter, r *http.Request) {
	p, name := principalOf(r), r.PathValue("name")
	if name == p.User.Name {
		s.userResult(w, r, "", errBadRequest("Change your own password on the Account page (it asks for the current one)."))
		return
	}
	pw := r.PostFormValue("password")
	if err := checkNewPassword(pw); err != nil {
		s.userResult(w, r, "", err)
		return
	}
	err := s.o.DB.SetPassword(r.Context(), name, pw)
	if err == nil {
		s.log.Info("password set", "user", name, "by", p.User.Name)
	}
	s.userResult(w, r, "Password of "+name+" set; their sessions have ended.", err)
}

// accountData is what account.html shows besides the user.
type accountData struct {
	Tokens    []inventory.APIToken
	NewToken  string // just issued: shown on this one page only
	NewLabel  string
	Error     string
	Now       time.Time // to mark expired tokens
	Lifetimes []struct{ Days, Label string }
}

// accountView serves GET /account.
func (s *Server) accountView(w http.ResponseWriter, r *http.Request) {
	s.accountResult(w, r, accountData{}, "", nil)
}

// accountResult renders /account with the user's tokens and the outcome
// of an action, with the same rules as userResult.
func (s *Server) accountResult(w http.ResponseWriter, r *http.Request, d accountData, notice string, err error) {
	code, ok := actionStatus(err)
	if !ok {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		d.Error, notice = err.Error(), ""
	}
	tokens, err := s.o.DB.APITokens(r.Context(), principalOf(r).User.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Tokens, d.Now = tokens, s.o.Clock()
	d.Lifetimes = tokenLifetimes
	s.renderNotice(w, r, code, "account", d, notice)
}

// changePassword serves POST /account/password (fields current, password,
// password2). A wrong current password counts as a failed login for the
// client address. The inventory ends every session of the user; this
// browser then gets a new session (new cookie and CSRF token) and stays
// logged in, while the user's other browsers must log in again. API tokens
// stay valid.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		s.accountResult(w, r, accountData{}, "", errBadRequest("The two new passwords differ."))
		return
	}
	if err := checkNewPassword(pw); err != nil {
		s.accountResult(w, r, accountData{}, "", err)
		return
	}
	addr, now := clientAddr(r), s.o.Clock()
	ticket, why := s.login.reserve(addr, p.User.Name, now)
	if ticket == nil {
		s.log.Warn("password change refused: too many failures", "user", p.User.Name, "remote", addr)
		s.accountResult(w, r, accountData{}, "", errTooManyTries(why))
		return
	}
	if _, err := s.o.DB.Authenticate(r.Context(), p.User.Name, r.PostFormValue("current")); err != nil {
		if !errors.Is(err, inventory.ErrBadCredentials) {
			ticket.done(attemptVoid, now)
			s.fail(w, r, err)
			return
		}
		ticket.done(attemptFailed, now)
		s.log.Info("password change: wrong current password", "user", p.User.Name, "remote", addr)
		s.accountResult(w, r, accountData{}, "", errBadRequest("The current password is wrong."))
		return
	}
	ticket.done(attemptSucceeded, now)
	if err := s.o.DB.SetPassword(r.Context(), p.User.Name, pw); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("password changed", "user", p.User.Name, "remote", addr)
	notice := "Password changed; your other sessions have ended."
	if p.Session != nil {
		sess, err := s.o.DB.CreateSession(r.Context(), p.User, now, s.o.SessionTTL)
		if err != nil {
			s.log.Error("new session after a password change", "user", p.User.Name, "err", err)
			s.loggedOutSelf(w, r)
			return
		}
		http.SetCookie(w, s.cookie(sessionCookie, sess.Token, int(s.o.SessionTTL.Seconds())))
		p.Session = &sess
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, p))
		notice = "Password changed; your other sessions have ended, this browser stays logged in."
	}
	s.accountResult(w, r, accountData{}, notice, nil)
}

// tokenLifetimes are the expiries the Account page offers (field
// "expires", in days; "" for never).
var tokenLifetimes = []struct{ Days, Label string }{{"", "never"}, {"7", "in 7 days"}, {"30", "in 30 days"}, {"90", "in 90 days"}, {"365", "in a year"}}

// issueToken serves POST /account/tokens: a new API token for the user,
// labelled (at most 64 characters), expiring after one of tokenLifetimes,
// shown once on the resulting page.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	label := strings.TrimSpace(r.PostFormValue("label"))
	if utf8.RuneCountInString(label) > maxTokenLabel || !utf8.ValidString(label) {
		s.accountResult(w, r, accountData{}, "", errBadRequest("A token label is at most 64 characters of text."))
		return
	}
	now := s.o.Clock()
	var expires time.Time
	if days := r.PostFormValue("expires"); days != "" {
		ok := false
		for _, l := range tokenLifetimes {
			ok = ok || (l.Days == days && days != "")
		}
		n, err := strconv.Atoi(days)
		if !ok || err != nil {
			s.accountResult(w, r, accountData{}, "", errBadRequest("A token expires never, or in 7, 30, 90 or 365 days."))
			return
		}
		expires = now.AddDate(0, 0, n)
	}
	tok, err := s.o.DB.CreateExpiringAPIToken(r.Context(), p.User.Name, label, now, expires)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("api token created", "user", p.User.Name, "label", label, "expires", expires)
	s.accountResult(w, r, accountData{NewToken: tok, NewLabel: label}, "", nil)
}

// revokeToken serves POST /account/tokens/revoke (field id: a token ID of
// the token list). Only the user's own tokens can be revoked.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	id := strings.ToLower(r.PostFormValue("id"))
	if len(id) != inventory.APITokenIDLen || strings.Trim(id, "0123456789abcdef") != "" {
		s.accountResult(w, r, accountData{}, "", errBadRequest("A token ID is 12 hex digits, as in the token list."))
		return
	}
	err := s.o.DB.RevokeAPIToken(r.Context(), p.User.Name, id)
	if err == nil {
		s.log.Info("api token revoked", "user", p.User.Name, "id", id)
	}
	s.accountResult(w, r, accountData{}, "API token "+id+" revoked.", err)
}

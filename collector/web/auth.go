package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/outpost-nms/outpost/collector/inventory"
)

const (
	sessionCookie    = "outpost_session"
	loginCSRFCookie  = "outpost_login_csrf"
	csrfField        = "csrf"
	csrfHeader       = "X-CSRF-Token"
	maxLoginFormSize = 8 << 10
)

type ctxKey struct{}

// principal is who a request acts for. Session is nil for bearer-token requests.
type principal struct {
	User    inventory.User
	Session *inventory.Session
}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(ctxKey{}).(principal)
	return p
}

// authenticate finds the user of a request: a bearer API token, or the
// session cookie.
func (s *Server) authenticate(r *http.Request) (principal, bool) {
	ctx := r.Context()
	now := s.o.Clock()
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return principal{}, false
		}
		u, err := s.o.DB.UserByAPIToken(ctx, strings.TrimSpace(tok), now)
		if err != nil {
			if !errors.Is(err, inventory.ErrNoSession) {
				s.log.Error("api token lookup", "err", err)
			}
			return principal{}, false
		}
		return principal{User: u}, true
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return principal{}, false
	}
	sess, err := s.o.DB.SessionByToken(ctx, c.Value, now)
	if err != nil {
		if !errors.Is(err, inventory.ErrNoSession) {
			s.log.Error("session lookup", "err", err)
		}
		return principal{}, false
	}
	return principal{User: sess.User, Session: &sess}, true
}

// requireUser wraps h: no user means a redirect to /login (pages) or 401
// JSON (api); a POST from a session needs its CSRF token; adminOnly
// answers 403 to viewers.
func (s *Server) requireUser(api, adminOnly bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(r)
		if !ok {
			if api {
				w.Header().Set("WWW-Authenticate", `Bearer realm="outpost"`)
				writeError(w, http.StatusUnauthorized, "authentication required")
				return
			}
			if !isPageRequest(r) {
				// An image, a script's fetch, a prefetch: the login page is
				// of no use to it, and following a redirect to /login would
				// set a new login CSRF cookie under the form on screen.
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "authentication required: log in at /login", http.StatusUnauthorized)
				return
			}
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && p.Session != nil {
			got := r.Header.Get(csrfHeader)
			if got == "" {
				r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
				got = r.PostFormValue(csrfField)
			}
			if !equalTokens(got, p.Session.CSRF) {
				if api {
					writeError(w, http.StatusForbidden, "missing or wrong CSRF token")
				} else {
					s.errorPage(w, r, http.StatusForbidden, "The form expired or did not come from this site (CSRF token missing or wrong). Reload the page and try again.")
				}
				return
			}
		}
		if adminOnly && p.User.Role != inventory.RoleAdmin {
			if api {
				writeError(w, http.StatusForbidden, "admin role required")
			} else {
				s.errorPage(w, r, http.StatusForbidden, "This page needs the admin role.")
			}
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

// isPageRequest reports whether r is a browser navigating to a page (so a
// redirect to the login page helps), as opposed to a subresource, a
// script's fetch or a tool. Browsers say so in Sec-Fetch-Mode/-Dest; without
// them (older browsers, curl) a GET or POST that accepts HTML counts as one.
func isPageRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		if mode != "navigate" {
			return false
		}
		dest := r.Header.Get("Sec-Fetch-Dest")
		return dest == "" || dest == "document" || dest == "iframe"
	}
	accept := r.Header.Get("Accept")
	return accept == "" || strings.Contains(accept, "text/html") || (strings.Contains(accept, "*/*") && !strings.HasPrefix(accept, "image/"))
}

func equalTokens(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// wellFormedToken reports whether v looks like a randomString: 43
// characters of unpadded URL-safe base64 (256 bits).
func wellFormedToken(v string) bool {
	if len(v) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.o.SecureCookies}
}

// safeNext keeps a post-login redirect on this site: next must be a path
// of at most 2048 bytes that starts with exactly one "/", holds no
// backslash and no control character (browsers drop tabs and newlines from
// URLs, so "/\t/evil.example" would become "//evil.example"), and parses
// with no scheme, user or host, also once its escapes are decoded.
// Anything else gives "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || len(next) > 2048 || !cleanPath(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || !cleanPath(u.Path) {
		return "/"
	}
	return next
}

// cleanPath reports whether p has no second leading slash, no backslash
// and no control character (C0, DEL, C1) or invalid UTF-8.
func cleanPath(p string) bool {
	if strings.HasPrefix(p, "//") || !utf8.ValidString(p) {
		return false
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == '\\' {
			return false
		}
	}
	return true
}

type loginData struct {
	CSRF  string
	Next  string
	Error string
	User  string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authenticate(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// loginCSRFTTL is how long a login form's CSRF cookie lasts, in seconds.
const loginCSRFTTL = 3600

// renderLogin renders the form with a login CSRF token (double-submit: the
// cookie and the form field must match). A browser that already holds a
// well-formed token keeps it (its expiry renewed), so a second login page
// (another tab, a retry) does not invalidate the form already on screen.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	d.CSRF = randomString()
	if c, err := r.Cookie(loginCSRFCookie); err == nil && wellFormedToken(c.Value) {
		d.CSRF = c.Value
	}
	http.SetCookie(w, s.cookie(loginCSRFCookie, d.CSRF, loginCSRFTTL))
	s.render(w, r, code, "login", d)
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginFormSize)
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, r, http.StatusBadRequest, loginData{Error: "Bad form."})
		return
	}
	d := loginData{Next: safeNext(r.PostFormValue("next")), User: r.PostFormValue("user")}
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !equalTokens(c.Value, r.PostFormValue(csrfField)) {
		d.Error = "The login form expired; please try again."
		s.renderLogin(w, r, http.StatusForbidden, d)
		return
	}
	addr := clientAddr(r)
	ticket, why := s.login.reserve(addr, d.User, s.o.Clock())
	if ticket == nil {
		s.log.Warn("login refused: too many failures", "user", d.User, "remote", addr, "limit", map[limitReason]string{limitAddress: "address", limitAccount: "account"}[why])
		d.Error = why.refusal()
		s.renderLogin(w, r, http.StatusTooManyRequests, d)
		return
	}
	u, err := s.o.DB.Authenticate(r.Context(), d.User, r.PostFormValue("password"))
	if err != nil {
		if errors.Is(err, inventory.ErrBadCredentials) {
			ticket.done(attemptFailed, s.o.Clock())
			s.log.Info("login failed", "user", d.User, "remote", r.RemoteAddr)
		} else {
			ticket.done(attemptVoid, s.o.Clock())
			s.log.Error("login", "user", d.User, "err", err)
		}
		d.Error = "Wrong user name or password."
		s.renderLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	ticket.done(attemptSucceeded, s.o.Clock())
	sess, err := s.o.DB.CreateSession(r.Context(), u, s.o.Clock(), s.o.SessionTTL)
	if err != nil {
		s.log.Error("create session", "user", u.Name, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Could not start a session.")
		return
	}
	s.log.Info("login", "user", u.Name, "remote", r.RemoteAddr)
	http.SetCookie(w, s.cookie(sessionCookie, sess.Token, int(s.o.SessionTTL.Seconds())))
	http.SetCookie(w, s.cookie(loginCSRFCookie, "", -1))
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if p := principalOf(r); p.Session != nil {
		if err := s.o.DB.DeleteSession(r.Context(), p.Session.Token); err != nil {
			s.log.Error("logout", "err", err)
		}
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

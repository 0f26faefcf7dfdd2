// Package web is the collector's web UI and JSON API: server-rendered
// pages (html/template, assets embedded in the binary, no CDN), JSON
// endpoints under /api/v1, interactive charts (uPlot, vendored) fed by the
// graph package, and PNG/SVG/CSV/JSON exports at stable URLs.
//
// Invariants:
//   - every page and API endpoint needs a logged-in user (session cookie)
//     or an API token (Authorization: Bearer); only /login, /static/,
//     /status.css and /favicon.ico are public. A page navigation without a
//     user is redirected to /login; any other anonymous request (the API, an
//     image, a script's fetch) is answered 401 without the login page, so it
//     never replaces the login form's CSRF cookie;
//   - every state-changing request (POST) carries the session's CSRF token
//     (form field "csrf" or header X-CSRF-Token); bearer-token requests
//     carry no cookie and need none;
//   - admin-only actions answer 403 to viewers;
//   - graph, series and export requests are bounded in range, rows,
//     concurrency (per user and in all) and time, and a panic in one is
//     answered 500, not a crash (bounds.go); live streams are counted per
//     user;
//   - session cookies are HttpOnly, SameSite=Lax, and Secure when served
//     over TLS; the database holds only hashes of session and API tokens.
package web

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/listener"
	"github.com/outpost-nms/outpost/shared/status"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Options configure a Server. DB is required; the rest have defaults.
type Options struct {
	DB *inventory.DB
	// DataDir is the collector's data directory; attribute archive paths
	// are relative to it.
	DataDir string
	// Source reads archives; nil means graph.Engine{} (the native engine
	// reading files). The collector passes graph.Engine{Cache: c} so that
	// graphs see updates still in the write-back cache.
	Source graph.Source
	// Logger receives request errors; nil means slog.Default().
	Logger *slog.Logger
	// SessionTTL is how long a login lasts; 0 means 12h.
	SessionTTL time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// MaxClockSkew is the collector's listen.max_clock_skew: the Agents
	// page flags clocks beyond it. 0: not flagged.
	MaxClockSkew time.Duration
	// SecureCookies marks cookies Secure; implied by TLSCert and TLSKey.
	SecureCookies bool
	// TLSCert and TLSKey are PEM files; with both set Run serves HTTPS.
	TLSCert, TLSKey string
	// LiveInterval is how often the live tail reads an archive's newest
	// rows; 0 means 5s.
	LiveInterval time.Duration
	// RequestTimeout bounds the work of one graph, series or export
	// request (see bounds.go); 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxHeavy and MaxHeavyPerUser bound the graph, series and export
	// requests running at once, in all and per user; 0 means
	// DefaultMaxHeavy and DefaultMaxHeavyPerUser.
	MaxHeavy, MaxHeavyPerUser int
	// MaxLive and MaxLivePerUser bound the open live streams, in all and
	// per user; 0 means DefaultMaxLive and DefaultMaxLivePerUser.
	MaxLive, MaxLivePerUser int
	// MaxConnections bounds the connections Run serves at once (a quarter
	// of them from one client address); 0 means DefaultMaxConnections.
	MaxConnections int
	// AlertRules is the alerting engine, for the rules page; nil: the
	// page says the engine is not running.
	AlertRules AlertRules
	// Warnings, when set, returns operational problems the layout shows
	// on every page to a logged-in user (a remote-write store failing or
	// refusing samples, samples dropped beyond forward.max_backlog).
	Warnings func() []string
	// GraphsRemote, when set, says the collector keeps no archives
	// (forward-only, rrd.enabled: false) and where graphs come from
	// instead, e.g. "the remote-write store (mimir)". The attribute page
	// shows a notice in place of its chart, the attribute lists offer no
	// graph links, and the series, graph, export and live APIs answer 404
	// with a JSON error saying so.
	GraphsRemote string
}

// Connection bounds of Run. A client must send its request headers within
// ReadHeaderTimeout and the whole request within ReadTimeout; an answer
// must be written within WriteTimeout (live streams renew it per event);
// an idle keep-alive connection is closed after IdleTimeout.
const (
	DefaultMaxConnections = 1024
	ReadHeaderTimeout     = 10 * time.Second
	ReadTimeout           = 30 * time.Second
	WriteTimeout          = 2 * time.Minute
	IdleTimeout           = time.Minute
	maxHeaderBytes        = 64 << 10
)

// Server serves the UI and the API. It is an http.Handler.
type Server struct {
	o          Options
	mux        *http.ServeMux
	pages      map[string]*template.Template
	log        *slog.Logger
	login      loginLimiter
	heavySlots *slots // graph, series and export requests
	liveSlots  *slots // live streams
}

// New builds the server and parses its templates.
func New(o Options) (*Server, error) {
	if o.DB == nil {
		return nil, errors.New("web: Options.DB is required")
	}
	if o.Source == nil {
		o.Source = graph.Engine{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.TLSCert != "" && o.TLSKey != "" {
		o.SecureCookies = true
	}
	if o.LiveInterval <= 0 {
		o.LiveInterval = 5 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	o.MaxHeavy = cmp.Or(max(o.MaxHeavy, 0), DefaultMaxHeavy)
	o.MaxHeavyPerUser = cmp.Or(max(o.MaxHeavyPerUser, 0), DefaultMaxHeavyPerUser)
	o.MaxLive = cmp.Or(max(o.MaxLive, 0), DefaultMaxLive)
	o.MaxLivePerUser = cmp.Or(max(o.MaxLivePerUser, 0), DefaultMaxLivePerUser)
	o.MaxConnections = cmp.Or(max(o.MaxConnections, 0), DefaultMaxConnections)
	s := &Server{o: o, mux: http.NewServeMux(), log: o.Logger,
		heavySlots: newSlots("graph, series and export requests", o.MaxHeavy, o.MaxHeavyPerUser),
		liveSlots:  newSlots("live streams", o.MaxLive, o.MaxLivePerUser)}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	static, _ := fs.Sub(staticFiles, "static")
	m := s.mux
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET /status.css", statusCSS)
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeFileFS(w, r, staticFiles, "static/favicon.ico")
	})
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.loginSubmit)

	page := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, s.requireUser(false, false, h)) }
	admin := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, s.requireUser(false, true, h)) }
	api := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, s.requireUser(true, false, h)) }

	page("POST /logout", s.logout)
	page("GET /{$}", s.indexPage)
	page("GET /hosts/{host}", s.hostPage)
	page("GET /attributes/{id}", s.attributePage)
	page("GET /events", s.eventsPage)
	page("GET /traps", s.trapsPage)
	page("GET /agents", s.agentsPage)
	page("GET /alerts", s.alertsPage)
	page("GET /alerts/rules", s.rulesPage)
	page("POST /alerts/{id}/ack", s.requireOperator(false, s.ackForm))
	page("POST /silences", s.requireOperator(false, s.silenceForm))
	page("POST /silences/{id}/expire", s.requireOperator(false, s.expireForm))
	page("GET /topology", s.topologyPage)
	page("GET /account", s.accountView)
	page("POST /account/password", s.changePassword)
	page("POST /account/tokens", s.issueToken)
	page("POST /account/tokens/revoke", s.revokeToken)
	admin("GET /admin/users", s.usersPage)
	admin("POST /admin/users", s.createUser)
	admin("POST /admin/users/{name}/disable", s.setUserDisabled(true))
	admin("POST /admin/users/{name}/enable", s.setUserDisabled(false))
	admin("POST /admin/users/{name}/delete", s.deleteUser)
	admin("POST /admin/users/{name}/password", s.setUserPassword)

	api("GET /api/v1/alerts", s.apiAlerts)
	api("GET /api/v1/alerts/rules", s.apiRules)
	api("POST /api/v1/alerts/{id}/ack", s.requireOperator(true, s.apiAck))
	api("GET /api/v1/silences", s.apiSilences)
	api("POST /api/v1/silences", s.requireOperator(true, s.apiCreateSilence))
	api("DELETE /api/v1/silences/{id}", s.requireOperator(true, s.apiExpireSilence))
	api("GET /api/v1/hosts", s.apiHosts)
	api("GET /api/v1/hosts/{host}", s.apiHost)
	api("GET /api/v1/hosts/{host}/attributes", s.apiHostAttributes)
	api("GET /api/v1/hosts/{host}/entities", s.apiHostEntities)
	api("GET /api/v1/hosts/{host}/neighbors", s.apiHostNeighbors)
	api("GET /api/v1/topology", s.apiTopology)
	api("GET /api/v1/attributes/{id}", s.apiAttribute)
	graphs := func(pattern string, h http.HandlerFunc) {
		if s.o.GraphsRemote != "" {
			h = s.noArchives
		}
		api(pattern, h)
	}
	graphs("GET /api/v1/attributes/{id}/series", s.apiSeries)
	graphs("GET /api/v1/attributes/{id}/graph.png", s.apiGraphPNG)
	graphs("GET /api/v1/attributes/{id}/graph.svg", s.apiGraphSVG)
	graphs("GET /api/v1/attributes/{id}/export.csv", s.apiExportCSV)
	graphs("GET /api/v1/attributes/{id}/export.json", s.apiExportJSON)
	graphs("GET /api/v1/attributes/{id}/live", s.apiLive)
	api("GET /api/v1/status", s.apiStatus)
	api("GET /api/v1/events", s.apiEvents)
	api("GET /api/v1/traps", s.apiTraps)
	api("GET /api/v1/agents", s.apiAgents)
	api("GET /api/v1/system-events", s.apiSystemEvents)
	m.Handle("/api/", s.requireUser(true, false, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	}))
	m.Handle("/", s.requireUser(false, false, func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "Page not found")
	}))
}

// graphsRemoteText is the notice of a forward-only collector.
func (s *Server) graphsRemoteText() string {
	return "This collector runs forward-only (rrd.enabled: false) and keeps no archives: graphs come from " + s.o.GraphsRemote + "."
}

// noArchives answers a graph, series, export or live request of a
// forward-only collector: 404, the attribute exists but its graph is kept
// by the remote-write store.
func (s *Server) noArchives(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]string{"error": s.graphsRemoteText(), "graphs": "remote"})
}

// statusCSS serves the status classes in the colours of shared/status, so
// the palette has one source.
func statusCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	for _, st := range status.All {
		fmt.Fprintf(w, ".badge.st-%[1]s{background:%[2]s}\ntd.num.st-%[1]s{color:%[2]s;font-weight:600}\n", st.Slug(), st.Color())
	}
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP adds the security headers every response carries and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	s.mux.ServeHTTP(w, r)
}

// archivePath resolves an attribute's archive path against the data directory.
func (s *Server) archivePath(rel string) string {
	if filepath.IsAbs(rel) || s.o.DataDir == "" {
		return rel
	}
	return filepath.Join(s.o.DataDir, rel)
}

// Run serves on addr until ctx ends, then shuts down gracefully (10 s).
// With Options.TLSCert and TLSKey set it serves HTTPS. The listener holds
// at most Options.MaxConnections connections (a quarter from one client
// address) and retries accept errors (listener.Guard); the server applies
// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout, so idle
// and slow clients cannot hold connections (or file descriptors) for long.
func (s *Server) Run(ctx context.Context, addr string) error {
	tls := s.o.TLSCert != "" && s.o.TLSKey != ""
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", addr, err)
	}
	ln := listener.Guard(inner, listener.Options{Name: "web", Max: s.o.MaxConnections, PerHost: max(1, s.o.MaxConnections/4), Log: s.log})
	srv := &http.Server{Handler: s, ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout, WriteTimeout: WriteTimeout,
		IdleTimeout: IdleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- srv.ServeTLS(ln, s.o.TLSCert, s.o.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.log.Info("web UI listening", "addr", inner.Addr().String(), "tls", tls, "max_connections", s.o.MaxConnections)
	select {
	case err := <-errc:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	return nil
}

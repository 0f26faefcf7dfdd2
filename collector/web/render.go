package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
)

var pageNames = []string{"login", "index", "host", "attribute", "events", "traps", "agents", "account", "users", "error", "alerts", "rules", "topology"}

func (s *Server) parseTemplates() error {
	funcs := template.FuncMap{
		"statusName":  func(st status.Status) string { return st.String() },
		"statusSlug":  func(st status.Status) string { return st.Slug() },
		"statusColor": func(st status.Status) string { return st.Color() },
		"statuses":    func() []status.Status { return status.All[:] },
		"count":       func(c inventory.StatusCounts, st status.Status) int { return c[st] },
		"pie":         pieSVG,
		"bar":         barSVG,
		"ago":         func(t time.Time) string { return ago(s.o.Clock(), t) },
		"skew":        skewText,
		"stamp": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"interval": func(d time.Duration) string {
			switch {
			case d == 0:
				return "-"
			case d%time.Hour == 0:
				return fmt.Sprintf("%d h", d/time.Hour)
			case d%time.Minute == 0 && d > 5*time.Minute:
				return fmt.Sprintf("%d min", d/time.Minute)
			}
			return fmt.Sprintf("%d s", d/time.Second)
		},
		"si":    graph.FormatSI,
		"speed": func(bps uint64) string { return graph.FormatSI(float64(bps), "b/s") },
		"deref": func(p *float64) float64 { return *p },
		"list":  func(v ...string) []string { return v },
		"alertRows": func(alerts []AlertJSON, canOperate bool, csrf string) any {
			return struct {
				Alerts     []AlertJSON
				CanOperate bool
				CSRF       string
			}{alerts, canOperate, csrf}
		},
		"path": url.PathEscape,
	}
	s.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// pageData is what every page template receives. Notice is the outcome
// of the POST that rendered the page ("User bob disabled."), shown by the
// layout above the content; pages report errors themselves.
type pageData struct {
	Title  string
	Nav    string
	User   *inventory.User
	CSRF   string
	Notice string
	// Warnings are Options.Warnings, for logged-in users only.
	Warnings []string
	Data     any
	// Firing is the number of firing alerts, for the top bar.
	Firing int
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	s.renderNotice(w, r, code, name, data, "")
}

// renderNotice is render with a notice (see pageData) for the layout.
func (s *Server) renderNotice(w http.ResponseWriter, r *http.Request, code int, name string, data any, notice string) {
	pd := pageData{Nav: name, Data: data, Notice: notice}
	if p := principalOf(r); p.User.Name != "" {
		u := p.User
		pd.User = &u
		if s.o.Warnings != nil {
			pd.Warnings = s.o.Warnings()
		}
		if p.Session != nil {
			pd.CSRF = p.Session.CSRF
		}
		if n, err := s.o.DB.FiringCount(r.Context()); err == nil {
			pd.Firing = n
		}
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", pd); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.render(w, r, code, "error", struct {
		Code    int
		Status  string
		Message string
	}{code, http.StatusText(code), msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// pieSVG draws the status counts as an inline SVG pie (a ring) in the six
// status colours, with a title per slice for hover text.
func pieSVG(c inventory.StatusCounts, size int) template.HTML {
	total := c.Total()
	var b strings.Builder
	r := float64(size) / 2
	fmt.Fprintf(&b, `<svg class="pie" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="status pie">`, size, size, size, size)
	if total == 0 {
		fmt.Fprintf(&b, `<circle cx="%g" cy="%g" r="%g" fill="#eee"/><text x="%g" y="%g" text-anchor="middle" font-size="11" fill="#777">no data</text></svg>`, r, r, r-1, r, r+4)
		return template.HTML(b.String())
	}
	angle := -math.Pi / 2
	for _, st := range status.All {
		n := c[st]
		if n == 0 {
			continue
		}
		frac := float64(n) / float64(total)
		title := fmt.Sprintf("%s: %d (%.1f%%)", st, n, frac*100)
		if n == total {
			fmt.Fprintf(&b, `<circle cx="%g" cy="%g" r="%g" fill="%s" data-status="%s"><title>%s</title></circle>`, r, r, r-1, st.Color(), st.Slug(), title)
			break
		}
		a2 := angle + frac*2*math.Pi
		large := 0
		if frac > 0.5 {
			large = 1
		}
		x1, y1 := r+(r-1)*math.Cos(angle), r+(r-1)*math.Sin(angle)
		x2, y2 := r+(r-1)*math.Cos(a2), r+(r-1)*math.Sin(a2)
		fmt.Fprintf(&b, `<path d="M%.2f,%.2fL%.2f,%.2fA%.2f,%.2f 0 %d 1 %.2f,%.2fZ" fill="%s" stroke="#fff" stroke-width="1" data-status="%s"><title>%s</title></path>`,
			r, r, x1, y1, r-1, r-1, large, x2, y2, st.Color(), st.Slug(), title)
		angle = a2
	}
	fmt.Fprintf(&b, `<circle cx="%g" cy="%g" r="%g" fill="#fff"/><text x="%g" y="%g" text-anchor="middle" font-size="%d" font-weight="600" fill="#333">%d</text></svg>`,
		r, r, r*0.55, r, r+5, max(11, size/8), total)
	return template.HTML(b.String())
}

// barSVG draws the counts as one stacked horizontal bar.
func barSVG(c inventory.StatusCounts, width int) template.HTML {
	total := c.Total()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bar" width="%d" height="10" viewBox="0 0 %d 10">`, width, width)
	if total == 0 {
		fmt.Fprintf(&b, `<rect width="%d" height="10" fill="#eee"/></svg>`, width)
		return template.HTML(b.String())
	}
	x := 0.0
	for _, st := range status.All {
		if c[st] == 0 {
			continue
		}
		w := float64(width) * float64(c[st]) / float64(total)
		fmt.Fprintf(&b, `<rect x="%.2f" width="%.2f" height="10" fill="%s"><title>%s: %d</title></rect>`, x, w, st.Color(), st, c[st])
		x += w
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// fail reports an unexpected error: logged in full, shown briefly.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, inventory.ErrNotFound) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeError(w, http.StatusNotFound, err.Error())
		} else {
			s.errorPage(w, r, http.StatusNotFound, err.Error())
		}
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error("request failed", "path", r.URL.Path, "err", err)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.errorPage(w, r, http.StatusInternalServerError, "Internal error; the collector's log has the details.")
}

type badRequest string

func (e badRequest) Error() string { return string(e) }

func errBadRequest(msg string) error { return badRequest(msg) }

// skewText says how far an agent's clock is from the collector's, from
// the collector's clock minus the agent's in seconds.
func skewText(sec float64) string {
	abs := math.Abs(sec)
	var text string
	switch {
	case abs >= 2*365*86400:
		text = fmt.Sprintf("%.0f years", abs/(365.25*86400))
	case abs >= 2*86400:
		text = fmt.Sprintf("%.0f days", abs/86400)
	default:
		text = time.Duration(abs * float64(time.Second)).Round(time.Second).String()
	}
	if sec < 0 {
		return text + " ahead"
	}
	return text + " behind"
}

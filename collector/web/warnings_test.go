package web

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWarningsShownToLoggedInUsers: Options.Warnings appear on every page
// of a logged-in user, escaped, and not on the login page.
func TestWarningsShownToLoggedInUsers(t *testing.T) {
	e := newEnv(t)
	warn := `Forwarding to mimir is failing since 2026-12-04 06:00:00 UTC: <script>x509</script>`
	srv, err := New(Options{DB: e.db, DataDir: e.dir, Clock: func() time.Time { return time.Unix(e.clock.Load(), 0) },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Warnings: func() []string { return []string{warn} }})
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(srv)
	t.Cleanup(e.ts.Close)
	anon := e.client()
	if _, body := get(t, anon, e.ts.URL+"/login"); strings.Contains(string(body), "system-warning") {
		t.Error("warnings shown on the login page")
	}
	c := e.client()
	e.login(c, "viewer", viewerPass)
	for _, page := range []string{"/", "/agents", "/events"} {
		_, body := get(t, c, e.ts.URL+page)
		if !strings.Contains(string(body), `class="error notice system-warning" role="alert">Forwarding to mimir is failing since 2026-12-04 06:00:00 UTC: &lt;script&gt;x509&lt;/script&gt;</p>`) {
			t.Errorf("%s: no escaped warning in the page", page)
		}
	}
}

package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/hosts/r1", "/hosts/r1"},
		{"/?q=a&status=down", "/?q=a&status=down"},
		{"/hosts/ge-0%2F0%2F1", "/hosts/ge-0%2F0%2F1"},
		{"/attributes/12?start=-1d#chart", "/attributes/12?start=-1d#chart"},
		{"", "/"},
		{"hosts/r1", "/"},
		{"//evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"/\t/evil.example", "/"}, // browsers strip the tab: //evil.example
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/%09/evil.example", "/"}, // the tab, once decoded
		{"/%2F/evil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/\x00", "/"},
		{"/a\x7f", "/"},
		{"/a\u0085b", "/"},
		{"/a\xffb", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"/" + strings.Repeat("a", 2048), "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzSafeNext: whatever next is, the redirect stays on this site, also
// the way a browser reads it (dropping tabs and newlines, taking a
// backslash for a slash).
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/hosts/r1", "//evil", "/\t/evil", "/%09/evil", "/\\evil", "https://x", "/a?b=c#d", "/%2F%2Fevil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://outpost.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", next, got)
		}
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(got)
		u, err := base.Parse(browser)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q does not parse: %v", next, got, err)
		}
		if u.Host != "outpost.example" || u.Scheme != "https" {
			t.Fatalf("safeNext(%q) = %q leaves the site: %s", next, got, u)
		}
	})
}

// Anonymous requests that are not page navigations (the favicon, images, a
// script's fetch) get no login page and no new login CSRF cookie; page
// navigations are redirected to /login as before.
func TestAnonymousNonPageRequests(t *testing.T) {
	e := newEnv(t)
	do := func(path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		return w
	}
	w := do("/favicon.ico", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "image/") || w.Body.Len() < 100 {
		t.Errorf("favicon: %d %q %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
	for _, tc := range []struct {
		path     string
		hdr      []string
		redirect bool
	}{
		{"/hosts/r1", []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", "text/html"}, true},
		{"/hosts/r1", nil, true}, // no hints (curl, old browsers): a page
		{"/hosts/r1", []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}, true},
		{"/apple-touch-icon.png", []string{"Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}, false},
		{"/hosts/r1", []string{"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty"}, false},
		{"/robots.txt", []string{"Accept", "image/avif,image/webp,*/*"}, false},
		{"/attributes/1", []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "image"}, false},
	} {
		w := do(tc.path, tc.hdr...)
		if tc.redirect {
			if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login?next=") {
				t.Errorf("%s %v: %d %q, want a redirect to the login page", tc.path, tc.hdr, w.Code, w.Header().Get("Location"))
			}
			continue
		}
		if w.Code != http.StatusUnauthorized || w.Header().Get("Set-Cookie") != "" || strings.Contains(w.Body.String(), "<form") {
			t.Errorf("%s %v: %d, Set-Cookie %q, body %q; want a bare 401", tc.path, tc.hdr, w.Code, w.Header().Get("Set-Cookie"), w.Body.String())
		}
	}
}

// A second login page keeps the login CSRF cookie the browser holds (the
// form already on screen stays valid); a malformed one is replaced.
func TestLoginCSRFCookieKept(t *testing.T) {
	e := newEnv(t)
	page := func(cookie string) (field, set string) {
		req := httptest.NewRequest("GET", "/login", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: loginCSRFCookie, Value: cookie})
		}
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if m := csrfRE.FindStringSubmatch(w.Body.String()); m != nil {
			field = m[1]
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == loginCSRFCookie {
				set = c.Value
			}
		}
		return field, set
	}
	first, set := page("")
	if first == "" || set != first {
		t.Fatalf("first login page: field %q cookie %q", first, set)
	}
	if field, set := page(first); field != first || set != first {
		t.Errorf("second login page: field %q cookie %q, want the kept %q", field, set, first)
	}
	for _, bad := range []string{"short", strings.Repeat("a", 42) + "!", strings.Repeat("A", 44)} {
		if field, set := page(bad); field == bad || set == bad || field != set || !wellFormedToken(field) {
			t.Errorf("malformed cookie %q: field %q cookie %q", bad, field, set)
		}
	}
}

package web

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
)

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, b
}

func TestAuthRequiredEverywhere(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	id := strconv.FormatInt(e.ifAttr, 10)
	pages := []string{"/", "/hosts/r1", "/attributes/" + id, "/events", "/traps", "/account", "/admin/users", "/nonexistent"}
	for _, p := range pages {
		res, body := get(t, c, e.ts.URL+p)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s without login: %d %q", p, res.StatusCode, res.Header.Get("Location"))
		}
		if strings.Contains(string(body), "Juniper") || strings.Contains(string(body), "192.0.2") {
			t.Errorf("GET %s without login leaks inventory data", p)
		}
	}
	apis := []string{"/api/v1/hosts", "/api/v1/hosts/r1", "/api/v1/hosts/r1/attributes", "/api/v1/attributes/" + id,
		"/api/v1/attributes/" + id + "/series", "/api/v1/attributes/" + id + "/graph.png", "/api/v1/attributes/" + id + "/graph.svg",
		"/api/v1/attributes/" + id + "/export.csv", "/api/v1/attributes/" + id + "/export.json", "/api/v1/attributes/" + id + "/live",
		"/api/v1/status", "/api/v1/events", "/api/v1/system-events", "/api/v1/nope"}
	for _, p := range apis {
		for _, hdr := range [][]string{nil, {"Authorization", "Bearer opt_forged"}, {"Authorization", "Basic YWRtaW46YWRtaW4="}, {"Cookie", "outpost_session=forged"}} {
			res, body := get(t, c, e.ts.URL+p, hdr...)
			var msg map[string]string
			if res.StatusCode != http.StatusUnauthorized || json.Unmarshal(body, &msg) != nil || msg["error"] == "" {
				t.Errorf("GET %s %v: %d %s", p, hdr, res.StatusCode, body)
			}
		}
	}
	for _, p := range []string{"/login", "/static/app.css", "/static/vendor/uplot/uPlot.iife.min.js", "/status.css"} {
		if res, _ := get(t, c, e.ts.URL+p); res.StatusCode != http.StatusOK {
			t.Errorf("public %s: %d", p, res.StatusCode)
		}
	}
	// With a token, the API answers.
	for _, p := range apis[:len(apis)-1] {
		if strings.HasSuffix(p, "/live") {
			continue
		}
		if res, body := get(t, c, e.ts.URL+p, "Authorization", "Bearer "+e.viewerTok); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with token: %d %s", p, res.StatusCode, body)
		}
	}
}

func TestLoginCookiesCSRFAndRoles(t *testing.T) {
	e := newEnv(t)
	// Login without the login CSRF token is refused.
	c := e.client()
	res, err := c.PostForm(e.ts.URL+"/login", url.Values{"user": {"admin"}, "password": {adminPass}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("login without csrf: %d", res.StatusCode)
	}
	// Wrong password.
	get(t, c, e.ts.URL+"/login")
	u, _ := url.Parse(e.ts.URL)
	var loginCSRF string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == loginCSRFCookie {
			loginCSRF = ck.Value
		}
	}
	res, _ = c.PostForm(e.ts.URL+"/login", url.Values{"csrf": {loginCSRF}, "user": {"admin"}, "password": {"wrong-password"}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", res.StatusCode)
	}
	// Cookie flags.
	get(t, c, e.ts.URL+"/login")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == loginCSRFCookie {
			loginCSRF = ck.Value
		}
	}
	res, _ = c.PostForm(e.ts.URL+"/login", url.Values{"csrf": {loginCSRF}, "user": {"admin"}, "password": {adminPass}, "next": {"//evil.example/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Errorf("open redirect after login: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure {
		t.Errorf("session cookie flags: %+v", sess)
	}
	secure, _ := New(Options{DB: e.db, TLSCert: "c.pem", TLSKey: "k.pem"})
	if ck := secure.cookie(sessionCookie, "x", 1); !ck.Secure {
		t.Error("cookie not Secure when serving TLS")
	}

	admin := e.client()
	adminCSRF := e.login(admin, "admin", adminPass)
	viewer := e.client()
	viewerCSRF := e.login(viewer, "viewer", viewerPass)

	post := func(c *http.Client, path string, form url.Values) int {
		res, err := c.PostForm(e.ts.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	newUser := func(csrf, name string) url.Values {
		return url.Values{"csrf": {csrf}, "name": {name}, "password": {"new-password-1"}, "role": {"viewer"}}
	}
	// The accounts the account-management cases act on: dave (logged in,
	// with a token) is disabled, erin (with a token) deleted, frank
	// (disabled) enabled, grace (logged in from two browsers) changes her
	// password, henry's is set by the admin.
	ctx := context.Background()
	for _, u := range []string{"dave", "erin", "frank", "grace", "henry"} {
		if err := e.db.CreateUser(ctx, u, u+"-password-1", inventory.RoleViewer, e.now); err != nil {
			t.Fatal(err)
		}
	}
	daveTok, err := e.db.CreateAPIToken(ctx, "dave", "ci", e.now)
	if err != nil {
		t.Fatal(err)
	}
	erinTok, err := e.db.CreateAPIToken(ctx, "erin", "ci", e.now)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetDisabled(ctx, "frank", true); err != nil {
		t.Fatal(err)
	}
	dave := e.client()
	e.login(dave, "dave", "dave-password-1")
	grace := e.client()
	graceCSRF := e.login(grace, "grace", "grace-password-1")
	grace2 := e.client()
	e.login(grace2, "grace", "grace-password-1")
	tokenID := func(tok string) string {
		h := sha256.Sum256([]byte(tok))
		return hex.EncodeToString(h[:])[:inventory.APITokenIDLen]
	}
	adminForm := func(kv ...string) url.Values {
		v := url.Values{"csrf": {adminCSRF}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	newPass := func(csrf, current, pw, pw2 string) url.Values {
		v := url.Values{"current": {current}, "password": {pw}, "password2": {pw2}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	revoke := func(csrf, id string) url.Values {
		v := url.Values{"id": {id}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	tests := []struct {
		name   string
		c      *http.Client
		method string
		path   string
		form   url.Values
		want   int
	}{
		{"viewer sees hosts", viewer, "GET", "/", nil, 200},
		{"viewer opens the host page", viewer, "GET", "/hosts/r1", nil, 200},
		{"unknown host is 404", viewer, "GET", "/hosts/nope", nil, 404},
		{"viewer cannot list users", viewer, "GET", "/admin/users", nil, 403},
		{"admin lists users", admin, "GET", "/admin/users", nil, 200},
		{"admin adds a user without csrf", admin, "POST", "/admin/users", url.Values{"name": {"eve"}, "password": {"new-password-1"}, "role": {"viewer"}}, 403},
		{"admin adds a user with another session's csrf", admin, "POST", "/admin/users", newUser(viewerCSRF, "eve"), 403},
		{"viewer adds a user with csrf", viewer, "POST", "/admin/users", newUser(viewerCSRF, "eve"), 403},
		{"admin adds a user", admin, "POST", "/admin/users", newUser(adminCSRF, "carol"), 200},
		{"admin adds a duplicate user", admin, "POST", "/admin/users", newUser(adminCSRF, "carol"), 400},
		{"viewer cannot disable a user", viewer, "POST", "/admin/users/dave/disable", url.Values{"csrf": {viewerCSRF}}, 403},
		{"admin disables a user without csrf", admin, "POST", "/admin/users/dave/disable", url.Values{}, 403},
		{"dave is still logged in", dave, "GET", "/", nil, 200},
		{"admin disables dave", admin, "POST", "/admin/users/dave/disable", adminForm(), 200},
		{"disabled dave's session has ended", dave, "GET", "/", nil, 303},
		{"admin disables a missing user", admin, "POST", "/admin/users/nobody/disable", adminForm(), 404},
		{"the last enabled admin cannot disable themself", admin, "POST", "/admin/users/admin/disable", adminForm(), 400},
		{"viewer cannot enable a user", viewer, "POST", "/admin/users/frank/enable", url.Values{"csrf": {viewerCSRF}}, 403},
		{"admin enables frank", admin, "POST", "/admin/users/frank/enable", adminForm(), 200},
		{"viewer cannot delete a user", viewer, "POST", "/admin/users/erin/delete", url.Values{"csrf": {viewerCSRF}, "confirm": {"yes"}}, 403},
		{"admin deletes a user without csrf", admin, "POST", "/admin/users/erin/delete", url.Values{"confirm": {"yes"}}, 403},
		{"admin deletes a user without confirming", admin, "POST", "/admin/users/erin/delete", adminForm(), 400},
		{"admin deletes erin", admin, "POST", "/admin/users/erin/delete", adminForm("confirm", "yes"), 200},
		{"admin deletes a missing user", admin, "POST", "/admin/users/erin/delete", adminForm("confirm", "yes"), 404},
		{"the last enabled admin cannot delete themself", admin, "POST", "/admin/users/admin/delete", adminForm("confirm", "yes"), 400},
		{"viewer cannot set a password", viewer, "POST", "/admin/users/henry/password", url.Values{"csrf": {viewerCSRF}, "password": {"henry-password-2"}}, 403},
		{"admin sets a password without csrf", admin, "POST", "/admin/users/henry/password", url.Values{"password": {"henry-password-2"}}, 403},
		{"admin sets a too short password", admin, "POST", "/admin/users/henry/password", adminForm("password", "short"), 400},
		{"admin sets henry's password", admin, "POST", "/admin/users/henry/password", adminForm("password", "henry-password-2"), 200},
		{"admin sets a missing user's password", admin, "POST", "/admin/users/nobody/password", adminForm("password", "nobody-password-2"), 404},
		{"admin sets their own password without the current one", admin, "POST", "/admin/users/admin/password", adminForm("password", "admin-password-2"), 400},
		{"password change needs csrf", grace, "POST", "/account/password", newPass("", "grace-password-1", "grace-password-2", "grace-password-2"), 403},
		{"password change with a wrong current password", grace, "POST", "/account/password", newPass(graceCSRF, "wrong-password", "grace-password-2", "grace-password-2"), 400},
		{"password change with differing new passwords", grace, "POST", "/account/password", newPass(graceCSRF, "grace-password-1", "grace-password-2", "grace-password-3"), 400},
		{"password change to a too short password", grace, "POST", "/account/password", newPass(graceCSRF, "grace-password-1", "short", "short"), 400},
		{"grace's other browser is logged in", grace2, "GET", "/", nil, 200},
		{"grace changes her password", grace, "POST", "/account/password", newPass(graceCSRF, "grace-password-1", "grace-password-2", "grace-password-2"), 200},
		{"grace's other session has ended", grace2, "GET", "/", nil, 303},
		{"grace's browser stays logged in", grace, "GET", "/account", nil, 200},
		{"token revocation needs csrf", viewer, "POST", "/account/tokens/revoke", revoke("", tokenID(e.viewerTok)), 403},
		{"revoking a malformed token ID", viewer, "POST", "/account/tokens/revoke", revoke(viewerCSRF, "not-hex"), 400},
		{"revoking with the token instead of its ID", viewer, "POST", "/account/tokens/revoke", revoke(viewerCSRF, e.viewerTok), 400},
		{"viewer cannot revoke the admin's token", viewer, "POST", "/account/tokens/revoke", revoke(viewerCSRF, tokenID(e.adminTok)), 404},
		{"viewer revokes their token", viewer, "POST", "/account/tokens/revoke", revoke(viewerCSRF, tokenID(e.viewerTok)), 200},
		{"revoking it again", viewer, "POST", "/account/tokens/revoke", revoke(viewerCSRF, tokenID(e.viewerTok)), 404},
		{"token creation needs csrf", viewer, "POST", "/account/tokens", url.Values{"label": {"x"}}, 403},
		{"viewer creates a token", viewer, "POST", "/account/tokens", url.Values{"csrf": {viewerCSRF}, "label": {"x"}}, 200},
		{"logout needs csrf", viewer, "POST", "/logout", url.Values{}, 403},
		{"viewer logs out", viewer, "POST", "/logout", url.Values{"csrf": {viewerCSRF}}, 303},
		{"logged-out viewer is redirected", viewer, "GET", "/", nil, 303},
	}
	for _, tt := range tests {
		var code int
		if tt.method == "GET" {
			res, _ := get(t, tt.c, e.ts.URL+tt.path)
			code = res.StatusCode
		} else {
			code = post(tt.c, tt.path, tt.form)
		}
		if code != tt.want {
			t.Errorf("%s: %s %s = %d, want %d", tt.name, tt.method, tt.path, code, tt.want)
		}
	}
	if _, err := e.db.Authenticate(context.Background(), "carol", "new-password-1"); err != nil {
		t.Errorf("created user cannot log in: %v", err)
	}
	if _, err := e.db.Authenticate(context.Background(), "eve", "new-password-1"); err == nil {
		t.Error("a refused request created a user")
	}

	// The account cases' effects, through the inventory and the API.
	logins := []struct {
		user, pass string
		ok         bool
	}{
		{"dave", "dave-password-1", false},   // disabled
		{"erin", "erin-password-1", false},   // deleted
		{"frank", "frank-password-1", true},  // enabled again
		{"henry", "henry-password-1", false}, // password set by the admin
		{"henry", "henry-password-2", true},  //
		{"grace", "grace-password-1", false}, // her own new password
		{"grace", "grace-password-2", true},  //
		{"admin", adminPass, true},           // refused to lock themself out
	}
	for _, l := range logins {
		if _, err := e.db.Authenticate(ctx, l.user, l.pass); (err == nil) != l.ok {
			t.Errorf("log in as %s with %s: %v, want success %v", l.user, l.pass, err, l.ok)
		}
	}
	users, err := e.db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Name == "erin" {
			t.Error("deleted user erin is still listed")
		}
		if u.Name == "admin" && u.Disabled {
			t.Error("the last admin was disabled")
		}
	}
	bearer := []struct {
		who, tok string
		want     int
	}{
		{"disabled dave", daveTok, 401},
		{"deleted erin", erinTok, 401},
		{"revoked viewer token", e.viewerTok, 401},
		{"admin", e.adminTok, 200},
	}
	for _, b := range bearer {
		if res, body := get(t, e.client(), e.ts.URL+"/api/v1/hosts", "Authorization", "Bearer "+b.tok); res.StatusCode != b.want {
			t.Errorf("GET /api/v1/hosts with the token of %s: %d %s, want %d", b.who, res.StatusCode, body, b.want)
		}
	}
	if toks, err := e.db.APITokens(ctx, "admin"); err != nil || len(toks) != 1 || toks[0].ID != tokenID(e.adminTok) {
		t.Errorf("admin's tokens after the viewer's revocations: %+v %v", toks, err)
	}
}

// TestAccountTokenShownOnce issues a token on /account: the resulting page
// shows it with the note, the token works, and the account page lists it by
// ID afterwards without ever showing it again.
func TestAccountTokenShownOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	csrf := e.login(c, "viewer", viewerPass)
	res, err := c.PostForm(e.ts.URL+"/account/tokens", url.Values{"csrf": {csrf}, "label": {"grafana"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`id="new-token"><code>(` + inventory.APITokenPrefix + `[A-Za-z0-9_-]+)</code>`).FindSubmatch(body)
	if res.StatusCode != 200 || m == nil || !strings.Contains(string(body), "cannot be shown again") {
		t.Fatalf("token page: %d %s", res.StatusCode, body)
	}
	tok := string(m[1])
	if res, body := get(t, e.client(), e.ts.URL+"/api/v1/status", "Authorization", "Bearer "+tok); res.StatusCode != 200 {
		t.Fatalf("new token: %d %s", res.StatusCode, body)
	}
	h := sha256.Sum256([]byte(tok))
	id := hex.EncodeToString(h[:])[:inventory.APITokenIDLen]
	res, page := get(t, c, e.ts.URL+"/account")
	if res.StatusCode != 200 || strings.Contains(string(page), tok) || !strings.Contains(string(page), `data-token="`+id+`"`) || !strings.Contains(string(page), "grafana") {
		t.Errorf("account page after issuing: %d, shows the token %v, lists it by ID %v", res.StatusCode, strings.Contains(string(page), tok), strings.Contains(string(page), id))
	}
	if strings.Contains(string(page), `id="new-token"`) {
		t.Error("the account page shows a new-token box on a plain GET")
	}
	if res, _ := get(t, c, e.ts.URL+"/account/tokens"); res.StatusCode == 200 {
		t.Error("GET /account/tokens answers 200: tokens must only be issued by POST")
	}
}

type gridPage struct {
	Page      int        `json:"page"`
	Rows      int        `json:"rows"`
	TotalRows int        `json:"total_rows"`
	LastPage  int        `json:"last_page"`
	Items     []AttrJSON `json:"items"`
}

func TestAttributeGridEndpoint(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	tok := []string{"Authorization", "Bearer " + e.viewerTok}
	tests := []struct {
		query    string
		total    int
		last     int
		n        int
		firstKey string
		check    func(p gridPage) string
	}{
		{"page=1&rows=10", 33, 4, 10, "host", nil},
		{"page=4&rows=10", 33, 4, 3, "if:ge-0/0/29", nil}, // natural order: host, ge-0/0/0, 1, 2 ... 31
		{"page=9&rows=10", 33, 4, 0, "", nil},
		{"rows=5&sort=name&order=desc", 33, 7, 5, "host", nil},
		{"rows=40&sort=key", 33, 1, 33, "host", func(p gridPage) string {
			for i := 1; i < len(p.Items); i++ {
				if inventory.NaturalCompare(p.Items[i-1].Key, p.Items[i].Key) > 0 {
					return "not sorted by key (naturally)"
				}
			}
			return ""
		}},
		{"rows=50&sort=status&order=desc", 33, 1, 33, "", func(p gridPage) string {
			// descending severity: Up first, Down last
			if p.Items[0].Status.Slug() != "up" || p.Items[len(p.Items)-1].Status.Slug() != "down" {
				return "not by severity: " + p.Items[0].Status.Slug() + " .. " + p.Items[len(p.Items)-1].Status.Slug()
			}
			return ""
		}},
		{"status=down", 5, 1, 5, "if:ge-0/0/4", func(p gridPage) string {
			for _, a := range p.Items {
				if a.Status.Slug() != "down" {
					return "status filter leaked " + a.Key
				}
			}
			return ""
		}},
		{"status=Admin%20Down&rows=2", 5, 3, 2, "if:ge-0/0/5", nil},
		{"kind=host", 1, 1, 1, "host", nil},
		{"filter=SITE%20c&rows=100", 6, 1, 6, "if:ge-0/0/2", nil},
		{"filter=ge-0/0/3", 3, 1, 3, "if:ge-0/0/3", nil}, // 3, 30, 31
	}
	for _, tt := range tests {
		res, body := get(t, c, e.ts.URL+"/api/v1/hosts/r1/attributes?"+tt.query, tok...)
		if res.StatusCode != 200 {
			t.Errorf("%s: %d %s", tt.query, res.StatusCode, body)
			continue
		}
		var p gridPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if p.TotalRows != tt.total || p.LastPage != tt.last || len(p.Items) != tt.n {
			t.Errorf("%s: total %d last %d n %d, want %d %d %d", tt.query, p.TotalRows, p.LastPage, len(p.Items), tt.total, tt.last, tt.n)
			continue
		}
		if tt.firstKey != "" && p.Items[0].Key != tt.firstKey {
			t.Errorf("%s: first %s, want %s", tt.query, p.Items[0].Key, tt.firstKey)
		}
		if tt.check != nil {
			if msg := tt.check(p); msg != "" {
				t.Errorf("%s: %s", tt.query, msg)
			}
		}
	}
	for _, bad := range []string{"sort=password_hash", "order=sideways", "page=0", "rows=-1", "status=sideways", "sort=a.key%3BDROP"} {
		if res, _ := get(t, c, e.ts.URL+"/api/v1/hosts/r1/attributes?"+bad, tok...); res.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", bad, res.StatusCode)
		}
	}
	if res, _ := get(t, c, e.ts.URL+"/api/v1/hosts/nope/attributes", tok...); res.StatusCode != 404 {
		t.Errorf("unknown host: %d", res.StatusCode)
	}
}

func TestSeriesAndExportsMatchTheArchive(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	tok := []string{"Authorization", "Bearer " + e.viewerTok}
	id := strconv.FormatInt(e.ifAttr, 10)
	end := e.now.Unix()
	start := end - 6*3600
	q := fmt.Sprintf("start=%d&end=%d", start, end)
	path := e.dir + "/rrd/r1/if_ge-0_0_1.rrd"
	ctx := context.Background()
	// What the RRD engine fetches is the reference.
	avg, err := graph.Engine{}.Fetch(ctx, path, "AVERAGE", time.Unix(start, 0), time.Unix(end, 0), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mx, err := graph.Engine{}.Fetch(ctx, path, "MAX", time.Unix(start, 0), time.Unix(end, 0), time.Second)
	if err != nil {
		t.Fatal(err)
	}

	// CSV export: bits per second = 8 x what the engine fetches, unknown empty.
	res, body := get(t, c, e.ts.URL+"/api/v1/attributes/"+id+"/export.csv?"+q, tok...)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", res.StatusCode, body)
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != len(avg.Rows) {
		t.Fatalf("csv rows %d, fetch %d", len(recs)-1, len(avg.Rows))
	}
	gaps := 0
	for i, row := range avg.Rows {
		want := []float64{row[0] * 8, mx.Rows[i][0] * 8, row[1] * 8, mx.Rows[i][1] * 8}
		for j, w := range want {
			cell := recs[i+1][j+1]
			if math.IsNaN(w) {
				gaps++
				if cell != "" {
					t.Fatalf("row %d col %d: unknown exported as %q", i, j, cell)
				}
				continue
			}
			if got, err := strconv.ParseFloat(cell, 64); err != nil || got != w {
				t.Fatalf("row %d col %d: %q, want %v", i, j, cell, w)
			}
		}
	}
	if gaps == 0 {
		t.Error("the archive's gap did not export as unknown")
	}

	// JSON export in xport's shape.
	res, body = get(t, c, e.ts.URL+"/api/v1/attributes/"+id+"/export.json?"+q, tok...)
	var x graph.Xport
	if res.StatusCode != 200 || json.Unmarshal(body, &x) != nil {
		t.Fatalf("json: %d %s", res.StatusCode, body[:min(200, len(body))])
	}
	if x.Meta.Step != 60 || len(x.Data) != len(avg.Rows) || x.Meta.Start != avg.Stamp(0).Unix() || x.Meta.Legend[0] != "in_octets AVERAGE (bit/s)" {
		t.Errorf("xport meta %+v rows %d", x.Meta, len(x.Data))
	}
	if v := x.Data[10][0]; v == nil || *v != avg.Rows[10][0]*8 {
		t.Errorf("xport row 10: %v, want %v", v, avg.Rows[10][0]*8)
	}

	// Series: reduced to the width, AVERAGE = mean of the fetched rows, MAX = max.
	res, body = get(t, c, e.ts.URL+"/api/v1/attributes/"+id+"/series?"+q+"&width=72", tok...)
	var ch graph.Chart
	if res.StatusCode != 200 || json.Unmarshal(body, &ch) != nil {
		t.Fatalf("series: %d %s", res.StatusCode, body)
	}
	if ch.Step != 300 || len(ch.X) < 72 || len(ch.X) > 74 || len(ch.Series) != 2 || ch.Unit != "bit/s" || ch.P95Step != 60 {
		t.Fatalf("series step %d rows %d series %d unit %q p95 step %d", ch.Step, len(ch.X), len(ch.Series), ch.Unit, ch.P95Step)
	}
	nulls := 0
	for i, x := range ch.X {
		var sum, mxv float64
		n := 0
		for r := range avg.Rows {
			st := avg.Stamp(r).Unix()
			if st > x-300 && st <= x && !math.IsNaN(avg.Rows[r][0]) {
				sum += avg.Rows[r][0] * 8
				mxv = math.Max(mxv, mx.Rows[r][0]*8)
				n++
			}
		}
		got := ch.Series[0].Avg[i]
		if n == 0 {
			if got != nil {
				t.Errorf("column %d: %v where the archive is unknown", i, *got)
			}
			nulls++
			continue
		}
		if got == nil || math.Abs(*got-sum/float64(n)) > 1e-6**got {
			t.Errorf("column %d avg %v, want %v", i, got, sum/float64(n))
		}
		if m := ch.Series[0].Max[i]; m == nil || math.Abs(*m-mxv) > 1e-6*mxv {
			t.Errorf("column %d max %v, want %v", i, m, mxv)
		}
	}
	if nulls < 5 {
		t.Errorf("the 30-minute gap gave %d null columns", nulls)
	}
	if want := graph.Percentile(avg.Column("in_octets"), 95) * 8; ch.Series[0].P95 == nil || *ch.Series[0].P95 != want {
		t.Errorf("p95 %v, want %v (finest archive)", ch.Series[0].P95, want)
	}
	if res, _ := get(t, c, e.ts.URL+"/api/v1/attributes/"+id+"/series?"+q+"&cf=MAX", tok...); res.StatusCode != 200 {
		t.Errorf("cf=MAX: %d", res.StatusCode)
	}
	for _, bad := range []string{"start=yesterday", "start=100&end=50", "width=999999", "cf=MIN", "ds=nope"} {
		if res, _ := get(t, c, e.ts.URL+"/api/v1/attributes/"+id+"/series?"+bad, tok...); res.StatusCode != 400 {
			t.Errorf("series?%s: %d, want 400", bad, res.StatusCode)
		}
	}

	// Images: decode and have the requested size.
	for _, sz := range [][2]int{{640, 200}, {1000, 320}} {
		for _, style := range []string{"steps", "lines"} {
			iq := fmt.Sprintf("%s&width=%d&height=%d&style=%s", q, sz[0], sz[1], style)
			res, body := get(t, c, e.ts.URL+"/api/v1/attributes/"+id+"/graph.png?"+iq, tok...)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("png: %d", res.StatusCode)
			}
			img, err := png.Decode(strings.NewReader(string(body)))
			if err != nil || img.Bounds().Dx() != sz[0] || img.Bounds().Dy() != sz[1] {
				t.Errorf("png %v: %v", sz, err)
			}
			res, body = get(t, c, e.ts.URL+"/api/v1/attributes/"+id+"/graph.svg?"+iq, tok...)
			var doc struct {
				Width  int `xml:"width,attr"`
				Height int `xml:"height,attr"`
			}
			if res.StatusCode != 200 || xml.Unmarshal(body, &doc) != nil || doc.Width != sz[0] || doc.Height != sz[1] {
				t.Errorf("svg %v: %d %+v", sz, res.StatusCode, doc)
			}
		}
	}
	if res, _ := get(t, c, e.ts.URL+"/api/v1/attributes/"+id+"/graph.png?style=wavy", tok...); res.StatusCode != 400 {
		t.Errorf("bad style: %d", res.StatusCode)
	}
}

func TestAPIHostsStatusEventsNTP(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	tok := []string{"Authorization", "Bearer " + e.adminTok}
	_, body := get(t, c, e.ts.URL+"/api/v1/hosts", tok...)
	var hosts struct{ Items []HostJSON }
	if err := json.Unmarshal(body, &hosts); err != nil || len(hosts.Items) != 3 || hosts.Items[0].Name != "ntp1" || hosts.Items[1].Counts["down"] != 5 || hosts.Items[1].Status.Slug() != "down" {
		t.Fatalf("hosts: %v %s", err, body)
	}
	_, body = get(t, c, e.ts.URL+"/api/v1/status", tok...)
	var st struct {
		Total  int
		Counts map[string]int
		ByKind map[string]map[string]int `json:"by_kind"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Total != 37 || st.ByKind["ntp-peer"]["alert"] != 1 {
		t.Fatalf("status: %v %s", err, body)
	}
	_, body = get(t, c, e.ts.URL+"/api/v1/events?host=r1&limit=2", tok...)
	var ev struct{ Items []ChangeJSON }
	if err := json.Unmarshal(body, &ev); err != nil || len(ev.Items) != 2 || ev.Items[0].New.Slug() != "down" || ev.Items[0].AttrKey != "if:ge-0/0/4" {
		t.Fatalf("events: %v %s", err, body)
	}
	res, body := get(t, c, e.ts.URL+"/api/v1/attributes/"+strconv.FormatInt(e.peerAttr, 10), tok...)
	var a AttrJSON
	if res.StatusCode != 200 || json.Unmarshal(body, &a) != nil || a.Props["tally"] != "*" || !a.HasArchive {
		t.Fatalf("attribute: %d %s", res.StatusCode, body)
	}
	if res, _ := get(t, c, e.ts.URL+"/api/v1/attributes/abc", tok...); res.StatusCode != 400 {
		t.Errorf("bad id: %d", res.StatusCode)
	}
	if res, _ := get(t, c, e.ts.URL+"/api/v1/attributes/999999", tok...); res.StatusCode != 404 {
		t.Errorf("missing attribute: %d", res.StatusCode)
	}
	// The NTP host page shows the peer table, system peer first and marked,
	// with delay/offset/jitter in ms from the archives' last rows.
	admin := e.client()
	e.login(admin, "admin", adminPass)
	res, body = get(t, admin, e.ts.URL+"/hosts/ntp1")
	page := string(body)
	i := strings.Index(page, `id="ntp-peers"`)
	if res.StatusCode != 200 || i < 0 {
		t.Fatalf("ntp page: %d", res.StatusCode)
	}
	table := page[i:]
	table = table[:strings.Index(table, "</table>")]
	sys := strings.Index(table, `class="sys-peer"`)
	if sys < 0 || strings.Count(table, "sys-peer") != 1 || !strings.Contains(table[sys:], "192.0.2.10") || !strings.Contains(table[sys:], "system peer") {
		t.Errorf("system peer not marked: %s", table)
	}
	for _, want := range []string{".GPS.", "377", "1.230", "0.210", "-0.0", ">x<"} {
		if !strings.Contains(table, want) {
			t.Errorf("peer table lacks %q", want)
		}
	}
}

func TestLiveTail(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/api/v1/attributes/"+strconv.FormatInt(e.ifAttr, 10)+"/live", nil)
	req.Header.Set("Authorization", "Bearer "+e.viewerTok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	next := func() LiveRow {
		t.Helper()
		var ev string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok && ev == "row" {
				var row LiveRow
				if err := json.Unmarshal([]byte(v), &row); err != nil {
					t.Fatal(err)
				}
				return row
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return LiveRow{}
	}
	first := next()
	if first.Stamp != e.now.Unix() || first.Values["in_octets"] == nil || first.Step != 60 {
		t.Fatalf("first row %+v, want stamp %d", first, e.now.Unix())
	}
	// A new archive row one minute later arrives as the next event:
	// 6e6 octets in 60 s is 1e5 octets/s, 8e5 bit/s.
	path := e.dir + "/rrd/r1/if_ge-0_0_1.rrd"
	e.clock.Store(e.now.Unix() + 60)
	appendIf(t, path, e.now.Unix()+60, e.lastIn+6_000_000, e.lastOut+600_000)
	second := next()
	if second.Stamp != e.now.Unix()+60 || second.Values["in_octets"] == nil || *second.Values["in_octets"] != 8e5 || *second.Values["out_octets"] != 8e4 {
		t.Errorf("second row %+v, want stamp %d with 800000 and 80000 bit/s", second, e.now.Unix()+60)
	}
}

func TestVendoredAssetsMatchManifest(t *testing.T) {
	sums, err := fs.ReadFile(staticFiles, "static/vendor/uplot/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		want, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("bad manifest line %q", line)
		}
		b, err := fs.ReadFile(staticFiles, "static/vendor/uplot/"+name)
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != want {
			t.Errorf("%s: sha256 %x, manifest %s", name, got, want)
		}
		n++
	}
	if n != 3 {
		t.Errorf("manifest lists %d files, want uPlot.iife.min.js, uPlot.min.css and LICENSE", n)
	}
}

func FuzzParseAttrQuery(f *testing.F) {
	for _, s := range []string{"page=2&rows=10&sort=name&order=desc", "status=admin-down&kind=ntp-peer&filter=ge-0%2F0", "sort=password_hash", "rows=999999", "filter=%25%5C_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		aq, err := parseAttrQuery(q)
		if err != nil {
			return
		}
		if _, ok := inventory.AttrSortColumns[aq.Sort]; aq.Sort != "" && !ok {
			t.Fatalf("sort %q outside the allow-list accepted", aq.Sort)
		}
		if aq.Page < 0 || aq.Rows < 0 || (aq.Status != nil && !aq.Status.Valid()) || len(aq.Text) > 200 {
			t.Fatalf("accepted %+v", aq)
		}
	})
}

func FuzzParseHostQuery(f *testing.F) {
	for _, s := range []string{"page=2&per_page=10&sort=status&order=desc", "status=admin-down&q=ge-0%2F0", "filter=a&rows=5", "q=a&filter=b", "sort=password_hash", "per_page=999999", "q=%25%5C_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		hq, err := parseHostQuery(q)
		if err != nil {
			var br badRequest
			if !errors.As(err, &br) {
				t.Fatalf("%q: %v is not a bad request", raw, err)
			}
			return
		}
		if _, ok := inventory.HostSortColumns[hq.Sort]; hq.Sort != "" && !ok {
			t.Fatalf("sort %q outside the allow-list accepted", hq.Sort)
		}
		if hq.Page < 0 || hq.Rows < 0 || hq.Rows > inventory.MaxPageRows || (hq.Status != nil && !hq.Status.Valid()) || len(hq.Text) > 200 {
			t.Fatalf("accepted %+v", hq)
		}
	})
}

// A host name with a slash, a space, a question mark and markup must link
// to its own page and be shown escaped.
func TestAwkwardHostName(t *testing.T) {
	e := newEnv(t)
	name := `lab a/b?c<script>x</script>`
	exec1(t, e.db, `INSERT INTO hosts(name, created_at, updated_at) VALUES (?, 1, 1)`, name)
	c := e.client()
	e.login(c, "viewer", viewerPass)
	_, body := get(t, c, e.ts.URL+"/")
	page := string(body)
	if strings.Contains(page, "<script>x</script>") {
		t.Fatal("host name not escaped")
	}
	want := `href="/hosts/` + url.PathEscape(name)
	i := strings.Index(page, want)
	if i < 0 {
		t.Fatalf("no escaped link %s in the overview", want)
	}
	link := page[i+len(`href="`):]
	link = link[:strings.Index(link, `"`)]
	res, body := get(t, c, e.ts.URL+strings.ReplaceAll(link, "&amp;", "&"))
	if res.StatusCode != 200 || !strings.Contains(string(body), "lab a/b?c&lt;script&gt;") {
		t.Errorf("following %s: %d", link, res.StatusCode)
	}
	res, _ = get(t, c, e.ts.URL+"/api/v1/hosts/"+url.PathEscape(name)+"/attributes", "Authorization", "Bearer "+e.viewerTok)
	if res.StatusCode != 200 {
		t.Errorf("grid endpoint for the awkward host: %d", res.StatusCode)
	}
}

// TestSystemEventsAPI: the collector's own events (an agent dropped data)
// are listed newest first, limited, and refused without a token.
func TestSystemEventsAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i, m := range []string{"agent edge-a enrolled", "agent edge-a dropped 6 batches (14418 samples): spool full"} {
		kind := []string{"enrolled", "agent-dropped"}[i]
		if err := e.db.RecordEvent(ctx, inventory.Event{At: e.now.Add(time.Duration(i) * time.Minute), Kind: kind, Agent: "edge-a", Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client()
	res, body := get(t, c, e.ts.URL+"/api/v1/system-events?limit=1", "Authorization", "Bearer "+e.viewerTok)
	var got struct {
		Items []SystemEventJSON `json:"items"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil {
		t.Fatalf("GET system-events: %d %s", res.StatusCode, body)
	}
	if len(got.Items) != 1 || got.Items[0].Kind != "agent-dropped" || got.Items[0].Agent != "edge-a" || !strings.Contains(got.Items[0].Message, "14418 samples") {
		t.Fatalf("newest system event %+v", got.Items)
	}
	if res, _ := get(t, c, e.ts.URL+"/api/v1/system-events?limit=x", "Authorization", "Bearer "+e.viewerTok); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad limit: %d", res.StatusCode)
	}
}

// addLabHosts adds n hosts lab-00.. with no attributes (so their worst
// status is Unknown), addresses 198.51.100.100.., location "lab bench",
// updated long ago.
func addLabHosts(t *testing.T, e *env, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		exec1(t, e.db, `INSERT INTO hosts(name, address, location, created_at, updated_at) VALUES (?, ?, 'lab bench', 1, 1)`,
			fmt.Sprintf("lab-%02d", i), fmt.Sprintf("198.51.100.%d", 100+i))
	}
}

var hostRowRE = regexp.MustCompile(`<tr data-host="([^"]+)">`)

// TestOverviewHostList: the overview's host table is filtered, sorted and
// paged by the server through plain GET parameters, while the pies count
// every host.
func TestOverviewHostList(t *testing.T) {
	e := newEnv(t)
	addLabHosts(t, e, 60) // 63 hosts: r1 (worst Down), ntp1 (Alert), sw2 and lab-NN (Unknown)
	c := e.client()
	e.login(c, "viewer", viewerPass)
	labs := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("lab-%02d", i))
		}
		return out
	}
	tests := []struct {
		name  string
		query string
		hosts []string // the rows, in order
		info  string
	}{
		{"default: 50 by name", "", labs(0, 50), "Page 1 of 2 · 63 of 63 hosts"},
		{"second page", "page=2", append(append(labs(50, 60), "ntp1", "r1"), "sw2"), "Page 2 of 2 · 63 of 63 hosts"},
		{"empty form fields are defaults", "q=&status=&sort=&order=&per_page=", labs(0, 50), "Page 1 of 2 · 63 of 63 hosts"},
		{"filter location, any case", "q=RACK+4", []string{"r1"}, "Page 1 of 1 · 1 of 63 hosts"},
		{"filter system description", "q=juniper", []string{"r1"}, "Page 1 of 1 · 1 of 63 hosts"},
		{"filter address", "q=192.0.2.1", []string{"ntp1", "r1"}, "Page 1 of 1 · 2 of 63 hosts"},
		{"filter by the grid's name", "filter=192.0.2.1", []string{"ntp1", "r1"}, "Page 1 of 1 · 2 of 63 hosts"},
		{"worst status down", "status=down", []string{"r1"}, "Page 1 of 1 · 1 of 63 hosts"},
		{"worst status alert", "status=Alert", []string{"ntp1"}, "Page 1 of 1 · 1 of 63 hosts"},
		{"worst status admin down: none", "status=admin-down", nil, "Page 1 of 1 · 0 of 63 hosts"},
		{"worst status unknown, last page of 10", "status=unknown&per_page=10&page=7", []string{"sw2"}, "Page 7 of 7 · 61 of 63 hosts"},
		{"status and text", "status=unknown&q=lab-5&per_page=25", labs(50, 60), "Page 1 of 1 · 10 of 63 hosts"},
		{"sort by worst status", "sort=status&per_page=3", []string{"r1", "ntp1", "lab-00"}, "Page 1 of 21 · 63 of 63 hosts"},
		{"sort by worst status descending", "sort=status&order=desc&per_page=2", []string{"sw2", "lab-59"}, "Page 1 of 32 · 63 of 63 hosts"},
		{"sort by address descending", "sort=address&order=desc&per_page=2", []string{"lab-59", "lab-58"}, "Page 1 of 32 · 63 of 63 hosts"},
		{"sort by address", "sort=address&per_page=3", []string{"r1", "ntp1", "sw2"}, "Page 1 of 21 · 63 of 63 hosts"},
		{"sort by updated descending", "sort=updated&order=desc&per_page=3", []string{"sw2", "ntp1", "r1"}, "Page 1 of 21 · 63 of 63 hosts"},
		{"page past the end", "page=9", nil, "Page 9 of 2 · 63 of 63 hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, c, e.ts.URL+"/?"+tt.query)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
			page := string(body)
			var got []string
			for _, m := range hostRowRE.FindAllStringSubmatch(page, -1) {
				got = append(got, m[1])
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.hosts) {
				t.Errorf("hosts %q, want %q", got, tt.hosts)
			}
			if !strings.Contains(page, `<span id="hosts-pg-info">`+tt.info+`</span>`) {
				t.Errorf("pager does not say %q", tt.info)
			}
			// The pies and the per-kind table count every host, whatever the page shows.
			if !strings.Contains(page, `#host-list">Hosts</a></td><td class="num">63</td>`) {
				t.Error("the hosts pie does not count all 63 hosts")
			}
			if !strings.Contains(page, `<tr class="sum"><td>Total</td><td class="num">37</td>`) {
				t.Error("the attributes pie does not count all 37 attributes")
			}
		})
	}

	// The links: the pie legend filters, headers sort, the pager pages.
	_, body := get(t, c, e.ts.URL+"/?q=lab-&per_page=25")
	page := string(body)
	for _, want := range []string{
		`href="/?per_page=25&amp;status=down#host-list"`,                                                                // the legend keeps the page size, drops the text filter
		`<th class="sortable sorted-asc"><a href="/?order=desc&amp;per_page=25&amp;q=lab-#host-list" data-sort="name">`, // name sorted: the header reverses
		`<a href="/?per_page=25&amp;q=lab-&amp;sort=status#host-list" data-sort="status">`,
		`id="hosts-pg-next" href="/?page=2&amp;per_page=25&amp;q=lab-#host-list"`,
		`id="hosts-pg-last" href="/?page=3&amp;per_page=25&amp;q=lab-#host-list"`,
		`<input type="search" name="q" id="host-filter" value="lab-"`,
		`<option selected>25</option>`,
		`<script src="/static/hosts.js"></script>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	if strings.Contains(page, `id="hosts-pg-prev"`) {
		t.Error("page 1 links to a previous page")
	}
	// Following the last-page link.
	_, body = get(t, c, e.ts.URL+"/?page=3&per_page=25&q=lab-")
	if n := len(hostRowRE.FindAllString(string(body), -1)); n != 10 || !strings.Contains(string(body), `id="hosts-pg-prev" href="/?page=2&amp;per_page=25&amp;q=lab-#host-list"`) {
		t.Errorf("last page: %d rows", n)
	}

	// Bad parameters: 400 and a message saying which, not a 500.
	for _, bad := range []struct{ query, msg string }{
		{"page=0", "page must be a positive integer"},
		{"page=two", "page must be a positive integer"},
		{"per_page=-5", "per_page must be a positive integer"},
		{"rows=x", "per_page must be a positive integer"},
		{"sort=password_hash", "cannot sort hosts by &#34;password_hash&#34;"},
		{"sort=h.name%3BDROP", "cannot sort hosts by"},
		{"order=sideways", "order must be asc or desc"},
		{"status=sideways", "unknown status &#34;sideways&#34;"},
		{"q=" + strings.Repeat("x", 201), "q is too long"},
		{"q=a&filter=b", "q and filter are the same parameter"},
	} {
		res, body := get(t, c, e.ts.URL+"/?"+bad.query)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), bad.msg) {
			t.Errorf("%s: %d, want 400 saying %q", bad.query, res.StatusCode, bad.msg)
		}
	}
}

type hostPage struct {
	Page      int        `json:"page"`
	Rows      int        `json:"rows"`
	TotalRows int        `json:"total_rows"`
	AllHosts  int        `json:"all_hosts"`
	LastPage  int        `json:"last_page"`
	Items     []HostJSON `json:"items"`
}

// TestAPIHostsParameters: GET /api/v1/hosts takes the overview's
// parameters; without them it answers as it always did.
func TestAPIHostsParameters(t *testing.T) {
	e := newEnv(t)
	addLabHosts(t, e, 60)
	c := e.client()
	tok := []string{"Authorization", "Bearer " + e.viewerTok}

	res, body := get(t, c, e.ts.URL+"/api/v1/hosts", tok...)
	var plain map[string]json.RawMessage
	if res.StatusCode != 200 || json.Unmarshal(body, &plain) != nil || len(plain) != 1 || plain["items"] == nil {
		t.Fatalf("without parameters: %d %s", res.StatusCode, body)
	}
	var all struct{ Items []HostJSON }
	if json.Unmarshal(plain["items"], &all.Items); len(all.Items) != 63 {
		t.Errorf("without parameters: %d hosts, want all 63", len(all.Items))
	}

	tests := []struct {
		query           string
		total, last, pg int
		hosts           []string
	}{
		{"page=1", 63, 2, 1, nil}, // 50 items, checked below
		{"q=192.0.2.1", 2, 1, 1, []string{"ntp1", "r1"}},
		{"status=down", 1, 1, 1, []string{"r1"}},
		{"sort=status&order=asc&per_page=2", 63, 32, 1, []string{"r1", "ntp1"}},
		{"filter=lab-&rows=20&page=3&sort=name&order=desc", 60, 3, 3, []string{"lab-19", "lab-18"}},
		{"per_page=10&page=99", 63, 7, 99, []string{}},
		{"per_page=100000", 63, 1, 1, nil},
	}
	for _, tt := range tests {
		res, body := get(t, c, e.ts.URL+"/api/v1/hosts?"+tt.query, tok...)
		var p hostPage
		if res.StatusCode != 200 || json.Unmarshal(body, &p) != nil {
			t.Errorf("%s: %d %s", tt.query, res.StatusCode, body)
			continue
		}
		if p.TotalRows != tt.total || p.LastPage != tt.last || p.Page != tt.pg || p.AllHosts != 63 || p.Items == nil {
			t.Errorf("%s: page %d total %d last %d all %d, want %d %d %d 63", tt.query, p.Page, p.TotalRows, p.LastPage, p.AllHosts, tt.pg, tt.total, tt.last)
		}
		var names []string
		for _, h := range p.Items {
			names = append(names, h.Name)
		}
		if tt.hosts != nil && (len(names) < len(tt.hosts) || fmt.Sprint(names[:len(tt.hosts)]) != fmt.Sprint(tt.hosts)) {
			t.Errorf("%s: hosts %q, want %q first", tt.query, names, tt.hosts)
		}
		if tt.query == "page=1" && (len(p.Items) != 50 || p.Rows != 50) {
			t.Errorf("default page size: %d items, rows %d", len(p.Items), p.Rows)
		}
		if tt.query == "per_page=100000" && (p.Rows != inventory.MaxPageRows || len(p.Items) != 63) {
			t.Errorf("per_page capped: rows %d, %d items", p.Rows, len(p.Items))
		}
		for _, h := range p.Items {
			if h.Name == "r1" && (h.Counts["down"] != 5 || h.Status.Slug() != "down") {
				t.Errorf("%s: r1 %+v", tt.query, h)
			}
		}
	}
	for _, bad := range []string{"page=0", "per_page=x", "sort=password_hash", "order=up", "status=sideways", "q=a&filter=b"} {
		res, body := get(t, c, e.ts.URL+"/api/v1/hosts?"+bad, tok...)
		var msg map[string]string
		if res.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &msg) != nil || msg["error"] == "" {
			t.Errorf("%s: %d %s, want a 400 with an error", bad, res.StatusCode, body)
		}
	}
}

// BenchmarkOverviewPage renders the overview of a 5,000-host inventory
// (20 attributes each): the first page of hosts by name, and by worst
// status.
func BenchmarkOverviewPage(b *testing.B) {
	db, err := inventory.Open(context.Background(), filepath.Join(b.TempDir(), "inventory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Writer().Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 5000; i++ {
		r, err := tx.Exec(`INSERT INTO hosts(name, address, sys_descr, location, created_at, updated_at) VALUES (?, ?, 'Juniper MX204', ?, 1, 1)`,
			fmt.Sprintf("host-%05d", i), fmt.Sprintf("10.%d.%d.1", i/256, i%256), fmt.Sprintf("site %d", i%40))
		if err != nil {
			b.Fatal(err)
		}
		id, _ := r.LastInsertId()
		for j := 0; j < 20; j++ {
			st := []int{1, 1, 1, 1, 1, 1, 2, 3, 5, 1}[(i+j)%10]
			if _, err := tx.Exec(`INSERT INTO attributes(host_id, key, kind, status, created_at, updated_at) VALUES (?, ?, 'interface', ?, 1, 1)`, id, fmt.Sprint("if:", j), st); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"/", "/?sort=status"} {
		b.Run(q, func(b *testing.B) {
			var n int
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.indexPage(rec, httptest.NewRequest("GET", q, nil))
				if rec.Code != 200 {
					b.Fatalf("%d", rec.Code)
				}
				n = rec.Body.Len()
			}
			b.ReportMetric(float64(n), "bytes/page")
		})
	}
}

// lockedBuffer collects a server's log lines across request goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAccountSecretsStayOutOfLogsAndURLs runs every account action against
// a server logging at debug level: no password, API token, session cookie
// or CSRF token appears in the log or in a redirect, and every form of the
// account pages posts.
func TestAccountSecretsStayOutOfLogsAndURLs(t *testing.T) {
	e := newEnv(t)
	logs := &lockedBuffer{}
	srv, err := New(Options{DB: e.db, DataDir: e.dir, Clock: func() time.Time { return time.Unix(e.clock.Load(), 0) },
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(srv)
	t.Cleanup(e.ts.Close)
	ctx := context.Background()
	if err := e.db.CreateUser(ctx, "bob", "bob-password-1", inventory.RoleViewer, e.now); err != nil {
		t.Fatal(err)
	}
	admin := e.client()
	csrf := e.login(admin, "admin", adminPass)
	secrets := []string{adminPass, "bob-password-1", "bob-password-2", "admin-password-2", "wrong-password-9", e.adminTok, e.viewerTok, csrf}
	var locations []string
	post := func(path string, form url.Values) string {
		t.Helper()
		form.Set("csrf", csrf)
		res, err := admin.PostForm(e.ts.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("POST %s: %d %s", path, res.StatusCode, body)
		}
		locations = append(locations, res.Header.Get("Location"))
		if m := csrfRE.FindSubmatch(body); m != nil {
			csrf = string(m[1]) // a password change starts a new session
			secrets = append(secrets, csrf)
		}
		return string(body)
	}
	post("/admin/users/bob/password", url.Values{"password": {"bob-password-2"}})
	post("/account/password", url.Values{"current": {"wrong-password-9"}, "password": {"admin-password-2"}, "password2": {"admin-password-2"}})
	post("/account/password", url.Values{"current": {adminPass}, "password": {"admin-password-2"}, "password2": {"admin-password-2"}})
	page := post("/account/tokens", url.Values{"label": {"ci"}})
	m := regexp.MustCompile(`<code>(` + inventory.APITokenPrefix + `[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no new token on the page")
	}
	secrets = append(secrets, m[1])
	post("/account/tokens/revoke", url.Values{"id": {e.adminTok}}) // the token pasted by mistake: a 400
	h := sha256.Sum256([]byte(m[1]))
	post("/account/tokens/revoke", url.Values{"id": {hex.EncodeToString(h[:])[:inventory.APITokenIDLen]}})
	post("/admin/users/bob/disable", url.Values{})
	post("/admin/users/bob/delete", url.Values{"confirm": {"yes"}})
	u, _ := url.Parse(e.ts.URL)
	for _, ck := range admin.Jar.Cookies(u) {
		secrets = append(secrets, ck.Value)
	}
	for _, p := range []string{"/account", "/admin/users"} {
		_, body := get(t, admin, e.ts.URL+p)
		forms := regexp.MustCompile(`<form [^>]*>`).FindAllString(string(body), -1)
		if len(forms) < 3 {
			t.Errorf("%s: %d forms", p, len(forms))
		}
		for _, f := range forms {
			if !strings.Contains(f, `method="post"`) {
				t.Errorf("%s: a form that does not post: %s", p, f)
			}
		}
	}
	log := logs.String()
	for _, want := range []string{"password set", "password changed", "wrong current password", "api token created", "api token revoked", "user disabled", "user deleted"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(log, s) {
			t.Errorf("the log contains a secret (%d bytes)", len(s))
		}
		for _, l := range locations {
			if strings.Contains(l, s) {
				t.Errorf("a redirect carries a secret: %s", l)
			}
		}
	}
}

// TestAdminActsOnThemself: the last enabled admin is told why they cannot
// disable or delete themself (inventory.ErrLastAdmin) and stays enabled;
// with a second admin, disabling themself succeeds and logs them out.
func TestAdminActsOnThemself(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	csrf := e.login(c, "admin", adminPass)
	for _, action := range []string{"disable", "delete"} {
		res, err := c.PostForm(e.ts.URL+"/admin/users/admin/"+action, url.Values{"csrf": {csrf}, "confirm": {"yes"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(body), inventory.ErrLastAdmin.Error()) {
			t.Errorf("%s the last admin: %d, message shown %v", action, res.StatusCode, strings.Contains(string(body), inventory.ErrLastAdmin.Error()))
		}
	}
	if _, err := e.db.Authenticate(context.Background(), "admin", adminPass); err != nil {
		t.Fatalf("the last admin after the refusals: %v", err)
	}
	if err := e.db.CreateUser(context.Background(), "admin2", "admin2-password", inventory.RoleAdmin, e.now); err != nil {
		t.Fatal(err)
	}
	res, err := c.PostForm(e.ts.URL+"/admin/users/admin/disable", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("an admin disables themself beside another admin: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := get(t, c, e.ts.URL+"/admin/users"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the disabled admin's browser still gets in: %d", res.StatusCode)
	}
}

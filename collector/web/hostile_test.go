package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chromedp/chromedp"
)

// Hostile device strings, stored straight into the inventory (the agent
// cleans what it sends, but the web escapes on every output as well):
// what the agent makes of invalid bytes and control characters (\xff,
// \x1b), the raw bytes themselves, markup, a path, formula starts, and
// 64 KB of text.
const (
	hostileHost = "evil<script>window.__pwned=1</script>/../..\\x1b[31m\x1b[2J\\xff=cmd|calc"
	hostileName = "=HYPERLINK(\"http://evil\")<img src=x onerror=\"window.__pwned=2\">\x00\xff\xc3\x28\ufffe../etc/passwd"
	hostileText = "+SUM(A1)\"'<svg onload=window.__pwned=3>\x1b]0;title\x07\r\n\u202e"
)

var hostileLong = strings.Repeat("<b>x</b>\\xff\x1b", 64<<10/13)

// hostileEnv is newEnv plus a host and an interface full of hostile
// strings, with an archive, a status change and a system event.
func hostileEnv(t *testing.T) (e *env, attr int64) {
	t.Helper()
	e = newEnv(t)
	ms := e.now.UnixMilli()
	host := exec1(t, e.db, `INSERT INTO hosts(name, agent, address, sys_name, sys_descr, location, contact, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		hostileHost, hostileText, hostileText, hostileName, hostileLong, hostileText, hostileName, ms, ms)
	// The interface shares r1's archive: what matters is the strings.
	attr = exec1(t, e.db, `INSERT INTO attributes(host_id, key, kind, name, descr, props, interval_s, ds, archive, status, status_reason, status_since, created_at, updated_at)
		VALUES (?, ?, 'interface', ?, ?, ?, 60, '[{"name":"in_octets","kind":"counter64"},{"name":"out_octets","kind":"counter64"}]', 'rrd/r1/if_ge-0_0_1.rrd', 3, ?, ?, ?, ?)`,
		host, "if:"+hostileName, hostileName, hostileLong, jsonText(t, map[string]string{"ifAlias": hostileText, "ifDescr": hostileLong, hostileName: hostileText}), hostileText, ms, ms, ms)
	exec1(t, e.db, `INSERT INTO attributes(host_id, key, kind, name, props, status, created_at, updated_at) VALUES (?, ?, 'ntp-peer', ?, ?, 1, ?, ?)`,
		host, "ntp-peer:"+hostileText, hostileName, jsonText(t, map[string]string{"tally": "*", "refid": hostileText, "srcadr": hostileName, "delay": hostileText}), ms, ms)
	exec1(t, e.db, `INSERT INTO status_events(attr_id, at, old_status, new_status, reason) VALUES (?, ?, 1, 3, ?)`, attr, ms, hostileText)
	exec1(t, e.db, `INSERT INTO events(at, kind, agent, host, message) VALUES (?, 'dropped', ?, ?, ?)`, ms, hostileText, hostileHost, hostileLong)
	return e, attr
}

// jsonText is v as the inventory stores props: JSON (which makes invalid
// UTF-8 U+FFFD and escapes control characters).
func jsonText(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every page, API answer and export renders the hostile strings escaped
// for its format: no markup from a device in HTML, valid JSON, SVG that
// parses as XML, a PNG, CSV without formula cells, and export file names
// of safe characters only.
func TestHostileStringsEverywhere(t *testing.T) {
	e, attr := hostileEnv(t)
	c := e.client()
	e.login(c, "admin", adminPass)
	hostPath := url.PathEscape(hostileHost)
	markup := regexp.MustCompile(`(?i)<script>window|<img src=x|<svg onload|onerror="window|<b>x</b>`)
	for _, p := range []string{"/", "/?q=" + url.QueryEscape(hostileText), "/hosts/" + hostPath, fmt.Sprintf("/attributes/%d", attr), "/events", "/events?host=" + url.QueryEscape(hostileHost)} {
		res, body := get(t, c, e.ts.URL+p)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %.60s: %d", p, res.StatusCode)
			continue
		}
		if m := markup.Find(body); m != nil {
			t.Errorf("GET %.60s: device markup in the page: %q", p, m)
		}
	}
	tok := []string{"Authorization", "Bearer " + e.viewerTok}
	api := fmt.Sprintf("/api/v1/attributes/%d", attr)
	for _, p := range []string{"/api/v1/hosts", "/api/v1/hosts?q=evil", "/api/v1/hosts/" + hostPath, "/api/v1/hosts/" + hostPath + "/attributes",
		api, api + "/series", api + "/export.json", "/api/v1/status", "/api/v1/events", "/api/v1/system-events"} {
		res, body := get(t, c, e.ts.URL+p, tok...)
		var v any
		if res.StatusCode != http.StatusOK || !utf8.Valid(body) || json.Unmarshal(body, &v) != nil {
			t.Errorf("GET %.60s: %d, valid UTF-8 %v, JSON %v", p, res.StatusCode, utf8.Valid(body), json.Unmarshal(body, &v))
		}
		if bytes.Contains(body, []byte("\x1b")) || bytes.Contains(body, []byte("\x00")) {
			t.Errorf("GET %.60s: a raw control character in JSON", p)
		}
	}
	// The host's own JSON keeps the text (escaped by JSON), so a client
	// sees what the device sent.
	_, body := get(t, c, e.ts.URL+"/api/v1/hosts/"+hostPath, tok...)
	var h HostJSON
	json.Unmarshal(body, &h)
	if h.Name != hostileHost || h.Location != hostileText {
		t.Errorf("host JSON: name %q location %q", h.Name, h.Location)
	}

	res, body := get(t, c, e.ts.URL+api+"/graph.svg", tok...)
	if res.StatusCode != http.StatusOK || !utf8.Valid(body) {
		t.Fatalf("svg: %d", res.StatusCode)
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("the SVG is not XML: %v", err)
			}
			break
		}
	}
	if !bytes.Contains(body, []byte(`\x1b[2J`)) || !bytes.Contains(body, []byte(`\x00`)) || !bytes.Contains(body, []byte(`&lt;script&gt;`)) {
		t.Errorf("the SVG title does not show the control characters and markup visibly: %s", regexp.MustCompile(`font-weight="bold">[^<]*<`).Find(body))
	}
	res, body = get(t, c, e.ts.URL+api+"/graph.png", tok...)
	if _, err := png.Decode(bytes.NewReader(body)); res.StatusCode != http.StatusOK || err != nil {
		t.Errorf("png: %d %v", res.StatusCode, err)
	}
	res, body = get(t, c, e.ts.URL+api+"/export.csv", tok...)
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if res.StatusCode != http.StatusOK || err != nil || len(recs) < 2 {
		t.Fatalf("csv: %d %v", res.StatusCode, err)
	}
	for _, rec := range recs {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+@", rune(cell[0])) || strings.HasPrefix(cell, "-") && !regexp.MustCompile(`^-[0-9.e+-]+$`).MatchString(cell) {
				t.Errorf("csv cell %q starts a formula", cell)
			}
		}
	}
	for _, ep := range []string{"/export.csv", "/export.json"} {
		res, _ := get(t, c, e.ts.URL+api+ep, tok...)
		cd := res.Header.Get("Content-Disposition")
		m := regexp.MustCompile(`^(attachment|inline); filename="([A-Za-z0-9._-]+)"$`).FindStringSubmatch(cd)
		if m == nil || strings.HasPrefix(m[2], ".") || len(m[2]) > maxExportName+5 {
			t.Errorf("%s: Content-Disposition %q", ep, cd)
		}
	}
}

// In a real browser, none of the hostile strings runs as script on the
// overview, the host page or the attribute page.
func TestBrowserHostileStrings(t *testing.T) {
	forEachBrowser(t, func(t *testing.T, b *tab) {
		e, attr := hostileEnv(t)
		b.step("login page", chromedp.Navigate(e.ts.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		b.login("viewer", viewerPass, "#hosts")
		for _, p := range []string{"/", "/hosts/" + url.PathEscape(hostileHost), "/events", fmt.Sprintf("/attributes/%d", attr)} {
			b.step("open "+p, chromedp.Navigate(e.ts.URL+p), chromedp.WaitReady(chromedp.CSS("main")))
			b.waitFor("the page's scripts", `document.readyState === "complete"`)
			if got := b.eval(`String(window.__pwned)`); got != "undefined" {
				t.Errorf("%s: a device string ran as script (window.__pwned = %s)", p, got)
			}
		}
		if got := b.eval(`document.querySelector('h1').textContent`); !strings.Contains(got, "=HYPERLINK") {
			t.Errorf("the attribute page's heading %q does not show the name as text", got)
		}
	})
}

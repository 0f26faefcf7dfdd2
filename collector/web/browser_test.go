package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// browserBins are the Chromium builds the browser tests run in, each as a
// subtest named after it: full Chromium (what users have; unlike the
// headless shell it asks for /favicon.ico) and chromium-headless-shell.
// Both are required with CI=true.
var browserBins = []string{"chromium", "chromium-headless-shell"}

// stepTimeout bounds one browser step, so a failure names the step that
// hung instead of the whole test running out of time.
const stepTimeout = 20 * time.Second

// forEachBrowser runs f as a subtest in a fresh tab of each browser of
// browserBins.
func forEachBrowser(t *testing.T, f func(t *testing.T, b *tab)) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	for _, name := range browserBins {
		t.Run(name, func(t *testing.T) { f(t, openTab(t, name)) })
	}
}

// tab is one browser tab driven by a test. Every method runs under its own
// stepTimeout and fails the test with the step's name.
type tab struct {
	t   *testing.T
	bin string
	ctx context.Context
}

// openTab starts the browser name (headless, no sandbox: tests run as
// root) for one test; everything it starts is stopped in t.Cleanup.
func openTab(t *testing.T, name string) *tab {
	t.Helper()
	bin := testbed.RequireTool(t, name)
	// A ceiling for the whole browser, far above any one step.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true), chromedp.Flag("mute-audio", true))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA(); cancel() })
	// The first Do starts the browser and binds it to the context it is
	// given: bctx, not a step's context that ends with the step.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	b := &tab{t: t, bin: bin, ctx: bctx}
	b.step("set the viewport", chromedp.EmulateViewport(1280, 900))
	return b
}

// step runs browser actions as the step named what.
func (b *tab) step(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: step %q: %v", b.bin, what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) to a string.
func (b *tab) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.bin, expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds (15 s at most).
func (b *tab) waitFor(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		// What the page says, to tell a slow page from a broken one.
		dctx, dcancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer dcancel()
		diag, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`location.href + " | " + ((document.getElementById('chart-info') || {}).textContent || "")`))
		b.t.Fatalf("%s: waiting for %s (%s): %v; page: %s", b.bin, what, expr, err, diag)
	}
}

// location is the tab's current URL.
func (b *tab) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("%s: location: %v", b.bin, err)
	}
	return loc
}

// shot saves a screenshot of the page as ui-<name>.png in dir.
func (b *tab) shot(dir, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("%s: screenshot %s: %v", b.bin, name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ui-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// login fills in and submits the login form on the current page and waits
// for the element sel of the page it leads to.
func (b *tab) login(user, pass, sel string) {
	b.t.Helper()
	b.step("log in as "+user, chromedp.SendKeys(chromedp.CSS("#user"), user), chromedp.SendKeys(chromedp.CSS("#password"), pass),
		chromedp.Click(chromedp.CSS("#login-submit")))
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel+", .login p.error"))); err != nil {
		b.t.Fatalf("%s: log in as %s: %v", b.bin, user, err)
	}
	if msg := b.eval(`(document.querySelector('.login p.error')) ? document.querySelector('.login p.error').textContent : ""`); msg != "" {
		b.t.Fatalf("%s: log in as %s refused: %q (at %s)", b.bin, user, msg, b.location())
	}
}

func artifactDir(t *testing.T) string {
	dir := os.Getenv("OUTPOST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBrowserEndToEnd(t *testing.T) { forEachBrowser(t, browserEndToEnd) }

func browserEndToEnd(t *testing.T, b *tab) {
	ctx := b.ctx
	e := newEnv(t)
	addAgents(t, e)
	arts := filepath.Join(artifactDir(t), filepath.Base(b.bin))
	if err := os.MkdirAll(arts, 0o755); err != nil {
		t.Fatal(err)
	}
	step, eval, waitFor := b.step, b.eval, b.waitFor
	shot := func(name string) { t.Helper(); b.shot(arts, name) }

	// Without a login: only the login page, and the API answers 401.
	step("open a host page without login", chromedp.Navigate(e.ts.URL+"/hosts/r1"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	loc := b.location()
	if !strings.HasPrefix(loc, e.ts.URL+"/login?next=") {
		t.Errorf("not redirected to login: %s", loc)
	}
	if body := eval(`document.body.innerText`); strings.Contains(body, "192.0.2") || strings.Contains(body, "ge-0/0") {
		t.Errorf("login page shows inventory data: %q", body)
	}
	if got := eval(`fetch('/api/v1/hosts').then(r => String(r.status))`); got != "401" {
		t.Errorf("API without login: %s", got)
	}
	shot("01-login")

	// Log in; the form returns to the host page asked for.
	b.login("admin", adminPass, "#attr-grid")
	waitFor("the grid's first page", `document.querySelectorAll('#attr-grid tbody tr[data-key]').length === 25`)
	if got := eval(`document.getElementById('pg-info').textContent`); got != "Page 1 of 2 · 33 rows" {
		t.Errorf("pager: %q", got)
	}
	shot("02-host")

	// Page forward and back.
	step("next page", chromedp.Click(chromedp.CSS("#pg-next")))
	waitFor("page 2", `document.getElementById('attr-grid').dataset.page === "2" && document.querySelectorAll('#attr-grid tbody tr[data-key]').length === 8`)
	step("first page", chromedp.Click(chromedp.CSS("#pg-first")))
	waitFor("page 1", `document.getElementById('attr-grid').dataset.page === "1"`)

	// Sort by name, then descending: the server orders the rows.
	step("sort by name", chromedp.Click(chromedp.CSS(`th[data-sort="name"]`)))
	waitFor("sorted by name", `document.querySelector('th[data-sort="name"]').classList.contains('sorted-asc')`)
	if got := eval(`document.querySelector('#attr-grid tbody tr').dataset.key`); got != "if:ge-0/0/0" {
		t.Errorf("first by name asc: %s", got)
	}
	step("sort by name descending", chromedp.Click(chromedp.CSS(`th[data-sort="name"]`)))
	waitFor("sorted desc", `document.querySelector('#attr-grid tbody tr').dataset.key === "host"`)
	step("sort by status", chromedp.Click(chromedp.CSS(`th[data-sort="status"]`)))
	waitFor("sorted by severity", `document.querySelector('#attr-grid tbody tr .badge').textContent === "Down"`)

	// Filter by status through the select.
	step("filter down", chromedp.SetValue(chromedp.CSS("#attr-status"), "down"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('attr-status').dispatchEvent(new Event('change'))`))
	waitFor("only down rows", `(() => { const b = [...document.querySelectorAll('#attr-grid tbody .badge')]; return b.length === 5 && b.every(x => x.textContent === "Down"); })()`)
	shot("03-host-filtered")

	// The attribute page: the chart loads, then switches from steps to lines.
	step("open the interface graph", chromedp.Navigate(fmt.Sprintf("%s/attributes/%d", e.ts.URL, e.ifAttr)))
	waitFor("the chart", `window.outpostChart && window.outpostChart.loads >= 1 && document.querySelector('#chart canvas') !== null`)
	stepX := eval(`String(outpostChart.last.step)`)
	x0Steps := eval(`String(outpostChart.u.data[0][0])`)
	if got := eval(`String(outpostChart.last.x[0])`); got != x0Steps {
		t.Errorf("steps: first x %s, want the row stamp %s", x0Steps, got)
	}
	if got := eval(`String(outpostChart.u.data[1].some(v => v === null))`); got != "true" {
		t.Errorf("the 30-minute gap is not null in the chart data")
	}
	if got := eval(`String(outpostChart.u.data[1].filter(v => v === 0).length)`); got != "0" {
		t.Errorf("%s zeros in the AVERAGE series: unknown drawn as zero?", got)
	}
	shot("04-attribute-steps")
	step("switch to lines", chromedp.Click(chromedp.CSS("#style-lines")))
	waitFor("lines style", `document.getElementById('chart').dataset.style === "lines"`)
	x0Lines := eval(`String(outpostChart.u.data[0][0])`)
	var sx, xs, xl float64
	fmt.Sscan(stepX, &sx)
	fmt.Sscan(x0Steps, &xs)
	fmt.Sscan(x0Lines, &xl)
	if xs-xl != sx/2 {
		t.Errorf("lines: first x %v, want the interval midpoint %v", xl, xs-sx/2)
	}
	if !strings.Contains(eval(`document.getElementById('chart-info').textContent`), "midpoints") {
		t.Error("chart info does not say lines through midpoints")
	}
	shot("05-attribute-lines")
	step("switch back to steps", chromedp.Click(chromedp.CSS("#style-steps")))
	waitFor("steps style", `document.getElementById('chart').dataset.style === "steps"`)

	// Drag across the middle of the plot: the range narrows to the selection
	// and the data reloads at a finer step.
	bctx, cancel := context.WithTimeout(ctx, stepTimeout)
	box, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`(() => { const r = outpostChart.u.over.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	cancel()
	if err != nil || len(box) != 4 {
		t.Fatalf("plot box: %v %v", box, err)
	}
	loads := eval(`String(outpostChart.loads)`)
	y := box[1] + box[3]/2
	step("drag to zoom",
		chromedp.MouseEvent("mouseMoved", box[0]+box[2]*0.4, y),
		chromedp.MouseEvent("mousePressed", box[0]+box[2]*0.4, y, chromedp.ButtonLeft),
		chromedp.MouseEvent("mouseMoved", box[0]+box[2]*0.5, y, chromedp.ButtonLeft),
		chromedp.MouseEvent("mouseMoved", box[0]+box[2]*0.6, y, chromedp.ButtonLeft),
		chromedp.MouseEvent("mouseReleased", box[0]+box[2]*0.6, y, chromedp.ButtonLeft))
	waitFor("zoomed data", `String(outpostChart.loads) !== "`+loads+`" && outpostChart.start !== null && outpostChart.last.end - outpostChart.last.start < 86400 / 3`)
	if got := eval(`String(outpostChart.last.step)`); got != "60" {
		t.Errorf("zoomed to a fifth of a day, step %s s, want the 60 s archive", got)
	}
	shot("05b-attribute-zoomed")

	// Live tail: a new archive row reaches the page over server-sent events.
	e.clock.Store(e.now.Unix() + 60)
	appendIf(t, e.dir+"/rrd/r1/if_ge-0_0_1.rrd", e.now.Unix()+60, e.lastIn+6_000_000, e.lastOut+600_000)
	waitFor("the live row", fmt.Sprintf(`outpostChart.lastLive && outpostChart.lastLive.stamp === %d && outpostChart.lastLive.values.in_octets === 800000`, e.now.Unix()+60))

	// A range preset reloads at a coarser step.
	step("one week", chromedp.Click(chromedp.CSS(`button[data-range="1w"]`)))
	waitFor("week data", `outpostChart.last && outpostChart.last.end - outpostChart.last.start === 604800`)
	if got := eval(`document.getElementById('exp-png').getAttribute('href')`); !strings.Contains(got, "graph.png?start=") {
		t.Errorf("export link %q", got)
	}

	// The overview and the NTP host page, for the record.
	step("overview", chromedp.Navigate(e.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#hosts")))
	shot("06-overview")

	// The overview's host list with 63 hosts: filter with the form, follow
	// the pager, change the page size (hosts.js submits the form), sort by
	// a header link. The server does the work; the pies count every host.
	addLabHosts(t, e, 60)
	step("filter the hosts", chromedp.Navigate(e.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#host-filter")),
		chromedp.SendKeys(chromedp.CSS("#host-filter"), "lab-"), chromedp.Click(chromedp.CSS("#host-apply")), chromedp.WaitVisible(chromedp.CSS("#host-clear")))
	waitFor("the filtered first page", `location.search === "?q=lab-&status=&per_page=50" && document.querySelectorAll('#hosts tbody tr[data-host]').length === 50`)
	if got := eval(`document.getElementById('hosts-pg-info').textContent`); got != "Page 1 of 2 · 60 of 63 hosts" {
		t.Errorf("host pager: %q", got)
	}
	step("next page of hosts", chromedp.Click(chromedp.CSS("#hosts-pg-next")), chromedp.WaitVisible(chromedp.CSS("#hosts-pg-prev")))
	waitFor("hosts page 2", `document.getElementById('hosts').dataset.page === "2" && document.querySelectorAll('#hosts tbody tr[data-host]').length === 10`)
	if got := eval(`document.querySelector('#hosts tbody tr[data-host]').dataset.host + " " + document.getElementById('hosts-pg-info').textContent`); got != "lab-50 Page 2 of 2 · 60 of 63 hosts" {
		t.Errorf("hosts page 2: %q", got)
	}
	if got := eval(`document.querySelector('#totals').closest('.cards').querySelectorAll('.legend')[1].querySelector('.sum .num').textContent`); got != "63" {
		t.Errorf("the hosts pie counts %s hosts, want all 63", got)
	}
	step("ten hosts a page", chromedp.SetValue(chromedp.CSS("#host-rows"), "10"), // fires change
		chromedp.WaitVisible(chromedp.CSS(`#hosts-pg-last[href*="per_page=10&"]`)))
	waitFor("pages of ten", `document.getElementById('hosts-pg-info').textContent === "Page 1 of 6 · 60 of 63 hosts" && document.querySelectorAll('#hosts tbody tr[data-host]').length === 10`)
	step("sort by name descending", chromedp.Click(chromedp.CSS(`#hosts th a[data-sort="name"]`)), chromedp.WaitVisible(chromedp.CSS(`#hosts th.sorted-desc`)))
	waitFor("sorted by name, descending", `document.querySelector('#hosts th a[data-sort="name"]').parentElement.classList.contains('sorted-desc') && document.querySelector('#hosts tbody tr[data-host]').dataset.host === "lab-59"`)
	shot("06b-overview-hosts")
	step("ntp host", chromedp.Navigate(e.ts.URL+"/hosts/ntp1"), chromedp.WaitVisible(chromedp.CSS("#ntp-peers")))
	if got := eval(`document.querySelector('#ntp-peers tr.sys-peer td:nth-child(2)').textContent`); !strings.Contains(got, "192.0.2.10") {
		t.Errorf("system peer row: %q", got)
	}
	shot("07-ntp")
	step("ntp peer graph", chromedp.Click(chromedp.CSS("#ntp-peers tr.sys-peer td:nth-child(2) a")), chromedp.WaitVisible(chromedp.CSS("#ds-select")))
	waitFor("the peer chart", `window.outpostChart && window.outpostChart.loads >= 1 && outpostChart.last.unit === "s" && outpostChart.last.series.length === 3`)
	shot("07b-ntp-peer")
	step("pick one data source", chromedp.SetValue(chromedp.CSS("#ds-select"), "reach"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('ds-select').dispatchEvent(new Event('change'))`))
	waitFor("reach only", `outpostChart.last.series.length === 1 && outpostChart.last.series[0].name === "reach" && outpostChart.last.unit === ""`)
	step("events", chromedp.Navigate(e.ts.URL+"/events"), chromedp.WaitVisible(chromedp.CSS("table.changes")))
	shot("08-events")
	// The Agents page, reached from the nav: the agent with a wrong clock
	// and refusals stands out; a reason quoting markup stays text.
	step("agents", chromedp.Click(chromedp.CSS(`nav a[href="/agents"]`)), chromedp.WaitVisible(chromedp.CSS("#agents")))
	if got := eval(`document.querySelector('#agent-edge-b').className + "|" + document.querySelector('#agent-edge-b td.clock').textContent.trim() + "|" + ` +
		`document.querySelectorAll('#agent-edge-b td.refusals div').length + "|" + String(window.pwned) + "|" + ` +
		`document.querySelector('#agent-edge-b td.refusals div:nth-child(2) .reason').textContent`); got !=
		`attention|100 years ahead|3|undefined|batch 9: series 4: empty host <script>window.pwned=1</script> \xff` {
		t.Errorf("agents page: %q", got)
	}
	shot("08b-agents")

	// The account page: issue a token (shown once), use it, revoke it with
	// its row's button; the API then refuses it.
	step("account", chromedp.Navigate(e.ts.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#token-form")),
		chromedp.SendKeys(chromedp.CSS(`#token-form input[name="label"]`), "browser"), chromedp.Click(chromedp.CSS(`#token-form button`)),
		chromedp.WaitVisible(chromedp.CSS("#new-token")))
	tok := eval(`document.querySelector('#new-token code').textContent`)
	sum := sha256.Sum256([]byte(tok))
	tokID := hex.EncodeToString(sum[:])[:inventory.APITokenIDLen]
	bearerStatus := `fetch('/api/v1/status', {headers: {Authorization: 'Bearer ` + tok + `'}}).then(r => String(r.status))`
	if got := eval(bearerStatus); got != "200" {
		t.Errorf("the new token: API answers %s", got)
	}
	shot("09-account-token")
	step("revoke the token", chromedp.Click(chromedp.CSS(`#tokens tr[data-token="`+tokID+`"] button.token-revoke`)), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := eval(`document.querySelectorAll('#tokens tr[data-token="` + tokID + `"]').length + " " + String(document.getElementById('new-token'))`); got != "0 null" {
		t.Errorf("after revoking: rows and token box %q", got)
	}
	if got := eval(bearerStatus); got != "401" {
		t.Errorf("the revoked token: API answers %s", got)
	}

	// The users page: disable the viewer, then delete it (the confirm box
	// must be ticked: the browser does not submit without it).
	step("users", chromedp.Navigate(e.ts.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("#users")),
		chromedp.Click(chromedp.CSS(`#users tr[data-user="viewer"] button.user-disable`)), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := eval(`document.querySelector('#users tr[data-user="viewer"] td:nth-child(4)').textContent + " / " + document.getElementById('notice').textContent`); got != "disabled / User viewer disabled." {
		t.Errorf("after disabling: %q", got)
	}
	if _, err := e.db.Authenticate(context.Background(), "viewer", viewerPass); err == nil {
		t.Error("the disabled viewer can log in")
	}
	shot("10-users-disabled")
	step("delete without confirming", chromedp.Click(chromedp.CSS(`#users tr[data-user="viewer"] button.user-delete`)))
	if got := eval(`String(document.querySelector('#users tr[data-user="viewer"] input[name="confirm"]').validity.valueMissing) + " " + String(document.getElementById('notice') !== null)`); got != "true true" {
		t.Errorf("unconfirmed delete: %q (want the box invalid and the page unchanged)", got)
	}
	step("delete", chromedp.Navigate(e.ts.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS(`#users tr[data-user="viewer"]`)),
		chromedp.Click(chromedp.CSS(`#users tr[data-user="viewer"] input[name="confirm"]`)),
		chromedp.Click(chromedp.CSS(`#users tr[data-user="viewer"] button.user-delete`)), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := eval(`document.getElementById('notice').textContent + " " + document.querySelectorAll('#users tr[data-user="viewer"]').length`); got != "User viewer deleted. 0" {
		t.Errorf("after deleting: %q", got)
	}

	// Log out: back to nothing but the login page.
	step("log out", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	step("host page after logout", chromedp.Navigate(e.ts.URL+"/hosts/r1"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	t.Logf("screenshots in %s", arts)
}

// A browser that asks for /favicon.ico while the login form is on screen
// (full Chromium does, the headless shell does not, so the test asks for
// it there) can still log in: the anonymous favicon request is answered
// with the icon, not the login page, and does not replace the login form's
// CSRF cookie. Before the fix, Chromium's favicon request was redirected to
// /login, which issued a new CSRF cookie, and every login was refused with
// "The login form expired".
func TestBrowserLoginAfterFavicon(t *testing.T) {
	forEachBrowser(t, func(t *testing.T, b *tab) {
		e := newEnv(t)
		b.step("open a host page without login", chromedp.Navigate(e.ts.URL+"/hosts/r1"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		if filepath.Base(b.bin) == "chromium" {
			// Full Chromium asks for the icon by itself, after the page loads.
			b.waitFor("Chromium's favicon request", `new Promise(r => setTimeout(() => r(true), 50))`)
			deadline := time.Now().Add(stepTimeout)
			for e.seen.count("/favicon.ico") == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("full Chromium did not ask for /favicon.ico within %s (requests: %v)", stepTimeout, e.seen.paths)
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // let the answer (and any cookie) land
		} else {
			if got := b.eval(`fetch('/favicon.ico').then(r => r.status + " " + r.headers.get('Content-Type'))`); got != "200 image/vnd.microsoft.icon" && got != "200 image/x-icon" {
				t.Errorf("anonymous /favicon.ico: %s", got)
			}
		}
		b.login("admin", adminPass, "#attr-grid")
		if loc := b.location(); loc != e.ts.URL+"/hosts/r1" {
			t.Errorf("after login at %s, want the host page asked for", loc)
		}
	})
}

// TestBrowserAlerts: an operator sees the firing count in the top bar,
// acknowledges an alert with a comment and silences another on the
// Alerts page; a device string in a summary stays text.
func TestBrowserAlerts(t *testing.T) { forEachBrowser(t, browserAlerts) }

func browserAlerts(t *testing.T, b *tab) {
	e := newEnv(t)
	addAlerts(t, e)
	arts := filepath.Join(artifactDir(t), filepath.Base(b.bin))
	if err := os.MkdirAll(arts, 0o755); err != nil {
		t.Fatal(err)
	}
	b.step("open the alerts page without login", chromedp.Navigate(e.ts.URL+"/alerts"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.login("olga", operatorPass, "#alert-filter")
	if got := b.eval(`document.getElementById('firing-count').textContent`); got != "3" {
		t.Errorf("firing count in the top bar: %q", got)
	}
	if got := b.eval(`String([...document.querySelectorAll('td')].some(td => td.textContent === '<script>alert("x")</script>'))`); got != "true" {
		t.Errorf("the hostile summary is not shown as text: %q", got)
	}
	b.shot(arts, "20-alerts")
	uplink := `tr[data-id="` + listAlerts(t, e, "?rule=UplinkBusy", e.viewerTok)[0].ID + `"]`
	b.step("acknowledge the uplink alert",
		chromedp.SendKeys(chromedp.CSS(uplink+` form.ack input[name="comment"]`), "replacing the optic"),
		chromedp.Click(chromedp.CSS(uplink+` form.ack button`)), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := b.eval(`document.getElementById('notice').textContent`); got != "Alert acknowledged." {
		t.Errorf("after ack: %q", got)
	}
	b.step("silence r1's host alert", chromedp.Navigate(e.ts.URL+"/alerts"), chromedp.WaitVisible(chromedp.CSS("#silence-form")),
		chromedp.SendKeys(chromedp.CSS(`#silence-form textarea[name="matchers"]`), "host=r1\nalertname=HostUnreachable"),
		chromedp.SendKeys(chromedp.CSS(`#silence-form input[name="comment"]`), "power work"),
		chromedp.Click(chromedp.CSS(`#silence-form button`)), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := b.eval(`document.getElementById('notice').textContent + " / " + document.querySelectorAll('#silences tbody tr').length`); !strings.HasPrefix(got, "Silence ") || !strings.HasSuffix(got, "created. / 1") {
		t.Errorf("after silencing: %q", got)
	}
	states := map[string]string{}
	for _, a := range listAlerts(t, e, "", e.viewerTok) {
		states[a.Labels["alertname"]] = a.State
	}
	if states["HostUnreachable"] != AlertSilenced || states["NTPOffset"] != AlertFiring || states["UplinkBusy"] != AlertAcknowledged {
		t.Errorf("states after the browser: %v", states)
	}
	b.shot(arts, "21-alerts-acked-silenced")
	b.step("rules page", chromedp.Click(chromedp.CSS(`a[href="/alerts/rules"]`)), chromedp.WaitVisible(chromedp.CSS(".panel h1")))
}

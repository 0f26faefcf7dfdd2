package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/outpost-nms/outpost/agent/sim/site"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/demo"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// escapePath is where the hostile strings' "../../../../tmp/outpost-escape"
// would land if a component used a device string as a path.
const escapePath = "/tmp/outpost-escape"

// TestHostileDeviceEndToEnd runs the real agent and collector against a
// site with a hostile SNMP device and a hostile NTP server (every string
// they answer carries invalid UTF-8, NUL, escape sequences, markup, paths,
// 64 KB; the NTP server absurd numbers) next to well-behaved ones:
//   - data keeps flowing for every device, the hostile ones included, and
//     the agent's guard never has to clean anything (the pollers did);
//   - the API's JSON shows the hostile strings escaped (\xff, \x1b);
//   - in Chromium no markup from a device runs (no script, no handler, no
//     dialog, no blocked-script report) on the overview, host, attribute
//     and events pages, which show the escaped text;
//   - nothing is written outside the state directories.
func TestHostileDeviceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns the collector, the agent and Chromium; not under -short")
	}
	chromium := testbed.RequireTool(t, "chromium-headless-shell", "chromium")
	_, escapeBefore := os.Stat(escapePath)

	base := t.TempDir()
	metricsAddr := freeTCPAddr(t)
	spec := site.Spec{
		Devices: []site.Device{
			{Name: "bad-1", Interfaces: len(snmpsim.HostileStrings()) + 3, Hostile: true, Hardware: true},
			{Name: "good-1", Interfaces: 4, Hardware: true},
			{Name: "good-2", Interfaces: 4},
		},
		NTP:   []site.NTP{{Name: "badtime", Peers: 4, Hostile: true}, {Name: "goodtime", Peers: 2}},
		Links: []site.Link{{A: "bad-1", APort: "ge-0/0/0", B: "good-1", BPort: "ge-0/0/0"}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	env, err := demo.Setup(ctx, demo.Options{
		Dir: filepath.Join(base, "outpost"), CollectorBin: bins.collector, AgentBin: bins.agent,
		WebListen: freeTCPAddr(t), AgentName: "hostile-site", Spec: spec, PollInterval: time.Second,
		AgentConfig: func(cfg map[string]any) {
			for _, tg := range cfg["snmp"].([]any) {
				tg.(map[string]any)["host_resources"] = true
			}
			cfg["metrics"] = map[string]any{"listen": metricsAddr}
		},
	})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	r := &rig{t: t, env: env, metricsAddr: metricsAddr, ended: map[*demo.Proc]bool{}}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if t.Failed() {
			r.dumpLogs()
		}
	})
	dataDir := filepath.Join(env.Dir, "collector")
	writable := []string{dataDir, filepath.Join(env.Dir, "agent", "spool"), filepath.Join(env.Dir, "logs")}
	before := listFiles(t, base)
	r.startCollector()
	r.startAgent()
	api := newAPIClient(env)

	// Every host arrives, with its attributes.
	for _, h := range []string{"bad-1", "good-1", "good-2", "badtime", "goodtime"} {
		r.waitUntil(60*time.Second, "host "+h+" and its attributes", func() (bool, string) {
			items, err := api.attributes(h)
			return err == nil && len(items) > 1, fmt.Sprintf("%d attributes, %v", len(items), err)
		})
	}
	// Data flows for every device, the hostile one included.
	for _, c := range []struct{ host, kind string }{{"good-1", "interface"}, {"good-2", "interface"}, {"bad-1", "interface"},
		{"bad-1", "storage"}, {"goodtime", "ntp"}} {
		id := api.attrID(t, c.host, func(a apiAttr) bool { return a.Kind == c.kind })
		r.waitUntil(60*time.Second, fmt.Sprintf("samples of %s %s", c.host, c.kind), func() (bool, string) {
			n, err := api.knownValues(id)
			return err == nil && n >= 5, fmt.Sprintf("%d known values, %v", n, err)
		})
	}

	// The API's JSON: the hostile strings escaped.
	raw, err := api.get("/api/v1/hosts/bad-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(raw), "\x1b\x00") || !utf8.Valid(raw) {
		t.Errorf("the host's JSON carries raw control or invalid bytes: %q", raw[:min(len(raw), 300)])
	}
	var host struct {
		SysName  string `json:"sys_name"`
		SysDescr string `json:"sys_descr"`
		Location string `json:"location"`
		Contact  string `json:"contact"`
	}
	if err := json.Unmarshal(raw, &host); err != nil {
		t.Fatal(err)
	}
	if host.SysName != `sw\xc3(<b>bad-1</b>` || host.Location != `B\xfcro 2.OG ../../etc` || host.Contact != `\x00noc\x1b]0;title\x07@example.net` ||
		!strings.HasPrefix(host.SysDescr, "<script>window.__outpostXSS=1</script>\nsecond line \\x1b[2J\\xff\nLLL") {
		t.Errorf("host as the API shows it: %+v", host)
	}
	attrs, err := api.attributes("bad-1")
	if err != nil {
		t.Fatal(err)
	}
	wantNames := map[string]bool{`port\xff1`: false, `bad\xc3(seq`: false, `nul\x00byte`: false, `\x1b[2J\x1b[31mred\x1b]0;owned\x07`: false,
		"<script>window.__outpostXSS=1</script>": false, "../../../../tmp/outpost-escape": false}
	for _, a := range attrs {
		if _, ok := wantNames[a.Name]; ok {
			wantNames[a.Name] = true
		}
	}
	for name, seen := range wantNames {
		if !seen {
			t.Errorf("no attribute of bad-1 named %q", name)
		}
	}
	ntpAttrs, err := api.attributes("badtime")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ntpAttrs {
		if a.Key == "ntp" && (a.Status != "alert" || !strings.Contains(a.StatusReason, "server reported offset -1e+20 ms, not a valid offset")) {
			t.Errorf("badtime ntp: %s %q", a.Status, a.StatusReason)
		}
	}
	if n := r.metric("outpost_agent_strings_cleaned_total"); n != 0 {
		t.Errorf("the batcher's guard cleaned %v strings: a poller left them", n)
	}
	for _, bad := range []string{"invalid UTF-8", "malformed", "refused"} {
		if strings.Contains(r.log("collector.log"), bad) {
			t.Errorf("collector log mentions %q", bad)
		}
	}

	// Chromium: nothing from a device runs.
	checkPagesInChromium(t, chromium, env, api)

	r.stopAgent()
	r.stopCollector()

	// Nothing written outside the state directories.
	for p := range listFiles(t, base) {
		if before[p] {
			continue
		}
		ok := false
		for _, w := range writable {
			ok = ok || p == w || strings.HasPrefix(p, w+string(filepath.Separator))
		}
		if !ok {
			t.Errorf("written outside the state directories: %s", p)
		}
	}
	err = filepath.WalkDir(filepath.Join(dataDir, "rrd"), func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Every archive lies inside the data directory, named by an
		// escaped host and key: no component climbs out.
		rel, _ := filepath.Rel(dataDir, p)
		for _, part := range strings.Split(rel, string(filepath.Separator)) {
			if part == ".." || part == "." && rel != "." {
				t.Errorf("archive path %s", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(escapePath); err == nil && escapeBefore != nil {
		t.Errorf("%s was created", escapePath)
	}
}

// listFiles returns every file and directory under dir.
func listFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out[p] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apiClient calls the collector's JSON API with the environment's token.
type apiClient struct {
	base, token string
	c           http.Client
}

func newAPIClient(env *demo.Env) *apiClient {
	return &apiClient{base: env.WebURL, token: env.APIToken, c: http.Client{Timeout: 10 * time.Second}}
}

func (a *apiClient) get(path string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}

type apiAttr struct {
	ID           int64  `json:"id"`
	Key          string `json:"key"`
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Descr        string `json:"descr"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
	URL          string `json:"url"`
}

func (a *apiClient) attributes(host string) ([]apiAttr, error) {
	b, err := a.get("/api/v1/hosts/" + url.PathEscape(host) + "/attributes?rows=100")
	if err != nil {
		return nil, err
	}
	var page struct {
		Items []apiAttr `json:"items"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, err
	}
	return page.Items, nil
}

func (a *apiClient) attrID(t *testing.T, host string, match func(apiAttr) bool) int64 {
	t.Helper()
	attrs, err := a.attributes(host)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range attrs {
		if match(at) {
			return at.ID
		}
	}
	t.Fatalf("no matching attribute of %s in %+v", host, attrs)
	return 0
}

// knownValues counts the known values of the attribute's first data
// source over the last two minutes (the JSON export, rrdtool xport's shape).
func (a *apiClient) knownValues(id int64) (int, error) {
	now := time.Now().Unix()
	b, err := a.get(fmt.Sprintf("/api/v1/attributes/%d/export.json?start=%d&end=%d", id, now-120, now))
	if err != nil {
		return 0, err
	}
	var x struct {
		Data [][]*float64 `json:"data"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return 0, err
	}
	n := 0
	for _, row := range x.Data {
		if len(row) > 0 && row[0] != nil && !math.IsNaN(*row[0]) {
			n++
		}
	}
	return n, nil
}

// checkPagesInChromium logs in and opens the pages that show device
// strings: no script from a device may run (the marker global stays
// undefined), no element may carry an inline handler or a device's script
// element, no dialog may open, and no Content-Security-Policy violation
// may be reported (which would mean markup was parsed as HTML and only the
// policy stopped it). The escaped text must be visible.
func checkPagesInChromium(t *testing.T, bin string, env *demo.Env, api *apiClient) {
	t.Helper()
	bctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true))
	actx, cancelA := chromedp.NewExecAllocator(bctx, opts...)
	defer cancelA()
	var mu sync.Mutex
	var dialogs []string
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			dialogs = append(dialogs, d.Message)
			mu.Unlock()
		}
	}))
	defer cancelB()
	if _, err := chromedp.Call(ctx, page.Enable, page.EnableParams{}); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	watch := `window.__outpostCSP = 0; document.addEventListener('securitypolicyviolation', () => { window.__outpostCSP++; });`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watch}); err != nil {
		t.Fatal(err)
	}
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	// waitFor evaluates expr until it is true; errors while a navigation
	// replaces the document are retried.
	waitFor := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s (%s): %v", what, expr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	step("log in", chromedp.Navigate(env.WebURL+"/login"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#user"), env.AdminUser), chromedp.SendKeys(chromedp.CSS("#password"), env.AdminPassword),
		chromedp.Click(chromedp.CSS("#login-submit")))
	waitFor("the overview after login", `!location.pathname.startsWith('/login') && document.readyState === 'complete'`)

	attrs, err := api.attributes("bad-1")
	if err != nil {
		t.Fatal(err)
	}
	pages := []struct{ path, ready, text string }{
		{"/", `document.readyState === 'complete' && document.body.innerText.includes('bad-1')`, `sw\xc3(<b>bad-1</b>`},
		{"/hosts/bad-1", `document.querySelectorAll('#attr-grid tbody tr[data-key]').length > 5`, `port\xff1`},
		{"/hosts/badtime", `document.readyState === 'complete' && document.body.innerText.includes('badtime')`, `../../../../tmp/outpost-escape`},
		{"/events", `document.readyState === 'complete'`, ""},
		{"/hosts/good-1", `document.querySelectorAll('#neighbor-table tbody tr').length > 0`, "bad-1"},
		{"/topology", `document.querySelectorAll('#topo-svg .node').length === 2`, "bad-1"},
	}
	for _, a := range attrs {
		if a.Name == "<script>window.__outpostXSS=1</script>" || a.Name == `port\xff1` || a.Name == `\x1b[2J\x1b[31mred\x1b]0;owned\x07` {
			pages = append(pages, struct{ path, ready, text string }{a.URL, `document.readyState === 'complete' && document.body.innerText.length > 0`, a.Name})
		}
	}
	for _, p := range pages {
		step("open "+p.path, chromedp.Navigate(env.WebURL+p.path))
		waitFor(p.path, p.ready)
		time.Sleep(500 * time.Millisecond) // let the page's own scripts render the grid and chart
		if got := eval(`String(typeof window.__outpostXSS)`); got != "undefined" {
			t.Errorf("%s: a device's script ran (window.__outpostXSS is %s)", p.path, got)
		}
		if got := eval(`String(window.__outpostCSP)`); got != "0" {
			t.Errorf("%s: %s Content-Security-Policy violations: device markup was parsed as HTML", p.path, got)
		}
		if got := eval(`String(document.querySelectorAll('[onerror],[onload],svg script').length + [...document.scripts].filter(s => s.textContent.includes('__outpostXSS')).length)`); got != "0" {
			t.Errorf("%s: %s elements from device markup", p.path, got)
		}
		if p.text != "" {
			if got := eval(`String(document.body.innerText.includes(` + jsString(p.text) + `))`); got != "true" {
				t.Errorf("%s: the page does not show %q", p.path, p.text)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dialogs) > 0 {
		t.Errorf("dialogs opened: %q", dialogs)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

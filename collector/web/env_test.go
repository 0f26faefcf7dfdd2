package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/rrd"
)

// env is a seeded collector: an inventory with hosts r1 (32 interfaces,
// one with an archive), ntp1 (an NTP server with three peers) and sw2,
// archives written with the engine (collector/rrd), users admin/viewer and
// API tokens. It starts no process.
type env struct {
	t         *testing.T
	db        *inventory.DB
	dir       string
	now       time.Time
	srv       *Server
	ts        *httptest.Server
	ifAttr    int64 // r1's ge-0/0/1 with an archive
	peerAttr  int64 // ntp1's system peer
	viewerTok string
	adminTok  string
	clock     atomic.Int64 // Unix seconds the server takes as now
	lastIn    int64        // the interface archive's last counter values
	lastOut   int64
	seen      pathLog // every request path the test server received
}

// pathLog records request paths, for tests that check what a browser asked.
type pathLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *pathLog) add(p string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paths = append(l.paths, p)
}

// count is how many requests were for path p.
func (l *pathLog) count(p string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, q := range l.paths {
		if q == p {
			n++
		}
	}
	return n
}

const (
	adminPass  = "admin-password-1"
	viewerPass = "viewer-password-1"
)

func exec1(t testing.TB, db *inventory.DB, q string, args ...any) int64 {
	t.Helper()
	r, err := db.Writer().Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	id, _ := r.LastInsertId()
	return id
}

// makeIfArchive writes, with the archive engine, 2 days of one-minute
// interface counters ending at end, with a 30-minute gap two hours before
// end, and returns the last counter values.
func makeIfArchive(t testing.TB, path string, end int64) (lastIn, lastOut int64) {
	t.Helper()
	start := end - 2*86400
	nan := math.NaN()
	if err := rrd.Create(path, rrd.Spec{Step: 60, Start: time.Unix(start-60, 0),
		DS: []rrd.DS{{Name: "in_octets", Type: rrd.Counter, Heartbeat: 120, Min: 0, Max: nan}, {Name: "out_octets", Type: rrd.Counter, Heartbeat: 120, Min: 0, Max: nan}},
		RRAs: []rrd.RRA{{CF: rrd.Average, XFF: 0.5, Steps: 1, Rows: 2880}, {CF: "MAX", XFF: 0.5, Steps: 1, Rows: 2880},
			{CF: rrd.Average, XFF: 0.5, Steps: 30, Rows: 1500}, {CF: "MAX", XFF: 0.5, Steps: 30, Rows: 1500}}}); err != nil {
		t.Fatal(err)
	}
	var ups []rrd.Update
	var in, out float64
	for ts := start; ts <= end; ts += 60 {
		i := (ts - start) / 60
		if ts > end-2*3600 && ts < end-90*60 {
			continue
		}
		rate := 4e6 + 3e6*math.Sin(float64(i)/120)
		if i%53 == 0 {
			rate *= 4
		}
		in += rate * 60
		out += rate * 20
		ups = append(ups, rrd.Update{Time: time.Unix(ts, 0), Values: []rrd.Value{rrd.Uint(uint64(in)), rrd.Uint(uint64(out))}})
	}
	if err := rrd.UpdateFile(path, ups); err != nil {
		t.Fatal(err)
	}
	return int64(in), int64(out)
}

// appendIf adds one interface row to the archive.
func appendIf(t testing.TB, path string, ts, in, out int64) {
	t.Helper()
	if err := rrd.UpdateFile(path, []rrd.Update{{Time: time.Unix(ts, 0), Values: []rrd.Value{rrd.Uint(uint64(in)), rrd.Uint(uint64(out))}}}); err != nil {
		t.Fatal(err)
	}
}

// makePeerArchive writes a day of an NTP peer's figures ending at end. The
// offset wanders around offset by up to 0.1 ms, in phase with end (not with
// the wall clock), so its last value is offset exactly whatever the time of
// day the test runs at.
func makePeerArchive(t testing.TB, path string, end int64, offset float64) {
	t.Helper()
	start := end - 86400
	nan := math.NaN()
	if err := rrd.Create(path, rrd.Spec{Step: 64, Start: time.Unix(start-64, 0),
		DS: []rrd.DS{{Name: "offset", Type: rrd.Gauge, Heartbeat: 128, Min: nan, Max: nan}, {Name: "delay", Type: rrd.Gauge, Heartbeat: 128, Min: nan, Max: nan},
			{Name: "jitter", Type: rrd.Gauge, Heartbeat: 128, Min: nan, Max: nan}, {Name: "reach", Type: rrd.Gauge, Heartbeat: 128, Min: 0, Max: 255}},
		RRAs: []rrd.RRA{{CF: rrd.Average, XFF: 0.5, Steps: 1, Rows: 1500}, {CF: "MAX", XFF: 0.5, Steps: 1, Rows: 1500}}}); err != nil {
		t.Fatal(err)
	}
	var ups []rrd.Update
	for ts := start; ts <= end; ts += 64 {
		ups = append(ups, rrd.Update{Time: time.Unix(ts, 0), Values: []rrd.Value{rrd.Float(offset + 1e-4*math.Sin(float64(ts-end)/3000)), rrd.Float(0.00123), rrd.Float(0.00021), rrd.Float(255)}})
	}
	if err := rrd.UpdateFile(path, ups); err != nil {
		t.Fatal(err)
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := inventory.Open(ctx, filepath.Join(dir, "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now().Truncate(time.Minute)
	e := &env{t: t, db: db, dir: dir, now: now}
	e.clock.Store(now.Unix())
	ms := now.UnixMilli()
	os.MkdirAll(filepath.Join(dir, "rrd", "r1"), 0o755)
	os.MkdirAll(filepath.Join(dir, "rrd", "ntp1"), 0o755)

	r1 := exec1(t, db, `INSERT INTO hosts(name, agent, address, sys_name, sys_descr, location, created_at, updated_at) VALUES ('r1', 'edge-a', '192.0.2.1', 'r1.lab', 'Juniper MX204 router', 'rack 4', ?, ?)`, ms-86400000, ms-30000)
	for i := 0; i < 32; i++ {
		st := []int{1, 1, 1, 2, 3, 5}[i%6]
		if i == 7 {
			st = 4
		}
		if i == 9 {
			st = 0
		}
		archive := ""
		if i == 1 {
			archive = "rrd/r1/if_ge-0_0_1.rrd"
		}
		id := exec1(t, db, `INSERT INTO attributes(host_id, key, kind, name, descr, props, interval_s, ds, archive, status, status_reason, status_since, created_at, updated_at)
			VALUES (?, ?, 'interface', ?, ?, '{"ifIndex":"`+strconv.Itoa(500+i)+`","ifSpeed":"10000000000"}', 60,
			'[{"name":"in_octets","kind":"counter64"},{"name":"out_octets","kind":"counter64"}]', ?, ?, ?, ?, ?, ?)`,
			r1, fmt.Sprintf("if:ge-0/0/%d", i), fmt.Sprintf("ge-0/0/%d", i), fmt.Sprintf("link to site %c", 'A'+i%5), archive, st,
			map[int]string{2: "errors 3.1/s", 3: "oper down"}[st], ms-int64(i)*600000, ms, ms)
		if i == 1 {
			e.ifAttr = id
		}
		if i == 4 {
			exec1(t, db, `INSERT INTO status_events(attr_id, at, old_status, new_status, reason) VALUES (?, ?, 1, 3, 'oper down'), (?, ?, 3, 1, 'oper up'), (?, ?, 1, 3, 'oper down')`,
				id, ms-7200000, id, ms-3600000, id, ms-600000)
		}
	}
	exec1(t, db, `INSERT INTO attributes(host_id, key, kind, name, status, interval_s, ds, created_at, updated_at) VALUES (?, 'host', 'host', 'reachability', 1, 60, '[{"name":"rtt","kind":"gauge"},{"name":"reachable","kind":"gauge"}]', ?, ?)`, r1, ms, ms)
	e.lastIn, e.lastOut = makeIfArchive(t, filepath.Join(dir, "rrd/r1/if_ge-0_0_1.rrd"), now.Unix())

	ntp := exec1(t, db, `INSERT INTO hosts(name, address, sys_descr, created_at, updated_at) VALUES ('ntp1', '192.0.2.123', 'ntpsec 1.2.2', ?, ?)`, ms, ms)
	exec1(t, db, `INSERT INTO attributes(host_id, key, kind, name, status, interval_s, ds, created_at, updated_at) VALUES (?, 'ntp', 'ntp', 'sync', 1, 64, '[{"name":"offset","kind":"gauge"}]', ?, ?)`, ntp, ms, ms)
	peers := []struct {
		addr, tally, refid, st, when string
		status                       int
	}{
		{"192.0.2.10", "*", ".GPS.", "1", "12", 1}, {"192.0.2.11", "+", "192.0.2.10", "2", "40", 1}, {"198.51.100.7", "x", ".INIT.", "16", "-", 2},
	}
	for i, p := range peers {
		rel := fmt.Sprintf("rrd/ntp1/peer%d.rrd", i)
		id := exec1(t, db, `INSERT INTO attributes(host_id, key, kind, name, props, interval_s, ds, archive, status, created_at, updated_at)
			VALUES (?, ?, 'ntp-peer', ?, ?, 64, '[{"name":"offset","kind":"gauge"},{"name":"delay","kind":"gauge"},{"name":"jitter","kind":"gauge"},{"name":"reach","kind":"gauge"}]', ?, ?, ?, ?)`,
			ntp, "ntp-peer:"+p.addr, p.addr,
			fmt.Sprintf(`{"tally":%q,"refid":%q,"st":%q,"t":"u","when":%q,"poll":"64","reach":"377"}`, p.tally, p.refid, p.st, p.when), rel, p.status, ms, ms)
		makePeerArchive(t, filepath.Join(dir, rel), now.Unix(), float64(i+1)*-0.000045)
		if i == 0 {
			e.peerAttr = id
		}
	}
	exec1(t, db, `INSERT INTO hosts(name, address, created_at, updated_at) VALUES ('sw2', '192.0.2.2', ?, ?)`, ms, ms)
	exec1(t, db, `INSERT INTO events(at, kind, agent, message) VALUES (?, 'enrolled', 'edge-a', 'agent edge-a enrolled'), (?, 'dropped', 'edge-a', 'spool full: 12 batches (1440 samples) dropped')`, ms-86000000, ms-3000000)

	if err := db.CreateUser(ctx, "admin", adminPass, inventory.RoleAdmin, now); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, "viewer", viewerPass, inventory.RoleViewer, now); err != nil {
		t.Fatal(err)
	}
	if e.viewerTok, err = db.CreateAPIToken(ctx, "viewer", "test", now); err != nil {
		t.Fatal(err)
	}
	if e.adminTok, err = db.CreateAPIToken(ctx, "admin", "test", now); err != nil {
		t.Fatal(err)
	}
	e.srv, err = New(Options{DB: db, DataDir: dir, Source: graph.Engine{}, Clock: func() time.Time { return time.Unix(e.clock.Load(), 0) },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LiveInterval: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.seen.add(r.URL.Path)
		e.srv.ServeHTTP(w, r)
	}))
	// Close the clients' connections first: a live stream (SSE) a browser
	// still holds open would keep Close waiting.
	t.Cleanup(func() { e.ts.CloseClientConnections(); e.ts.Close() })
	return e
}

// client returns an HTTP client with a cookie jar that does not follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 20 * time.Second}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs c in and returns the session's CSRF token (read from a page).
func (e *env) login(c *http.Client, user, pass string) string {
	e.t.Helper()
	res, err := c.Get(e.ts.URL + "/login")
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		e.t.Fatalf("no csrf in login page")
	}
	res, err = c.PostForm(e.ts.URL+"/login", url.Values{"csrf": {string(m[1])}, "user": {user}, "password": {pass}, "next": {"/"}})
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		e.t.Fatalf("login %s: %d %s", user, res.StatusCode, res.Header.Get("Location"))
	}
	res, err = c.Get(e.ts.URL + "/account")
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	m = csrfRE.FindSubmatch(body)
	if m == nil {
		e.t.Fatalf("no csrf on /account (status %d)", res.StatusCode)
	}
	return string(m[1])
}

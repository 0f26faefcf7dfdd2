package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/sim/site"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// binDir holds outpost-agent and outpost-collector built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	code := func() int {
		if !testingShort() {
			dir, err := os.MkdirTemp("", "outpost-demo-bin-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			for _, b := range []string{"agent/cmd/outpost-agent", "collector/cmd/outpost-collector"} {
				cmd := exec.Command("go", "build", "-o", dir, "github.com/outpost-nms/outpost/"+b)
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
				if out, err := cmd.CombinedOutput(); err != nil {
					fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b, err, out)
					return 1
				}
			}
			binDir = dir
		}
		return m.Run()
	}()
	os.Exit(code)
}

// testingShort reads -test.short before flag parsing has happened.
func testingShort() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

// TestWholeSystem runs the system as the demo does, on a small site polled
// every 2 s, and checks through the JSON API and the archives what an
// operator would: every host and attribute discovered, statuses right (the
// admin-down port is Admin Down, the flapping port alternates, the
// unreachable one is Down), NTP attributes present with the system peer
// marked, and interface rates in the archive equal to the simulated rates
// within 1%.
func TestWholeSystem(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the collector and agent processes")
	}
	ifs := snmpsim.GenerateInterfaces(6, 42)
	adminDown, flapping := ifs[2].Name, ifs[3].Name
	spec := site.Spec{
		Devices: []site.Device{
			{Name: "sw-a", Interfaces: 6, Seed: 42, AdminDown: []string{adminDown},
				Flap: []string{flapping}, FlapPeriod: 8 * time.Second, Location: "rack 1"},
			{Name: "fw-b", Interfaces: 3, Community: "-",
				V3: &site.V3{User: "monitor", AuthProto: "SHA-256", AuthPass: "auth-pass-123", PrivProto: "AES", PrivPass: "priv-pass-123"}},
		},
		NTP: []site.NTP{{Name: "ntp-a", Peers: 3}, {Name: "ntp-u", Peers: 1, Unsynced: true}},
	}
	// Alerts go to a real Alertmanager, whose webhook receiver is this test.
	var hookMu sync.Mutex
	var hooked []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooked = append(hooked, string(b))
		hookMu.Unlock()
	}))
	defer hook.Close()
	am := testbed.StartAlertmanager(t, hook.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e, err := Setup(ctx, Options{
		Dir: t.TempDir(), CollectorBin: filepath.Join(binDir, "outpost-collector"),
		AgentBin: filepath.Join(binDir, "outpost-agent"), Spec: spec, PollInterval: 2 * time.Second,
		WebListen: "127.0.0.1:0", Alertmanager: am,
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			e.Close()
		}
		if t.Failed() {
			for _, p := range []string{"logs/collector.log", "logs/agent.log"} {
				b, _ := os.ReadFile(filepath.Join(e.Dir, p))
				t.Logf("---- %s (tail)\n%s", p, tail(string(b), 40))
			}
		}
	})
	if err := e.StartCollector(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.StartAgent(ctx); err != nil {
		t.Fatal(err)
	}
	api := apiClient{t: t, base: e.WebURL, token: e.APIToken}
	waitUntil := func(t *testing.T, ctx context.Context, what string, check func() error) {
		t.Helper()
		waitRunning(t, ctx, e, what, check)
	}

	// Discovery: every host with its attributes.
	wantIfs := map[string]int{"sw-a": 6, "fw-b": 3}
	waitUntil(t, ctx, "every host and interface discovered", func() error {
		for host, n := range wantIfs {
			page := api.attributes(host, "interface")
			if page.TotalRows != n {
				return fmt.Errorf("%s: %d interfaces, want %d", host, page.TotalRows, n)
			}
		}
		if page := api.attributes("ntp-a", ""); page.TotalRows < 4 {
			return fmt.Errorf("ntp-a: %d attributes, want ntp + 3 peers", page.TotalRows)
		}
		return nil
	})

	// Statuses.
	waitUntil(t, ctx, "statuses settled", func() error {
		attrs := api.attributes("sw-a", "interface").byName()
		if s := attrs[adminDown].Status; s != "admin-down" {
			return fmt.Errorf("%s status %q, want admin-down", adminDown, s)
		}
		for _, f := range ifs {
			if f.Name == adminDown || f.Name == flapping {
				continue
			}
			if s := attrs[f.Name].Status; s != "up" {
				return fmt.Errorf("%s status %q, want up", f.Name, s)
			}
		}
		ntp := api.attributes("ntp-a", "").byKey()
		if s := ntp["ntp"].Status; s != "up" {
			return fmt.Errorf("ntp-a ntp status %q (%s), want up", s, ntp["ntp"].Reason)
		}
		system := 0
		for k, a := range ntp {
			if strings.HasPrefix(k, "ntp-peer:") && a.Props["tally"] == "*" {
				system++
			}
		}
		if system != 1 {
			return fmt.Errorf("ntp-a: %d peers marked as system peer (*), want 1", system)
		}
		if s := api.attributes("fw-b", "").byKey()["host"].Status; s != "up" {
			return fmt.Errorf("fw-b (SNMPv3) host status %q, want up", s)
		}
		return nil
	})

	// The flapping port alternates: its status history has gone down and
	// come back up at least once each.
	waitUntil(t, ctx, "the flapping port alternating", func() error {
		downs, ups := 0, 0
		for _, ev := range api.events() {
			if ev.Host == "sw-a" && ev.AttrKey == "if:"+flapping {
				switch ev.New {
				case "down":
					downs++
				case "up":
					ups++
				}
			}
		}
		if downs < 1 || ups < 2 {
			return fmt.Errorf("%s: %d transitions to down, %d to up; want >= 1 and >= 2", flapping, downs, ups)
		}
		return nil
	})

	// The unsynchronised NTP server alerts (the demo's alerting: for 30s,
	// every 15s) and Alertmanager notifies its receiver; the flapping port,
	// never down for 30s, does not.
	waitUntil(t, ctx, "the NTPUnsynchronised alert at the Alertmanager's receiver", func() error {
		hookMu.Lock()
		defer hookMu.Unlock()
		for _, h := range hooked {
			if strings.Contains(h, `"alertname":"NTPUnsynchronised"`) && strings.Contains(h, `"host":"ntp-u"`) {
				if strings.Contains(h, `"host":"sw-a"`) {
					return fmt.Errorf("the flapping port alerted: %s", h)
				}
				return nil
			}
		}
		return fmt.Errorf("%d notifications, none for ntp-u: %.2000s", len(hooked), strings.Join(hooked, "\n"))
	})

	// Let a few more polls land, then stop everything cleanly (archives
	// flushed) and compare the archived rates with the simulator's.
	time.Sleep(6 * time.Second)
	dev := e.Site.Device("sw-a")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	compared := 0
	var worst float64
	for _, f := range dev.Interfaces() {
		if f.Name == adminDown || f.Name == flapping || f.BurstEvery > 0 {
			continue
		}
		path := filepath.Join(e.Dir, "collector", ingest.ArchivePath("sw-a", "if:"+f.Name))
		info, err := rrd.ReadInfo(path)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		last := info.LastUpdate
		res, err := rrd.Fetch(path, "AVERAGE", last.Add(-40*time.Second), last, 0)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		in := indexOf(res.DS, "in_octets")
		for i, row := range res.Rows {
			end := res.Start.Add(time.Duration(i+1) * res.Step)
			// The first known row after an unknown one is skipped: rrdtool
			// counts unknown time in whole seconds (floor), so a step whose
			// first 0.6 s were unknown is divided by the whole step and
			// reads low, here and in rrdtool alike.
			if math.IsNaN(row[in]) || end.After(last) || i == 0 || math.IsNaN(res.Rows[i-1][in]) {
				continue
			}
			c1, err1 := dev.Counter(f.Index, "ifHCInOctets", end.Add(-res.Step))
			c2, err2 := dev.Counter(f.Index, "ifHCInOctets", end)
			if err1 != nil || err2 != nil {
				continue // before the port's last state change
			}
			want := float64(c2-c1) / res.Step.Seconds()
			if want == 0 {
				continue
			}
			rel := math.Abs(row[in]-want) / want
			worst = max(worst, rel)
			if rel > 0.01 {
				t.Errorf("%s in_octets at %s: archive %.1f B/s, simulator %.1f B/s (%.2f%% off)",
					f.Name, end.Format(time.TimeOnly), row[in], want, 100*rel)
			}
			compared++
		}
	}
	if compared < 6 {
		t.Fatalf("only %d archive rows compared with the simulator", compared)
	}
	t.Logf("%d archive rows within 1%% of the simulated rates (worst %.3f%%)", compared, 100*worst)
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitRunning polls check every 500 ms until it passes, ctx ends, or one
// of the environment's processes exits.
func waitRunning(t *testing.T, ctx context.Context, e *Env, what string, check func() error) {
	t.Helper()
	var last error
	for {
		if last = check(); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached: %v", what, last)
		case <-e.Agent.Exited():
			t.Fatalf("%s: the agent exited: %v", what, e.Agent.Err())
		case <-e.Collector.Exited():
			t.Fatalf("%s: the collector exited: %v", what, e.Collector.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

type apiClient struct {
	t     *testing.T
	base  string
	token string
}

type apiAttr struct {
	Key    string            `json:"key"`
	Kind   string            `json:"kind"`
	Name   string            `json:"name"`
	Status string            `json:"status"`
	Reason string            `json:"status_reason"`
	Props  map[string]string `json:"props"`
}

type apiPage struct {
	TotalRows int       `json:"total_rows"`
	Items     []apiAttr `json:"items"`
}

func (p apiPage) byName() map[string]apiAttr {
	m := map[string]apiAttr{}
	for _, a := range p.Items {
		m[a.Name] = a
	}
	return m
}

func (p apiPage) byKey() map[string]apiAttr {
	m := map[string]apiAttr{}
	for _, a := range p.Items {
		m[a.Key] = a
	}
	return m
}

type apiEvent struct {
	Host    string `json:"host"`
	AttrKey string `json:"attr_key"`
	New     string `json:"new"`
}

func (c apiClient) get(path string, v any) error {
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c apiClient) attributes(host, kind string) apiPage {
	q := url.Values{"rows": {"500"}}
	if kind != "" {
		q.Set("kind", kind)
	}
	var p apiPage
	if err := c.get("/api/v1/hosts/"+url.PathEscape(host)+"/attributes?"+q.Encode(), &p); err != nil {
		return apiPage{}
	}
	return p
}

func (c apiClient) events() []apiEvent {
	var r struct {
		Items []apiEvent `json:"items"`
	}
	if err := c.get("/api/v1/events?host=sw-a&limit=1000", &r); err != nil {
		c.t.Logf("events: %v", err)
	}
	return r.Items
}

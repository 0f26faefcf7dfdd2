package web

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

const xssName = `<script>alert(1)</script>`

// addDevices gives r1 hardware, a sensor and neighbours (one is sw2, one
// advertises markup as its name), and sw2 the link back.
func addDevices(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	arch := func(h, k string) string { return "" }
	now := e.now
	hosts := []wire.Host{{Name: "r1", Address: "192.0.2.1", SysName: "r1.lab", Attrs: []wire.Attr{
		{Key: "sensor:cisco.4", Kind: wire.KindSensor, Name: "xe-0/0/1 Rx power", Interval: 60, Props: map[string]string{"unit": "dBm", "source": "CISCO-ENTITY-SENSOR-MIB", "ifIndex": "501"},
			DS: []wire.DSDef{{Name: "value"}}}}}}
	facts := []wire.DeviceFacts{
		{Host: "r1", Time: now.UnixMilli(), HasEntities: true, HasNeighbors: true, Entities: []wire.Entity{
			{Index: 1, Class: "chassis", Name: "MX204", Model: "JNP204", Serial: "JN123"},
			{Index: 2, Class: "powerSupply", Name: `<img src=x onerror=alert(1)>`, Serial: "PSU1", ContainedIn: 1},
			{Index: 3, Class: "fan", Name: "fan tray", ContainedIn: 4}, {Index: 4, Class: "fan", Name: "loop", ContainedIn: 3},
		}, Neighbors: []wire.Neighbor{
			{Protocol: "lldp", LocalIfIndex: 501, LocalPort: "ge-0/0/1", SysName: "sw2", PortID: "Gi0/1", MgmtAddr: "192.0.2.2"},
			{Protocol: "lldp", LocalIfIndex: 502, LocalPort: "ge-0/0/2", SysName: xssName, PortID: xssName},
		}},
		{Host: "sw2", Time: now.UnixMilli(), HasNeighbors: true, Neighbors: []wire.Neighbor{
			{Protocol: "cdp", LocalIfIndex: 1, LocalPort: "Gi0/1", SysName: "r1.lab", PortID: "ge-0/0/1"}}},
	}
	if _, err := e.db.ApplyIngest(ctx, inventory.IngestUpdate{Agent: "edge-a", Now: now, Hosts: hosts, Devices: facts, Archive: arch,
		Statuses: []wire.AttrStatus{{Host: "r1", Attr: "sensor:cisco.4", Status: status.Alert, Reason: "-3.5 dBm warning threshold < -3", Time: now.UnixMilli()}}}); err != nil {
		t.Fatal(err)
	}
}

func TestDevicesAPIAndPages(t *testing.T) {
	e := newEnv(t)
	addDevices(t, e)
	c := e.client()
	auth := []string{"Authorization", "Bearer " + e.viewerTok}

	res, body := get(t, c, e.ts.URL+"/api/v1/hosts/r1/entities", auth...)
	var ents struct {
		Entities []map[string]any `json:"entities"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &ents) != nil || len(ents.Entities) != 4 || ents.Entities[0]["serial"] != "JN123" {
		t.Errorf("entities: %d %s", res.StatusCode, body)
	}
	res, body = get(t, c, e.ts.URL+"/api/v1/hosts/r1/neighbors", auth...)
	var nbs struct {
		Neighbors []map[string]any `json:"neighbors"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &nbs) != nil || len(nbs.Neighbors) != 2 || nbs.Neighbors[0]["remote_host"] != "sw2" ||
		nbs.Neighbors[0]["local_ifindex"] != float64(501) || nbs.Neighbors[0]["remote_port"] != "Gi0/1" {
		t.Errorf("neighbors: %d %s", res.StatusCode, body)
	}
	if res, _ := get(t, c, e.ts.URL+"/api/v1/hosts/nope/neighbors", auth...); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown host: %d", res.StatusCode)
	}
	res, body = get(t, c, e.ts.URL+"/api/v1/topology", auth...)
	var topo inventory.Topology
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &topo) != nil || len(topo.Edges) != 1 || len(topo.Nodes) != 2 ||
		topo.Edges[0].A != "r1" || topo.Edges[0].B != "sw2" || topo.Edges[0].BPort != "Gi0/1" {
		t.Errorf("topology: %d %s", res.StatusCode, body)
	}

	// The link is labelled with its port's latest traffic, read from the
	// interface archive (the fixture's out rate is a third of its in rate).
	if l := topo.Edges[0]; l.InBPS == nil || l.OutBPS == nil || *l.InBPS <= 0 || math.Abs(*l.InBPS / *l.OutBPS - 3) > 0.01 || l.ArchiveHost != "r1" {
		t.Errorf("link traffic: %+v", l)
	}

	e.login(c, "viewer", viewerPass)
	res, body = get(t, c, e.ts.URL+"/hosts/r1")
	page := string(body)
	for _, want := range []string{`id="hardware"`, `id="neighbors"`, `id="health"`, "JN123", "&lt;script&gt;alert(1)&lt;/script&gt;",
		"&lt;img src=x onerror=alert(1)&gt;", `<a href="/hosts/sw2">sw2</a>`, "xe-0/0/1 Rx power", `data-entity="3"`, `data-entity="4"`} {
		if !strings.Contains(page, want) {
			t.Errorf("host page lacks %q", want)
		}
	}
	if res.StatusCode != http.StatusOK || strings.Contains(page, xssName) || strings.Contains(page, "<img src=x") {
		t.Errorf("host page: %d, raw markup from a device", res.StatusCode)
	}
	res, body = get(t, c, e.ts.URL+"/topology")
	page = string(body)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `data-host="sw2"`) || !strings.Contains(page, `class="edge" data-a="r1" data-b="sw2"`) ||
		!strings.Contains(page, "site edge-a") || !strings.Contains(page, "b/s / ") {
		t.Errorf("topology page: %d", res.StatusCode)
	}
}

// TestLayoutDeterministic: the same topology gives the same drawing, every
// node inside the box, no two nodes on one spot.
func TestLayoutDeterministic(t *testing.T) {
	topo := &inventory.Topology{}
	for i := range 30 {
		topo.Nodes = append(topo.Nodes, inventory.TopologyNode{Host: string(rune('a'+i%26)) + strings.Repeat("x", i/26), Agent: []string{"s1", "s2", "s3"}[i%3]})
	}
	for i := 1; i < 30; i++ {
		topo.Edges = append(topo.Edges, inventory.TopologyEdge{A: topo.Nodes[i-1].Host, B: topo.Nodes[i].Host})
	}
	a, b := layout(topo, 1200, 800), layout(topo, 1200, 800)
	seen := map[point]bool{}
	for h, p := range a {
		if b[h] != p {
			t.Fatalf("%s placed at %v then %v", h, p, b[h])
		}
		if p.x < 0 || p.x > 1200 || p.y < 0 || p.y > 800 || seen[p] {
			t.Errorf("%s at %v", h, p)
		}
		seen[p] = true
	}
}

// TestBrowserTopology: the map draws in Chromium under the CSP, pans and
// zooms, and a host opens its page with the hardware tree.
func TestBrowserTopology(t *testing.T) {
	forEachBrowser(t, func(t *testing.T, b *tab) {
		e := newEnv(t)
		addDevices(t, e)
		b.step("open the map", chromedp.Navigate(e.ts.URL+"/topology"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		b.login("viewer", viewerPass, "#topo-svg")
		b.waitFor("the map script", `window.outpostTopology !== undefined`)
		if got := b.eval(`String(document.querySelectorAll('#topo-svg .node').length) + "/" + document.querySelectorAll('#topo-svg .edge').length`); got != "2/1" {
			t.Errorf("nodes/edges %s", got)
		}
		if got := b.eval(`document.querySelector('#topo-svg .edge line').getAttribute('stroke')`); got == "" {
			t.Error("edge without colour")
		}
		b.step("zoom in", chromedp.Click(chromedp.CSS("#topo-zoom-in")))
		if got := b.eval(`document.getElementById('topo-svg').dataset.zoom`); got != "1.500" {
			t.Errorf("zoom %q", got)
		}
		b.step("fit", chromedp.Click(chromedp.CSS("#topo-reset")))
		b.waitFor("fit", `document.getElementById('topo-svg').dataset.zoom === "1.000"`)
		b.shot(artifactDir(t), "topology")
		b.step("open sw2's neighbour r1", chromedp.Evaluate[chromedp.Void](`document.querySelector('#topo-svg a.node[data-host="r1"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))`))
		b.step("r1's page", chromedp.WaitVisible(chromedp.CSS("#hardware")))
		if got := b.eval(`location.pathname + " " + document.querySelectorAll('#hardware li[data-entity]').length`); got != "/hosts/r1 4" {
			t.Errorf("host page: %s", got)
		}
		if got := b.eval(`String(document.querySelectorAll('#neighbor-table tbody tr').length)`); got != "2" {
			t.Errorf("neighbour rows %s", got)
		}
		if got := b.eval(`String(document.querySelectorAll('script:not([src])').length + document.querySelectorAll('img').length)`); got != "0" {
			t.Errorf("device markup became elements: %s", got)
		}
	})
}

// TestHealthChartUnits: sensors, processors and memory graph in their units.
func TestHealthChartUnits(t *testing.T) {
	cases := []struct {
		a    inventory.AttrInfo
		want string
	}{
		{inventory.AttrInfo{Kind: wire.KindSensor, Props: map[string]string{"unit": "celsius"}, DS: []inventory.DSInfo{{Name: "value"}}}, "°C"},
		{inventory.AttrInfo{Kind: wire.KindSensor, Props: map[string]string{"unit": "dBm"}, DS: []inventory.DSInfo{{Name: "value"}}}, "dBm"},
		{inventory.AttrInfo{Kind: wire.KindSensor, Props: map[string]string{"unit": "state"}, DS: []inventory.DSInfo{{Name: "state"}}}, ""},
		{inventory.AttrInfo{Kind: wire.KindProcessor, DS: []inventory.DSInfo{{Name: "load"}, {Name: "load5min"}}}, "%"},
		{inventory.AttrInfo{Kind: wire.KindMemory, DS: []inventory.DSInfo{{Name: "used"}, {Name: "total"}}}, "B"},
	}
	for _, c := range cases {
		if got := defaultChart(c.a).Unit; got != c.want {
			t.Errorf("%s %v: unit %q, want %q", c.a.Kind, c.a.Props, got, c.want)
		}
	}
}

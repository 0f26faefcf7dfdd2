package web

// The topology map (/topology, /api/v1/topology): hosts as nodes, the
// links their LLDP and CDP neighbours reveal as edges (inventory.Topology).
// The layout is computed here, in Go, and drawn as inline SVG: a
// deterministic force-directed layout (Fruchterman–Reingold) in which
// every agent's hosts are pulled towards their site's centre, so sites
// stay grouped. The page needs no layout library; static/topology.js only
// pans and zooms the drawing (the CSP's script-src 'self' holds).

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
)

// maxMapNodes bounds the hosts drawn: the layout is O(n²) per iteration.
const maxMapNodes = 2000

type point struct{ x, y float64 }

// layout places the nodes of t in a width×height box (see the file doc).
// The same topology always gives the same drawing.
func layout(t *inventory.Topology, width, height float64) map[string]point {
	n := len(t.Nodes)
	pos := make(map[string]point, n)
	if n == 0 {
		return pos
	}
	sites := map[string][]int{}
	var siteNames []string
	for i, nd := range t.Nodes {
		if sites[nd.Agent] == nil {
			siteNames = append(siteNames, nd.Agent)
		}
		sites[nd.Agent] = append(sites[nd.Agent], i)
	}
	sort.Strings(siteNames)
	// Start: sites on a circle, their hosts on a small circle around it.
	cx, cy := width/2, height/2
	centre := map[string]point{}
	p := make([]point, n)
	for si, s := range siteNames {
		a := 2 * math.Pi * float64(si) / float64(len(siteNames))
		r := 0.0
		if len(siteNames) > 1 {
			r = math.Min(width, height) * 0.3
		}
		c := point{cx + r*math.Cos(a), cy + r*math.Sin(a)}
		centre[s] = c
		members := sites[s]
		for k, i := range members {
			b := 2*math.Pi*float64(k)/float64(len(members)) + a
			rr := 30 + 12*math.Sqrt(float64(len(members)))
			p[i] = point{c.x + rr*math.Cos(b), c.y + rr*math.Sin(b)}
		}
	}
	index := make(map[string]int, n)
	for i, nd := range t.Nodes {
		index[nd.Host] = i
	}
	k := math.Sqrt(width * height / float64(n))
	temp := width / 10
	const iterations = 200
	disp := make([]point, n)
	for it := 0; it < iterations; it++ {
		for i := range disp {
			disp[i] = point{}
		}
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				dx, dy := p[i].x-p[j].x, p[i].y-p[j].y
				d := math.Max(math.Hypot(dx, dy), 0.01)
				f := k * k / d
				disp[i].x += dx / d * f
				disp[i].y += dy / d * f
				disp[j].x -= dx / d * f
				disp[j].y -= dy / d * f
			}
		}
		for _, e := range t.Edges {
			i, j := index[e.A], index[e.B]
			dx, dy := p[i].x-p[j].x, p[i].y-p[j].y
			d := math.Max(math.Hypot(dx, dy), 0.01)
			f := d * d / k
			disp[i].x -= dx / d * f
			disp[i].y -= dy / d * f
			disp[j].x += dx / d * f
			disp[j].y += dy / d * f
		}
		for i, nd := range t.Nodes { // gravity towards the site's centre
			c := centre[nd.Agent]
			disp[i].x += (c.x - p[i].x) * 0.6
			disp[i].y += (c.y - p[i].y) * 0.6
		}
		for i := range p {
			d := math.Max(math.Hypot(disp[i].x, disp[i].y), 0.01)
			step := math.Min(d, temp)
			p[i].x = math.Min(width-40, math.Max(40, p[i].x+disp[i].x/d*step))
			p[i].y = math.Min(height-30, math.Max(30, p[i].y+disp[i].y/d*step))
		}
		temp *= 0.97
	}
	for i, nd := range t.Nodes {
		pos[nd.Host] = p[i]
	}
	return pos
}

// topologySVG draws t: site boxes, edges coloured by status with their
// ports and speed, nodes coloured by status linking to their host page.
// Every name goes through html/template's escaping.
func topologySVG(t *inventory.Topology) template.HTML {
	const width, height = 1200.0, 800.0
	pos := layout(t, width, height)
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg id="topo-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" role="img" aria-label="network topology">`, width, height)
	b.WriteString(`<g id="topo-view">`)
	// Site boxes.
	boxes := map[string][4]float64{}
	var order []string
	for _, nd := range t.Nodes {
		pt := pos[nd.Host]
		bx, ok := boxes[nd.Agent]
		if !ok {
			bx = [4]float64{pt.x, pt.y, pt.x, pt.y}
			order = append(order, nd.Agent)
		}
		bx[0], bx[1] = math.Min(bx[0], pt.x), math.Min(bx[1], pt.y)
		bx[2], bx[3] = math.Max(bx[2], pt.x), math.Max(bx[3], pt.y)
		boxes[nd.Agent] = bx
	}
	sort.Strings(order)
	for _, s := range order {
		bx := boxes[s]
		fmt.Fprintf(&b, `<g class="site"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="12"></rect><text x="%.1f" y="%.1f">%s</text></g>`,
			bx[0]-36, bx[1]-34, bx[2]-bx[0]+72, bx[3]-bx[1]+62, bx[0]-30, bx[1]-20, esc("site "+s))
	}
	for _, e := range t.Edges {
		a, z := pos[e.A], pos[e.B]
		label := e.APort + " – " + e.BPort
		if e.InBPS != nil && e.OutBPS != nil {
			label += " · " + graph.FormatSI(*e.InBPS, "b/s") + " / " + graph.FormatSI(*e.OutBPS, "b/s")
			if e.SpeedBPS > 0 {
				label += fmt.Sprintf(" (%.0f %%)", 100*max(*e.InBPS, *e.OutBPS)/float64(e.SpeedBPS))
			}
		} else if e.SpeedBPS > 0 {
			label += " · " + graph.FormatSI(float64(e.SpeedBPS), "b/s")
		}
		fmt.Fprintf(&b, `<g class="edge" data-a="%s" data-b="%s" data-status="%s"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"><title>%s</title></line>`,
			esc(e.A), esc(e.B), e.Status.Slug(), a.x, a.y, z.x, z.y, e.Status.Color(), esc(e.A+" "+e.APort+" ↔ "+e.B+" "+e.BPort+" ("+e.Protocol+", "+e.Status.String()+")"))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text></g>`, (a.x+z.x)/2, (a.y+z.y)/2-4, esc(label))
	}
	for _, nd := range t.Nodes {
		pt := pos[nd.Host]
		fmt.Fprintf(&b, `<a class="node" href="/hosts/%s" data-host="%s" data-status="%s"><circle cx="%.1f" cy="%.1f" r="11" fill="%s"><title>%s</title></circle><text x="%.1f" y="%.1f">%s</text></a>`,
			esc(url.PathEscape(nd.Host)), esc(nd.Host), nd.Status.Slug(), pt.x, pt.y, nd.Status.Color(), esc(nd.Host+" ("+nd.Status.String()+")"), pt.x, pt.y+26, esc(nd.Host))
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String()) // every interpolated string above is escaped
}

func (s *Server) topology(r *http.Request) (*inventory.Topology, bool, error) {
	t, err := s.o.DB.Topology(r.Context())
	if err != nil {
		return nil, false, err
	}
	cut := false
	if len(t.Nodes) > maxMapNodes {
		keep := map[string]bool{}
		for _, nd := range t.Nodes[:maxMapNodes] {
			keep[nd.Host] = true
		}
		t.Nodes = t.Nodes[:maxMapNodes]
		edges := t.Edges[:0]
		for _, e := range t.Edges {
			if keep[e.A] && keep[e.B] {
				edges = append(edges, e)
			}
		}
		t.Edges, cut = edges, true
	}
	s.measureLinks(r.Context(), t)
	return t, cut, nil
}

// maxMeasuredLinks bounds the archives read for one map.
const maxMeasuredLinks = 1000

// measureLinks sets each link's latest traffic from its port's archive:
// the last known AVERAGE of in_octets and out_octets within ten intervals,
// in bits/s. A link whose archive cannot be read keeps no figures.
func (s *Server) measureLinks(ctx context.Context, t *inventory.Topology) {
	now := s.o.Clock()
	for i := range t.Edges {
		e := &t.Edges[i]
		if e.Archive == "" || i >= maxMeasuredLinks {
			continue
		}
		iv := max(e.Interval, time.Minute)
		tab, err := s.o.Source.Fetch(ctx, s.archivePath(e.Archive), graph.CFAverage, now.Add(-10*iv), now, time.Second)
		if err != nil {
			continue
		}
		last := func(ds string) *float64 {
			col := tab.Column(ds)
			for j := len(col) - 1; j >= 0; j-- {
				if !math.IsNaN(col[j]) {
					v := col[j] * 8
					return &v
				}
			}
			return nil
		}
		e.InBPS, e.OutBPS = last("in_octets"), last("out_octets")
	}
}

func (s *Server) topologyPage(w http.ResponseWriter, r *http.Request) {
	t, cut, err := s.topology(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	counts := map[status.Status]int{}
	for _, e := range t.Edges {
		counts[e.Status]++
	}
	s.render(w, r, http.StatusOK, "topology", struct {
		Topology *inventory.Topology
		SVG      template.HTML
		Cut      bool
		Max      int
	}{t, topologySVG(t), cut, maxMapNodes})
}

func (s *Server) apiTopology(w http.ResponseWriter, r *http.Request) {
	t, _, err := s.topology(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

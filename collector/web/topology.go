package web

// The topology map (/topology, /api/v1/topology): hosts as nodes, the
// links their LLDP and CDP neighbours reveal as edges (inventory.Topology).
// The layout is computed here, in Go, and drawn as inline SVG: a
// deterministic force-directed layout (Fruchterman–Reingold) run inside a
// cell of its own for every agent (site), so sites are grouped and their
// boxes never overlap. The page needs no layout library; static/topology.js
// only pans and zooms the drawing (the CSP's script-src 'self' holds).
// docs/design-notes.md says why no JavaScript layout library is vendored.

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

// Site boxes are drawn this far around their hosts (the label sits in the
// top margin); layout keeps hosts this far inside their site's cell, so
// the boxes of two sites never overlap.
const (
	sitePadX, sitePadTop, sitePadBottom = 36.0, 34.0, 28.0
	cellGap                             = 6.0
)

type rect struct{ x0, y0, x1, y1 float64 }

// siteCells splits the width×height box into one cell per site, in a grid
// of rows, each cell's width (and each row's height, with its largest
// site) growing with the square root of its hosts (a site of 20 switches gets more room than one
// of 2).
func siteCells(names []string, sizes map[string]int, width, height float64) map[string]rect {
	cells := make(map[string]rect, len(names))
	cols := int(math.Ceil(math.Sqrt(float64(len(names)) * width / height)))
	cols = max(1, min(cols, len(names)))
	rows := (len(names) + cols - 1) / cols
	weight := func(s string) float64 { return math.Sqrt(float64(sizes[s])) + 1 }
	rowWeight := make([]float64, rows) // the sum of its cells' weights
	rowHeight := make([]float64, rows) // its largest cell's weight
	all := 0.0
	for r := range rows {
		for _, s := range names[r*cols : min(len(names), (r+1)*cols)] {
			rowWeight[r] += weight(s)
			rowHeight[r] = max(rowHeight[r], weight(s))
		}
		all += rowHeight[r]
	}
	y := 0.0
	for r := range rows {
		row := names[r*cols : min(len(names), (r+1)*cols)]
		h := height * rowHeight[r] / all
		x := 0.0
		for _, s := range row {
			w := width * weight(s) / rowWeight[r]
			cells[s] = rect{x, y, x + w, y + h}
			x += w
		}
		y += h
	}
	return cells
}

// layout places the nodes of t in a width×height box (see the file doc):
// every site (agent) gets a cell of its own and its hosts are laid out
// inside it by a Fruchterman–Reingold force layout, so sites are grouped
// by construction; links between sites still pull their ends towards the
// facing sides of the cells. Repulsion works within a site only, so the
// cost is the sum of the squares of the site sizes, not of the total. The
// same topology always gives the same drawing.
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
	sizes := make(map[string]int, len(sites))
	for s, m := range sites {
		sizes[s] = len(m)
	}
	cells := siteCells(siteNames, sizes, width, height)
	// inner is where a site's hosts may be: its cell less the box margins.
	inner := make(map[string]rect, len(cells))
	for s, c := range cells {
		in := rect{c.x0 + cellGap + sitePadX, c.y0 + cellGap + sitePadTop, c.x1 - cellGap - sitePadX, c.y1 - cellGap - sitePadBottom}
		if in.x1 < in.x0 { // a cell narrower than its margins: its middle
			in.x0, in.x1 = (c.x0+c.x1)/2, (c.x0+c.x1)/2
		}
		if in.y1 < in.y0 {
			in.y0, in.y1 = (c.y0+c.y1)/2, (c.y0+c.y1)/2
		}
		inner[s] = in
	}
	// Start: each site's hosts on a circle around its cell's centre.
	p := make([]point, n)
	siteK := make(map[string]float64, len(sites))
	for _, s := range siteNames {
		in, members := inner[s], sites[s]
		c := point{(in.x0 + in.x1) / 2, (in.y0 + in.y1) / 2}
		rr := math.Min(in.x1-in.x0, in.y1-in.y0) / 3
		for k, i := range members {
			b := 2 * math.Pi * float64(k) / float64(len(members))
			p[i] = point{c.x + rr*math.Cos(b), c.y + rr*math.Sin(b)}
		}
		siteK[s] = 0.5 * math.Sqrt(math.Max((in.x1-in.x0)*(in.y1-in.y0), 1)/float64(len(members)))
	}
	index := make(map[string]int, n)
	for i, nd := range t.Nodes {
		index[nd.Host] = i
	}
	temp := width / 10
	const iterations, gravity = 200, 0.3
	disp := make([]point, n)
	for it := 0; it < iterations; it++ {
		for i := range disp {
			disp[i] = point{}
		}
		for _, s := range siteNames {
			members, k := sites[s], siteK[s]
			for a := 0; a < len(members); a++ {
				for b := a + 1; b < len(members); b++ {
					i, j := members[a], members[b]
					dx, dy := p[i].x-p[j].x, p[i].y-p[j].y
					d := math.Max(math.Hypot(dx, dy), 0.01)
					f := k * k / d
					disp[i].x += dx / d * f
					disp[i].y += dy / d * f
					disp[j].x -= dx / d * f
					disp[j].y -= dy / d * f
				}
			}
		}
		for _, e := range t.Edges {
			i, okA := index[e.A]
			j, okB := index[e.B]
			if !okA || !okB {
				continue
			}
			k := siteK[t.Nodes[i].Agent]
			dx, dy := p[i].x-p[j].x, p[i].y-p[j].y
			d := math.Max(math.Hypot(dx, dy), 0.01)
			f := d * d / k
			if t.Nodes[i].Agent != t.Nodes[j].Agent {
				f /= 4 // a link between sites leans on the cells, no more
			}
			disp[i].x -= dx / d * f
			disp[i].y -= dy / d * f
			disp[j].x += dx / d * f
			disp[j].y += dy / d * f
		}
		for i, nd := range t.Nodes {
			in := inner[nd.Agent]
			// Gravity towards the cell's centre keeps hosts off its walls
			// (where clamping would stack them).
			disp[i].x += ((in.x0+in.x1)/2 - p[i].x) * gravity
			disp[i].y += ((in.y0+in.y1)/2 - p[i].y) * gravity
			d := math.Max(math.Hypot(disp[i].x, disp[i].y), 0.01)
			step := math.Min(d, temp)
			p[i].x = math.Min(in.x1, math.Max(in.x0, p[i].x+disp[i].x/d*step))
			p[i].y = math.Min(in.y1, math.Max(in.y0, p[i].y+disp[i].y/d*step))
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
			bx[0]-sitePadX, bx[1]-sitePadTop, bx[2]-bx[0]+2*sitePadX, bx[3]-bx[1]+sitePadTop+sitePadBottom, bx[0]-sitePadX+6, bx[1]-sitePadTop+14, esc("site "+s))
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

package web

import (
	"fmt"
	"math"
	"testing"

	"github.com/outpost-nms/outpost/collector/inventory"
)

// siteTopology has sites of the given sizes, each a chain of switches,
// with one link from every site's first host to the next site's.
func siteTopology(sizes ...int) *inventory.Topology {
	t := &inventory.Topology{}
	for s, n := range sizes {
		for i := range n {
			h := fmt.Sprintf("s%d-h%d", s, i)
			t.Nodes = append(t.Nodes, inventory.TopologyNode{Host: h, Agent: fmt.Sprintf("site%d", s)})
			if i > 0 {
				t.Edges = append(t.Edges, inventory.TopologyEdge{A: fmt.Sprintf("s%d-h%d", s, i-1), B: h})
			}
		}
		if s > 0 {
			t.Edges = append(t.Edges, inventory.TopologyEdge{A: fmt.Sprintf("s%d-h0", s-1), B: fmt.Sprintf("s%d-h0", s)})
		}
	}
	return t
}

// TestLayoutGroupsSites: the box drawn around each site's hosts holds no
// host of another site and overlaps no other site's box, whatever the
// number and sizes of the sites, and every host is inside the drawing.
func TestLayoutGroupsSites(t *testing.T) {
	for _, sizes := range [][]int{{1}, {5, 5}, {12, 2, 7}, {30, 1, 1, 1, 1}, {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, {2, 9, 4, 1, 6, 3, 8}, {20, 20}, {8}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			topo := siteTopology(sizes...)
			const w, h = 1200.0, 800.0
			pos := layout(topo, w, h)
			boxes := map[string]rect{}
			for _, nd := range topo.Nodes {
				p := pos[nd.Host]
				if p.x < 0 || p.x > w || p.y < 0 || p.y > h {
					t.Errorf("%s at %v, outside the drawing", nd.Host, p)
				}
				b, ok := boxes[nd.Agent]
				if !ok {
					b = rect{p.x, p.y, p.x, p.y}
				}
				b = rect{min(b.x0, p.x), min(b.y0, p.y), max(b.x1, p.x), max(b.y1, p.y)}
				boxes[nd.Agent] = b
			}
			drawn := map[string]rect{}
			for s, b := range boxes {
				drawn[s] = rect{b.x0 - sitePadX, b.y0 - sitePadTop, b.x1 + sitePadX, b.y1 + sitePadBottom}
			}
			for s, a := range drawn {
				for o, b := range drawn {
					if s < o && a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1 {
						t.Errorf("boxes of %s %v and %s %v overlap", s, a, o, b)
					}
				}
			}
			// Hosts (circles of radius 11) do not cover each other.
			for i, a := range topo.Nodes {
				for _, b := range topo.Nodes[i+1:] {
					pa, pb := pos[a.Host], pos[b.Host]
					if d := math.Hypot(pa.x-pb.x, pa.y-pb.y); d < 22 {
						t.Errorf("%s %v and %s %v only %.1f apart", a.Host, pa, b.Host, pb, d)
					}
				}
			}
		})
	}
}

// BenchmarkLayoutMap: the largest map drawn (maxMapNodes hosts), in 20
// sites of 100.
func BenchmarkLayoutMap(b *testing.B) {
	sizes := make([]int, 20)
	for i := range sizes {
		sizes[i] = maxMapNodes / 20
	}
	topo := siteTopology(sizes...)
	b.ResetTimer()
	for b.Loop() {
		layout(topo, 1200, 800)
	}
}

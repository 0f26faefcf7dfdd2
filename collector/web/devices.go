package web

// Device facts on the host page and in the API (issue 18): the hardware
// tree (ENTITY-MIB containment), the health attributes (sensors, CPU,
// memory) and the neighbours table.

import (
	"context"
	"net/http"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/wire"
)

// entityNode is an entity with its children, for the hardware tree.
type entityNode struct {
	inventory.Entity
	Children []*entityNode
}

// entityTree builds the containment forest. Entities whose parent is
// unknown, or that would close a loop (the agent cuts loops; an older or
// foreign agent may not), are roots; every entity appears once.
func entityTree(ents []inventory.Entity) []*entityNode {
	nodes := make(map[uint32]*entityNode, len(ents))
	for i := range ents {
		nodes[ents[i].Index] = &entityNode{Entity: ents[i]}
	}
	// reaches reports whether walking up from p arrives at idx.
	reaches := func(p, idx uint32) bool {
		for steps := 0; p != 0 && steps <= len(ents); steps++ {
			if p == idx {
				return true
			}
			n := nodes[p]
			if n == nil {
				return false
			}
			p = n.ContainedIn
		}
		return true // longer than the table: a loop above
	}
	var roots []*entityNode
	for i := range ents {
		n := nodes[ents[i].Index]
		parent := nodes[n.ContainedIn]
		if parent == nil || n.ContainedIn == n.Index || reaches(n.ContainedIn, n.Index) {
			roots = append(roots, n)
			continue
		}
		parent.Children = append(parent.Children, n)
	}
	return roots
}

// healthKinds are the attribute kinds of the host page's health table.
func healthKinds() []string {
	return []string{wire.KindSensor, wire.KindProcessor, wire.KindMemory, wire.KindLoad}
}

// deviceView is what the host page shows of a device.
type deviceView struct {
	Tree      []*entityNode
	Entities  int
	Health    []inventory.AttrInfo
	Neighbors []inventory.Neighbor
}

func (s *Server) deviceView(ctx context.Context, h inventory.HostInfo) (deviceView, error) {
	var v deviceView
	ents, err := s.o.DB.Entities(ctx, h.Name)
	if err != nil {
		return v, err
	}
	v.Entities, v.Tree = len(ents), entityTree(ents)
	for _, k := range healthKinds() {
		page, err := s.o.DB.HostAttributes(ctx, h.ID, inventory.AttrQuery{Kind: k, Rows: inventory.MaxPageRows, Sort: "name"})
		if err != nil {
			return v, err
		}
		v.Health = append(v.Health, page.Items...)
	}
	v.Neighbors, err = s.o.DB.Neighbors(ctx, h.Name)
	return v, err
}

func (s *Server) apiHostEntities(w http.ResponseWriter, r *http.Request) {
	h, err := s.o.DB.HostByName(r.Context(), r.PathValue("host"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ents, err := s.o.DB.Entities(r.Context(), h.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ents == nil {
		ents = []inventory.Entity{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"host": h.Name, "entities": ents})
}

func (s *Server) apiHostNeighbors(w http.ResponseWriter, r *http.Request) {
	h, err := s.o.DB.HostByName(r.Context(), r.PathValue("host"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ns, err := s.o.DB.Neighbors(r.Context(), h.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ns == nil {
		ns = []inventory.Neighbor{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"host": h.Name, "neighbors": ns})
}

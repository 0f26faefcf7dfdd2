package trap

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Targets attributes traps to the agent's SNMP targets by address: a
// target's address (resolved once when it is a name) and its
// trap_sources.
type Targets struct {
	byAddr map[netip.Addr]string
}

// NewTargets indexes the targets of c. A target whose name does not
// resolve (within the context's deadline) is attributed by its
// trap_sources only; its name is returned in unresolved.
func NewTargets(ctx context.Context, targets []config.SNMPTarget) (t *Targets, unresolved []string) {
	t = &Targets{byAddr: map[netip.Addr]string{}}
	add := func(a netip.Addr, host string) {
		a = a.Unmap()
		if _, dup := t.byAddr[a]; !dup { // the first target listing an address wins
			t.byAddr[a] = host
		}
	}
	for _, tg := range targets {
		if a, err := netip.ParseAddr(tg.Address); err == nil {
			add(a, tg.Name)
		} else {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", tg.Address)
			cancel()
			if err != nil || len(addrs) == 0 {
				unresolved = append(unresolved, tg.Name)
			}
			for _, a := range addrs {
				add(a, tg.Name)
			}
		}
		for _, s := range tg.TrapSources {
			if a, err := netip.ParseAddr(s); err == nil {
				add(a, tg.Name)
			}
		}
	}
	return t, unresolved
}

// Attribute sets t.Host to the target the first candidate address that
// matches belongs to, and t.Source and t.SourceFrom to that candidate.
// When none matches, t keeps its Source (the first candidate) and an
// empty Host: an unknown source.
func (ts *Targets) Attribute(t *wire.Trap, candidates []Candidate) {
	for _, c := range candidates {
		if h, ok := ts.byAddr[c.Addr.Unmap()]; ok {
			t.Host, t.Source, t.SourceFrom = h, c.Addr.Unmap().String(), c.From
			return
		}
	}
}

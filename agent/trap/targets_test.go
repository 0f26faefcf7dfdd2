package trap

import (
	"context"
	"net/netip"
	"testing"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/wire"
)

func TestAttribute(t *testing.T) {
	ts, unresolved := NewTargets(context.Background(), []config.SNMPTarget{
		{Name: "sw1", Address: "192.0.2.1", TrapSources: []string{"10.0.0.1", "::ffff:10.0.0.2"}},
		{Name: "sw2", Address: "192.0.2.2"},
		{Name: "dup", Address: "192.0.2.1"}, // the first target listing an address wins
		{Name: "nowhere", Address: "does-not-resolve.invalid"},
	})
	if len(unresolved) != 1 || unresolved[0] != "nowhere" {
		t.Errorf("unresolved %v", unresolved)
	}
	a := netip.MustParseAddr
	trapAddr := func(s string) Candidate { return Candidate{a(s), wire.SourceTrapAddress} }
	agentAddr := func(s string) Candidate { return Candidate{a(s), wire.SourceAgentAddr} }
	udp := func(s string) Candidate { return Candidate{a(s), wire.SourceUDP} }
	cases := []struct {
		name      string
		cands     []Candidate
		host, src string
		from      wire.TrapSourceKind
	}{
		{"udp source", []Candidate{udp("192.0.2.2")}, "sw2", "192.0.2.2", wire.SourceUDP},
		{"snmpTrapAddress first", []Candidate{trapAddr("10.0.0.1"), udp("192.0.2.2")}, "sw1", "10.0.0.1", wire.SourceTrapAddress},
		{"agent-addr before udp", []Candidate{agentAddr("192.0.2.1"), udp("192.0.2.2")}, "sw1", "192.0.2.1", wire.SourceAgentAddr},
		{"unknown trap address falls back", []Candidate{trapAddr("203.0.113.1"), agentAddr("192.0.2.2"), udp("192.0.2.1")}, "sw2", "192.0.2.2", wire.SourceAgentAddr},
		{"mapped v4 in trap_sources", []Candidate{udp("::ffff:10.0.0.2")}, "sw1", "10.0.0.2", wire.SourceUDP},
		{"unknown keeps the first", []Candidate{trapAddr("203.0.113.1"), udp("203.0.113.2")}, "", "203.0.113.1", wire.SourceTrapAddress},
	}
	for _, tc := range cases {
		tr := wire.Trap{Source: tc.cands[0].Addr.Unmap().String(), SourceFrom: tc.cands[0].From}
		ts.Attribute(&tr, tc.cands)
		if tr.Host != tc.host || tr.Source != tc.src || tr.SourceFrom != tc.from {
			t.Errorf("%s: host %q source %s (%v), want %q %s (%v)", tc.name, tr.Host, tr.Source, tr.SourceFrom, tc.host, tc.src, tc.from)
		}
	}
}

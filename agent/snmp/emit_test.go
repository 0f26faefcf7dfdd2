package snmp

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/shared/wire"
)

func intPDU(v int) *gosnmp.SnmpPDU { return &gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: v} }

// TestProcessorLoad: hrProcessorLoad is a percentage; anything else is
// recorded as unknown with the reason.
func TestProcessorLoad(t *testing.T) {
	cases := []struct {
		v    *gosnmp.SnmpPDU
		want float64 // NaN: unknown
		bad  string
	}{
		{intPDU(0), 0, ""},
		{intPDU(37), 37, ""},
		{intPDU(100), 100, ""},
		{intPDU(101), math.NaN(), "hrProcessorLoad 101 %, not a valid percentage"},
		{intPDU(-1), math.NaN(), "hrProcessorLoad -1 %, not a valid percentage"},
		{&gosnmp.SnmpPDU{Type: gosnmp.Gauge32, Value: uint(4294967295)}, math.NaN(), "hrProcessorLoad 4294967295 %"},
		{&gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("50")}, math.NaN(), "as OctetString, not a number"},
	}
	for _, c := range cases {
		got, bad := processorLoad(c.v)
		if !same(got, c.want) || (c.bad == "") != (bad == "") || !strings.Contains(bad, c.bad) {
			t.Errorf("processorLoad(%v) = %v %q, want %v %q", c.v.Value, got, bad, c.want, c.bad)
		}
	}
}

// TestStorageUse: sizes in bytes; negative sizes or used above size are
// unknown with the reason.
func TestStorageUse(t *testing.T) {
	s := Storage{Units: 4096}
	cases := []struct {
		size, used *gosnmp.SnmpPDU
		wantSize   float64
		wantUsed   float64
		bad        string
	}{
		{intPDU(1000), intPDU(250), 4096000, 1024000, ""},
		{intPDU(1000), intPDU(1000), 4096000, 4096000, ""},
		{intPDU(0), intPDU(0), 0, 0, ""},
		{intPDU(1000), intPDU(1001), math.NaN(), math.NaN(), "hrStorageUsed 1001 above hrStorageSize 1000"},
		{intPDU(-5), intPDU(1), math.NaN(), math.NaN(), "hrStorageSize -5, not a valid size"},
		{intPDU(10), intPDU(-1), math.NaN(), math.NaN(), "hrStorageUsed -1, not a valid amount"},
		{&gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("big\xff")}, intPDU(1), math.NaN(), math.NaN(), `hrStorageSize OctetString big\xff`},
	}
	for _, c := range cases {
		size, used, bad := storageUse(s, c.size, c.used)
		if !same(size, c.wantSize) || !same(used, c.wantUsed) || (c.bad == "") != (bad == "") || !strings.Contains(bad, c.bad) {
			t.Errorf("storageUse(%v, %v) = %v %v %q, want %v %v %q", c.size.Value, c.used.Value, size, used, bad, c.wantSize, c.wantUsed, c.bad)
		}
	}
}

// TestAsFloat: user OID gauges are finite numbers only.
func TestAsFloat(t *testing.T) {
	cases := []struct {
		v    any
		want float64
		ok   bool
	}{
		{uint(7), 7, true}, {-3, -3, true}, {float64(2.5), 2.5, true}, {[]byte(" 42.5 "), 42.5, true},
		{[]byte("Inf"), 0, false}, {[]byte("NaN"), 0, false}, {[]byte("1e400"), 0, false}, {math.Inf(1), 0, false},
		{float32(math.NaN()), 0, false}, {[]byte("12 degrees"), 0, false}, {[]byte(strings.Repeat("1", 65)), 0, false},
	}
	for _, c := range cases {
		got, ok := asFloat(&gosnmp.SnmpPDU{Value: c.v})
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("asFloat(%v) = %v %v, want %v %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestCounterMax: octet counters are bounded by speed/8, packet counters
// by speed over the smallest Ethernet frame (84 bytes on the wire), both
// with a 25 % margin; no maximum without a speed or for interface types
// whose speed is nominal.
func TestCounterMax(t *testing.T) {
	cases := []struct {
		c      counter
		speed  uint64
		ifType int
		want   float64
	}{
		{ctrInOctets, 1e9, 6, 156.25e6},
		{ctrOutOctets, 10e9, 6, 1.5625e9},
		{ctrInOctets, 100e6, 6, 15.625e6},
		{ctrInUcast, 1e9, 6, 1e9 / 672 * 1.25},
		{ctrOutErrors, 1e9, 6, 1e9 / 672 * 1.25},
		{ctrInDiscards, 40e9, 161, 40e9 / 672 * 1.25}, // a LAG: its speed is the members' sum
		{ctrInOctets, 0, 6, math.NaN()},
		{ctrInOctets, 10e6, 24, math.NaN()}, // softwareLoopback (Linux lo says 10 Mb/s)
		{ctrInOctets, 1e9, 135, math.NaN()}, // l2vlan
		{ctrInUcast, 1e9, 131, math.NaN()},  // tunnel
		{ctrInUcast, 1e9, 53, math.NaN()},   // propVirtual
	}
	for _, c := range cases {
		if got := counterMax(c.c, c.speed, c.ifType); !same(got, c.want) {
			t.Errorf("counterMax(%s, %d, type %d) = %v, want %v", counterDefs[c.c].ds, c.speed, c.ifType, got, c.want)
		}
	}
}

// TestInventoryCounterMax: the inventory describes each interface's
// counters with the maxima of its speed, and interfaces of the same speed
// share one data source list.
func TestInventoryCounterMax(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(10, 3), Seed: 3})
	rep := pollOnce(t, b.target(t, nil))
	byName := map[string]wire.Attr{}
	for _, a := range rep.Inventory.Attrs {
		byName[a.Name] = a
	}
	for name, want := range map[string][2]float64{
		"ge-0/0/0": {156.25e6, 1e9 / 672 * 1.25},
		"xe-0/0/7": {1.5625e9, 10e9 / 672 * 1.25},
		"lo0":      {math.NaN(), math.NaN()},
	} {
		a, ok := byName[name]
		if !ok {
			t.Fatalf("no attribute %s", name)
		}
		for _, d := range a.DS {
			w := want[1]
			if strings.HasSuffix(d.Name, "_octets") {
				w = want[0]
			}
			if !same(d.Max, w) || d.Min != 0 {
				t.Errorf("%s %s: min %v max %v, want 0 and %v", name, d.Name, d.Min, d.Max, w)
			}
		}
	}
	if &byName["ge-0/0/0"].DS[0] != &byName["ge-0/0/1"].DS[0] {
		t.Error("two 1 Gb/s ports of one counter width do not share their data source list")
	}
}

// TestCleanError: an error quoting device bytes prints as one clean line
// and still unwraps.
func TestCleanError(t *testing.T) {
	err := fmt.Errorf("poll x: %w", cleanError{fmt.Errorf("decode \x1b]0;owned\x07 \xff: %w", ErrNoResponse)})
	if got := err.Error(); got != `poll x: decode \x1b]0;owned\x07 \xff: no response` {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(err, ErrNoResponse) {
		t.Error("the wrapped error is lost")
	}
}

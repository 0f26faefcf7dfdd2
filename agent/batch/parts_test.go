package batch

import (
	"fmt"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// bigHost is a switch stack with n interfaces whose descriptions are long.
func bigHost(name string, n int) *wire.Host {
	h := &wire.Host{Name: name, Address: "192.0.2.9", SysName: name, Complete: true}
	for i := 1; i <= n; i++ {
		h.Attrs = append(h.Attrs, wire.Attr{Key: fmt.Sprintf("if:Gi%d/0/%d", i/48+1, i%48), Kind: wire.KindInterface,
			Name: fmt.Sprintf("Gi%d/0/%d", i/48+1, i%48), Descr: strings.Repeat(fmt.Sprintf("customer %d uplink ", i), 12),
			Props: map[string]string{"ifIndex": fmt.Sprint(i), "ifSpeed": "1000000000"}, Interval: 60,
			DS: []wire.DSDef{{Name: "in_octets", Kind: sample.Counter64}, {Name: "out_octets", Kind: sample.Counter64}}})
	}
	return h
}

// TestLargeInventoryIsSplit: an inventory far larger than a frame is
// written as consecutive parts that each fit the frame every collector
// accepts; together they hold every attribute once, and only the last is
// Complete. The poll's samples follow the parts.
func TestLargeInventoryIsSplit(t *testing.T) {
	sp := openSpool(t)
	b, err := New(sp, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	small := bigHost("sw-small", 3)
	b.Report(poll.Report{Host: "sw-small", Inventory: small})
	h := bigHost("stack1", 10_000)
	r := poll.Report{Host: "stack1", Inventory: h}
	for i := 0; i < 10; i++ {
		r.Points = append(r.Points, sample.Point{Key: sample.Key{Host: "stack1", Attr: h.Attrs[i].Key, DS: "in_octets"}, Kind: sample.Counter64, Uint: uint64(i)})
	}
	b.Report(r)

	batches := readBatches(t, sp)
	seen := map[string]int{}
	var parts []wire.HostPart
	for i, bt := range batches[1:] {
		codec, _ := wire.NewCodec()
		enc, err := codec.Marshal(bt)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc)+1 > wire.MinMaxFrame {
			t.Fatalf("batch %d is %d bytes, over %d", bt.Seq, len(enc), wire.MinMaxFrame)
		}
		if i == len(batches)-2 { // the samples, after the parts
			if bt.Samples() != 10 || len(bt.Hosts) != 0 {
				t.Fatalf("last batch %+v", bt)
			}
			continue
		}
		if len(bt.Parts) != 1 || len(bt.Hosts) != 1 || bt.Hosts[0].Name != "stack1" || bt.Samples() != 0 {
			t.Fatalf("batch %d: parts %+v hosts %d samples %d", bt.Seq, bt.Parts, len(bt.Hosts), bt.Samples())
		}
		p := bt.Parts[0]
		parts = append(parts, p)
		if bt.Hosts[0].Complete != (p.Index == p.Count-1) {
			t.Fatalf("part %d of %d: Complete %v", p.Index, p.Count, bt.Hosts[0].Complete)
		}
		for _, a := range bt.Hosts[0].Attrs {
			seen[a.Key]++
		}
	}
	if len(parts) < 10 {
		t.Fatalf("%d parts for a ~%d KB inventory", len(parts), hostSize(h)>>10)
	}
	for i, p := range parts {
		if p.Index != uint32(i) || p.Count != uint32(len(parts)) || p.Name != "stack1" {
			t.Fatalf("parts %+v", parts)
		}
	}
	if len(seen) != len(h.Attrs) {
		t.Fatalf("%d distinct attributes in the parts, want %d", len(seen), len(h.Attrs))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s in %d parts", k, n)
		}
	}
	// The split host is not repeated at the head of a segment; the small one is.
	b.cutMu.Lock()
	open := b.opening(nil)
	b.cutMu.Unlock()
	if len(open) != 1 {
		t.Fatalf("opening repeats %d inventories, want the small host only", len(open))
	}
}

// TestOpeningIsBounded: the inventories a segment's first batch repeats
// stay under OpeningBytes however many hosts the agent knows.
func TestOpeningIsBounded(t *testing.T) {
	sp := openSpool(t)
	b, err := New(sp, Options{Logger: quiet(), OpeningBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		b.Report(poll.Report{Host: fmt.Sprint("sw", i), Inventory: bigHost(fmt.Sprint("sw", i), 20)})
	}
	b.cutMu.Lock()
	open := b.opening(nil)
	b.cutMu.Unlock()
	total := 0
	for _, inv := range open {
		total += len(inv)
	}
	if total > 64<<10 || len(open) < 10 || len(open) >= 200 {
		t.Fatalf("opening: %d inventories, %d bytes", len(open), total)
	}
}

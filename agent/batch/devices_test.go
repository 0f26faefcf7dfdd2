package batch

import (
	"fmt"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/wire"
)

func facts(host string, entities int) *wire.DeviceFacts {
	f := &wire.DeviceFacts{Host: host, HasEntities: true, HasNeighbors: true,
		Neighbors: []wire.Neighbor{{Protocol: wire.ProtoLLDP, LocalIfIndex: 1, SysName: "core\x1b[2J", PortID: "ge-0/0/1"}}}
	for i := 1; i <= entities; i++ {
		f.Entities = append(f.Entities, wire.Entity{Index: uint32(i), Class: "port", Name: fmt.Sprintf("Gi1/0/%d", i),
			Descr: strings.Repeat("10/100/1000 port ", 10), Serial: fmt.Sprintf("SER%06d", i), ContainedIn: 1})
	}
	return f
}

// TestDeviceFactsTravelWithTheirHost: facts reach the spool under key 7
// in the batch of the host's inventory, cleaned; with a split inventory
// they travel with the last part, after all the attributes; facts larger
// than a part are cut to fit.
func TestDeviceFactsTravelWithTheirHost(t *testing.T) {
	sp := openSpool(t)
	b, err := New(sp, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	b.Report(poll.Report{Host: "sw1", Inventory: bigHost("sw1", 3), Devices: facts("sw1", 5)})
	b.Report(poll.Report{Host: "stack1", Inventory: bigHost("stack1", 10_000), Devices: facts("stack1", 40)})
	b.Report(poll.Report{Host: "huge", Inventory: bigHost("huge", 2), Devices: facts("huge", wire.MaxEntities)})

	got := map[string]*wire.DeviceFacts{}
	for _, bt := range readBatches(t, sp) {
		for i := range bt.Devices {
			f := &bt.Devices[i]
			got[f.Host] = f
			switch f.Host {
			case "sw1":
				if len(bt.Hosts) != 1 || bt.Hosts[0].Name != "sw1" {
					t.Errorf("sw1 facts without its inventory: %+v", bt.Hosts)
				}
			case "stack1":
				if len(bt.Parts) != 1 || bt.Parts[0].Index != bt.Parts[0].Count-1 {
					t.Errorf("stack1 facts not with the last part: %+v", bt.Parts)
				}
			}
		}
	}
	if f := got["sw1"]; f == nil || len(f.Entities) != 5 || f.Neighbors[0].SysName != `core\x1b[2J` {
		t.Errorf("sw1 facts %+v", f)
	}
	if f := got["stack1"]; f == nil || len(f.Entities) != 40 {
		t.Errorf("stack1 facts %+v", f)
	}
	if f := got["huge"]; f == nil || len(f.Entities) == 0 || len(f.Entities) >= wire.MaxEntities {
		t.Errorf("huge facts not cut to a part: %v", f != nil)
	}
}

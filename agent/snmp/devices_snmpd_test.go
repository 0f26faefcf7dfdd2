package snmp

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/shared/status"
)

// TestSNMPDHealth discovers net-snmp's own UCD-SNMP-MIB load averages and
// memory, next to HOST-RESOURCES processors, from a real snmpd, and checks
// them against snmpwalk of the same daemon and against each other.
func TestSNMPDHealth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	d := testpeer.StartSNMPD(t, testpeer.SNMPDConfig{})
	tc := v2cTarget(d, "outpost-ro")
	tc.HostResources = true
	tg, err := New(tc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev, err := tg.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]*Health{}
	for i := range dev.Health {
		h[dev.Health[i].Key] = &dev.Health[i]
	}
	load, mem := h[keyLoad], h[keyPrefixMemory+"ucd.real"]
	if load == nil || mem == nil {
		t.Fatalf("snmpd: load %v, memory %v, processors %v", load, mem, dev.Processors)
	}
	var total float64
	for _, v := range testpeer.Walk(t, d.Addr(), "outpost-ro", oidUCDMemory+".5") {
		total, _ = strconv.ParseFloat(v.Text, 64)
	}
	if got := *mem.DS[1].Value; got != total*1024 || got <= 0 {
		t.Errorf("memory total %v, snmpwalk memTotalReal %v kB", got, total)
	}
	if used := *mem.DS[0].Value; used <= 0 || used > *mem.DS[1].Value {
		t.Errorf("memory used %v of %v", used, *mem.DS[1].Value)
	}
	for _, v := range testpeer.Walk(t, d.Addr(), "outpost-ro", oidUCDLoadInt) {
		if strings.HasSuffix(v.OID, ".5.1") {
			n, _ := strconv.ParseFloat(v.Text, 64)
			if l := *load.DS[0].Value; l < 0 || l > n/100+5 {
				t.Errorf("load1 %v, snmpwalk laLoadInt.1 %v", l, n)
			}
		}
	}
	rep := pollOnce(t, tg)
	st := statusMap(rep)
	for _, k := range []string{keyLoad, keyPrefixMemory + "ucd.real"} {
		if st[k].Status != status.Up {
			t.Errorf("%s: %v %q", k, st[k].Status, st[k].Reason)
		}
	}
	if _, ok := pointMap(rep)[keyLoad+"/load15"]; !ok {
		t.Error("no load15 sample")
	}
}

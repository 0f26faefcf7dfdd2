package snmp

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// TestRecordedDeviceFeatures discovers the device features of the
// recordings snmpsimd serves (the Cisco Catalyst 3750 stack has ENTITY-MIB,
// CISCO-PROCESS-MIB, CISCO-MEMORY-POOL-MIB, CISCO-ENVMON-MIB and CDP; the
// Linux net-snmp hosts UCD-SNMP-MIB) and compares each with what net-snmp's
// snmpwalk reads from the same daemon: every entity field, every CDP
// neighbour, the CPU loads, the memory pools (used, used+free) and the
// UCD load and memory. A poll then reports every health attribute with a
// value and a status.
func TestRecordedDeviceFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpsimd")
	}
	sim := testpeer.StartSNMPSimD(t)
	seen := map[string]int{}
	for _, rec := range sim.Recordings {
		t.Run(rec.Community, func(t *testing.T) {
			tg, err := New(config.SNMPTarget{Name: rec.Community, Address: sim.Host, SNMPSettings: config.SNMPSettings{
				Port: sim.Port, Version: "2c", Community: secret.New(rec.Community),
				Timeout: configfile.Duration(3 * time.Second), Retries: intp(1),
			}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			dev, err := tg.Discover(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(tg.gates) > 0 {
				t.Errorf("tables backed off on a healthy recording: %v", tg.gates)
			}
			walk := func(oid string) []testpeer.WalkVar { return testpeer.Walk(t, sim.Addr(), rec.Community, oid) }
			compareEntities(t, dev, walk(oidEntPhysicalEntry))
			compareCDP(t, dev, walk(oidCDPCacheEntry))
			compareHealth(t, dev, walk, rec.Community == "public")
			seen["entities"] += len(dev.Entities)
			seen["neighbors"] += len(dev.Neighbors)
			seen["health"] += len(dev.Health)

			rep := pollOnce(t, tg)
			checkReportClean(t, rep)
			pts := pointMap(rep)
			for _, h := range dev.Health {
				for _, d := range h.DS {
					if _, ok := pts[h.Key+"/"+d.Name]; !ok {
						t.Errorf("poll has no %s/%s", h.Key, d.Name)
					}
				}
				found := false
				for _, s := range rep.Statuses {
					if s.Attr == h.Key {
						found = true
						if s.Status == status.Unknown {
							t.Errorf("%s: status %v %q", h.Key, s.Status, s.Reason)
						}
					}
				}
				if !found {
					t.Errorf("%s: no status", h.Key)
				}
			}
			if f := tg.facts(); len(dev.Entities)+len(dev.Neighbors) > 0 && (f == nil || f.Validate() != nil) {
				t.Errorf("facts %v", f)
			}
		})
	}
	t.Logf("recordings gave %v", seen)
	if seen["entities"] == 0 || seen["neighbors"] == 0 || seen["health"] == 0 {
		t.Errorf("no recording gave entities, neighbours and health: %v", seen)
	}
}

// walkRows groups a table walk by column and row index.
func walkRows(vars []testpeer.WalkVar, entry string) map[string]map[string]testpeer.WalkVar {
	rows := map[string]map[string]testpeer.WalkVar{}
	for _, v := range vars {
		rest, under := strings.CutPrefix(v.OID, "."+entry+".")
		col, idx, ok := strings.Cut(rest, ".")
		if !ok || !under {
			continue
		}
		if rows[idx] == nil {
			rows[idx] = map[string]testpeer.WalkVar{}
		}
		rows[idx][col] = v
	}
	return rows
}

func compareEntities(t *testing.T, dev *Device, vars []testpeer.WalkVar) {
	t.Helper()
	rows := walkRows(vars, oidEntPhysicalEntry)
	if len(dev.Entities) != len(rows) {
		t.Errorf("%d entities, snmpwalk %d", len(dev.Entities), len(rows))
	}
	str := func(r map[string]testpeer.WalkVar, col string) string {
		return safetext.LineBytes(r[col].Bytes, safetext.MaxName)
	}
	num := func(r map[string]testpeer.WalkVar, col string) int64 {
		n, _ := strconv.ParseInt(r[col].Text, 10, 64)
		return n
	}
	for _, e := range dev.Entities {
		r := rows[strconv.FormatUint(uint64(e.Index), 10)]
		if r == nil {
			t.Errorf("entity %d not in snmpwalk", e.Index)
			continue
		}
		want := wire.Entity{Index: e.Index, Descr: str(r, "2"), ContainedIn: uint32(num(r, "4")), Class: wire.EntityClass(int(num(r, "5"))),
			Position: int32(num(r, "6")), Name: str(r, "7"), HardwareRev: str(r, "8"), FirmwareRev: str(r, "9"), SoftwareRev: str(r, "10"),
			Serial: str(r, "11"), Vendor: str(r, "12"), Model: str(r, "13"), FRU: num(r, "16") == 1, IfIndex: e.IfIndex}
		if _, ok := r["6"]; !ok {
			want.Position = -1
		}
		if e != want {
			t.Errorf("entity %d:\n agent    %+v\n snmpwalk %+v", e.Index, e, want)
		}
	}
}

func compareCDP(t *testing.T, dev *Device, vars []testpeer.WalkVar) {
	t.Helper()
	rows := walkRows(vars, oidCDPCacheEntry)
	var want, got []string
	for idx, r := range rows {
		ifIndex, _, _ := strings.Cut(idx, ".")
		addr := ""
		if b := r["4"].Bytes; r["3"].Text == "1" && len(b) == 4 {
			addr = fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
		}
		want = append(want, fmt.Sprintf("if=%s id=%q port=%q platform=%q addr=%s", ifIndex,
			safetext.LineBytes(r["6"].Bytes, safetext.MaxName), safetext.LineBytes(r["7"].Bytes, safetext.MaxName),
			safetext.LineBytes(r["8"].Bytes, safetext.MaxName), addr))
	}
	for _, n := range dev.Neighbors {
		if n.Protocol != wire.ProtoCDP {
			continue
		}
		got = append(got, fmt.Sprintf("if=%d id=%q port=%q platform=%q addr=%s", n.LocalIfIndex, n.SysName, n.PortID, n.Platform, n.MgmtAddr))
		if n.LocalPort == "" {
			t.Errorf("neighbour %+v without local port", n)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("CDP neighbours:\n agent\n%s\n snmpwalk\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// compareHealth checks the values discovery read against snmpwalk's.
//
// The "public" recording varies memAvailReal on every read (an snmpsim
// numeric variation): its memory is compared for presence only.
func compareHealth(t *testing.T, dev *Device, walk func(string) []testpeer.WalkVar, varies bool) {
	t.Helper()
	num := func(v testpeer.WalkVar) float64 { f, _ := strconv.ParseFloat(v.Text, 64); return f }
	want := map[string]float64{}
	for idx, r := range walkRows(walk(oidCPMEntry), oidCPMEntry) {
		if _, ok := r["7"]; ok {
			want[keyPrefixCPU+"cpm."+idx+"/load"] = num(r["7"])
			want[keyPrefixCPU+"cpm."+idx+"/load5min"] = num(r["8"])
		}
	}
	for idx, r := range walkRows(walk(oidMemPoolEntry), oidMemPoolEntry) {
		want[keyPrefixMemory+"cisco."+idx+"/used"] = num(r["5"])
		want[keyPrefixMemory+"cisco."+idx+"/total"] = num(r["5"]) + num(r["6"])
	}
	for idx, r := range walkRows(walk(oidEnvTempEntry), oidEnvTempEntry) {
		want[keyPrefixSensor+"envmon-temp."+idx+"/value"] = num(r["3"])
	}
	ucd := map[string]float64{}
	for _, v := range walk("1.3.6.1.4.1.2021") {
		if !strings.HasPrefix(v.OID, ".1.3.6.1.4.1.2021.") {
			continue
		}
		ucd[strings.TrimPrefix(v.OID, ".1.3.6.1.4.1.2021.")] = num(v)
	}
	if l, ok := ucd["10.1.5.1"]; ok {
		want[keyLoad+"/load1"], want[keyLoad+"/load5"], want[keyLoad+"/load15"] = l/100, ucd["10.1.5.2"]/100, ucd["10.1.5.3"]/100
	}
	if tot, ok := ucd["4.5.0"]; ok && !varies {
		want[keyPrefixMemory+"ucd.real/total"] = tot * 1024
		used := tot - ucd["4.6.0"] - ucd["4.14.0"] - ucd["4.15.0"]
		if used < 0 {
			used = tot - ucd["4.6.0"]
		}
		want[keyPrefixMemory+"ucd.real/used"] = used * 1024
	}
	got := map[string]float64{}
	for _, h := range dev.Health {
		for _, d := range h.DS {
			if d.Value != nil {
				got[h.Key+"/"+d.Name] = *d.Value
			}
		}
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("%s: agent %v (found %v), snmpwalk %v", k, g, ok, w)
		}
	}
}

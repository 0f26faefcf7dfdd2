package snmp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/secret"
)

// TestRecordedDevices discovers the recordings of real devices Debian's
// snmpsim ships (Linux hosts, Windows XP, a Cisco switch stack, and an HP
// host with no ifTable),
// served by snmpsimd, and compares every interface field by field with what
// net-snmp's snmpwalk reads from the same daemon: ifIndex, ifDescr, ifName,
// ifAlias (the strings cleaned as the poller cleans them), ifType, speed
// (ifSpeed, or ifHighSpeed when larger), ifPhysAddress, ifAdminStatus and
// ifOperStatus. A full poll of each must also give a report that is clean
// and that the collector's codec accepts.
func TestRecordedDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpsimd")
	}
	sim := testpeer.StartSNMPSimD(t)
	total := 0
	for _, rec := range sim.Recordings {
		t.Run(rec.Community, func(t *testing.T) {
			want := walkedInterfaces(t, sim.Addr(), rec.Community)
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
			if len(dev.Interfaces) != len(want) {
				t.Errorf("discovered %d interfaces, snmpwalk lists %d", len(dev.Interfaces), len(want))
			}
			for _, got := range dev.Interfaces {
				w, ok := want[got.Index]
				if !ok {
					t.Errorf("ifIndex %d discovered, not in snmpwalk's ifTable", got.Index)
					continue
				}
				g := fmt.Sprintf("descr=%q name=%q alias=%q type=%d speed=%d mac=%q admin=%d oper=%d",
					got.Descr, got.Name, got.Alias, got.Type, got.Speed, got.PhysAddress, got.AdminStatus, got.OperStatus)
				if g != w {
					t.Errorf("ifIndex %d:\n agent    %s\n snmpwalk %s", got.Index, g, w)
				}
				if !safetext.IsLine(keyPrefixInterface+got.Identity, safetext.MaxName) || got.Identity == "" {
					t.Errorf("ifIndex %d: identity %q", got.Index, got.Identity)
				}
			}
			total += len(dev.Interfaces)
			if rec.Community != "hp_perf" && len(want) == 0 {
				t.Error("snmpwalk found no interface") // only hp_perf has none
			}
			rep := pollOnce(t, tg)
			checkReportClean(t, rep)
		})
	}
	t.Logf("%d interfaces on %d recorded devices match snmpwalk", total, len(sim.Recordings))
}

// walkedInterfaces reads ifTable and ifXTable with snmpwalk and returns,
// per ifIndex, the fields the agent must discover, formatted as the test
// compares them, with strings cleaned as safetext.LineBytes does.
func walkedInterfaces(t *testing.T, addr, community string) map[uint32]string {
	t.Helper()
	type row struct {
		descr, name, alias, mac string
		typ                     int
		speed, high             uint64
		admin, oper             int
		inIfTable               bool
	}
	rows := map[uint32]*row{}
	get := func(idx uint32) *row {
		if rows[idx] == nil {
			rows[idx] = &row{}
		}
		return rows[idx]
	}
	num := func(s string) uint64 { n, _ := strconv.ParseUint(s, 10, 64); return n }
	for _, table := range []string{oidIfEntry, oidIfXEntry} {
		for _, v := range testpeer.Walk(t, addr, community, table) {
			rest := strings.TrimPrefix(v.OID, "."+table+".")
			col, idxText, ok := strings.Cut(rest, ".")
			idx, err := strconv.ParseUint(idxText, 10, 32)
			if !ok || err != nil {
				continue
			}
			r := get(uint32(idx))
			switch table + "." + col {
			case colIfDescr:
				r.descr, r.inIfTable = safetext.LineBytes(v.Bytes, safetext.MaxName), true
			case colIfType:
				r.typ, r.inIfTable = int(num(v.Text)), true
			case colIfSpeed:
				r.speed = num(v.Text)
			case colIfPhysAddress:
				var parts []string
				for _, c := range v.Bytes[:min(len(v.Bytes), maxPhysAddress)] {
					parts = append(parts, fmt.Sprintf("%02x", c))
				}
				r.mac = safetext.Line(strings.Join(parts, ":"), safetext.MaxName)
			case colIfAdminStatus:
				r.admin = int(num(v.Text))
			case colIfOperStatus:
				r.oper = int(num(v.Text))
			case colIfName:
				r.name = safetext.LineBytes(v.Bytes, safetext.MaxName)
			case colIfHighSpeed:
				r.high = num(v.Text)
			case colIfAlias:
				r.alias = safetext.LineBytes(v.Bytes, safetext.MaxName)
			}
		}
	}
	out := map[uint32]string{}
	for idx, r := range rows {
		if !r.inIfTable {
			continue
		}
		speed := r.speed
		if r.high > 0 && (speed >= ifSpeedSaturated || r.high*bitsPerMbit > speed) {
			speed = r.high * bitsPerMbit
		}
		out[idx] = fmt.Sprintf("descr=%q name=%q alias=%q type=%d speed=%d mac=%q admin=%d oper=%d",
			r.descr, r.name, r.alias, r.typ, speed, r.mac, r.admin, r.oper)
	}
	return out
}

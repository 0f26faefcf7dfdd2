package snmpsim

import (
	"math"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// get reads one OID through the network and returns its numeric value.
func get(t *testing.T, g *gosnmp.GoSNMP, oid string) uint64 {
	t.Helper()
	r, err := g.Get([]string{oid})
	if err != nil {
		t.Fatalf("get %s: %v", oid, err)
	}
	v := r.Variables[0]
	if v.Type == gosnmp.NoSuchInstance || v.Type == gosnmp.NoSuchObject {
		t.Fatalf("get %s: %v", oid, v.Type)
	}
	return gosnmp.ToBigInt(v.Value).Uint64()
}

func TestCounterMatchesAnswer(t *testing.T) {
	clk := newFakeClock()
	ifs := GenerateInterfaces(60, 11)
	d, addr := startDevice(t, Config{Community: "public", Interfaces: ifs, Clock: clk.Now})
	g := client(t, addr, gosnmp.Version2c, "public")
	columns := []struct {
		name string
		oid  string
	}{
		{"ifInOctets", ".1.3.6.1.2.1.2.2.1.10."},
		{"ifOutUcastPkts", ".1.3.6.1.2.1.2.2.1.17."},
		{"ifInErrors", ".1.3.6.1.2.1.2.2.1.14."},
		{"ifHCInOctets", ".1.3.6.1.2.1.31.1.1.1.6."},
		{"ifHCOutOctets", ".1.3.6.1.2.1.31.1.1.1.10."},
		{"ifHCInMulticastPkts", ".1.3.6.1.2.1.31.1.1.1.8."},
		{"ifOutBroadcastPkts", ".1.3.6.1.2.1.31.1.1.1.5."},
	}
	for _, step := range []time.Duration{0, 17 * time.Second, 5 * time.Minute, 3 * time.Hour, 29 * time.Hour} {
		now := clk.Advance(step)
		for _, f := range ifs {
			for _, c := range columns {
				want, err := d.Counter(f.Index, c.name, now)
				if err != nil {
					t.Fatal(err)
				}
				if got := get(t, g, c.oid+itoa(f.Index)); got != want {
					t.Fatalf("%s.%d after %v: device answered %d, Counter says %d", c.name, f.Index, step, got, want)
				}
			}
		}
	}
	if _, err := d.Counter(9999, "ifInOctets", clk.Now()); err == nil {
		t.Error("Counter of a missing ifIndex did not fail")
	}
	if _, err := d.Counter(1, "ifDescr", clk.Now()); err == nil {
		t.Error("Counter of a non-counter column did not fail")
	}
}

func TestCounter32WrapsAndHCDoesNot(t *testing.T) {
	clk := newFakeClock()
	ifs := []Interface{
		{Index: 1, Name: "xe-0/0/0", SpeedBps: 1e10, AdminUp: true, InRate: 1e9, OutRate: 250e6},
		{Index: 2, Name: "xe-0/0/1", SpeedBps: 1e10, AdminUp: true, InRate: 1e9, NoHC: true},
	}
	_, addr := startDevice(t, Config{Community: "public", Interfaces: ifs, Clock: clk.Now})
	g := client(t, addr, gosnmp.Version2c, "public")
	clk.Advance(10 * time.Second) // 1e10 bytes in: more than 2^32
	tests := []struct {
		oid  string
		want uint64
	}{
		{".1.3.6.1.2.1.31.1.1.1.6.1", 10_000_000_000},
		{".1.3.6.1.2.1.2.2.1.10.1", 10_000_000_000 % (1 << 32)}, // 1410065408
		{".1.3.6.1.2.1.2.2.1.16.1", 2_500_000_000},              // not wrapped yet
		{".1.3.6.1.2.1.31.1.1.1.6.2", 0},                        // a port without HC counters
		{".1.3.6.1.2.1.2.2.1.10.2", 1410065408},
		{".1.3.6.1.2.1.31.1.1.1.7.1", 10_000_000_000 / 700}, // ucast packets = octets / 700
	}
	for _, tc := range tests {
		if got := get(t, g, tc.oid); got != tc.want {
			t.Errorf("%s = %d, want %d", tc.oid, got, tc.want)
		}
	}
}

func TestRates(t *testing.T) {
	clk := newFakeClock()
	ifs := []Interface{
		{Index: 1, Name: "const", AdminUp: true, InRate: 12345, OutRate: 100},
		{Index: 2, Name: "diurnal", AdminUp: true, InRate: 1e6, Diurnal: 0.5},
		{Index: 3, Name: "burst", AdminUp: true, InRate: 1000, BurstEvery: 15 * time.Minute, BurstLength: 30 * time.Second, BurstFactor: 4},
		{Index: 4, Name: "flap", AdminUp: true, InRate: 1000, FlapPeriod: time.Minute},
	}
	d, err := New(Config{Interfaces: ifs, Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := func(idx int, at time.Time) float64 {
		v, err := d.Counter(idx, "ifHCInOctets", at)
		if err != nil {
			t.Fatal(err)
		}
		return float64(v)
	}
	t0 := clk.Now() // 09:00:00 UTC, aligned to every period used here
	if got := c(1, t0.Add(time.Minute)) - c(1, t0); got != 60*12345 {
		t.Errorf("constant rate: %v bytes in a minute, want %v", got, 60*12345)
	}

	// Diurnal: the counter is the integral of 1e6·(1+0.5·sin(ω·t+φ)),
	// peak at 15:00 UTC. Compare with a numeric integration over an hour.
	omega := 2 * math.Pi / 86400
	rate := func(t time.Time) float64 {
		sod := float64(t.Hour()*3600 + t.Minute()*60 + t.Second())
		return 1e6 * (1 + 0.5*math.Sin(omega*sod+math.Pi/2-omega*15*3600))
	}
	from := t0.Add(2 * time.Hour)
	var numeric float64
	for s := 0; s < 3600; s++ {
		numeric += (rate(from.Add(time.Duration(s)*time.Second)) + rate(from.Add(time.Duration(s+1)*time.Second))) / 2
	}
	got := c(2, from.Add(time.Hour)) - c(2, from)
	if math.Abs(got-numeric) > 2 {
		t.Errorf("diurnal hour: counter delta %v, numeric integral %v", got, numeric)
	}
	peak := c(2, t0.Add(6*time.Hour+time.Minute)) - c(2, t0.Add(6*time.Hour))     // 15:00
	trough := c(2, t0.Add(18*time.Hour+time.Minute)) - c(2, t0.Add(18*time.Hour)) // 03:00
	if math.Abs(peak/60-1.5e6) > 100 || math.Abs(trough/60-0.5e6) > 100 {
		t.Errorf("diurnal: %v B/s at 15:00 and %v B/s at 03:00, want 1.5e6 and 0.5e6", peak/60, trough/60)
	}

	// Burst: the first 30 s of each quarter hour run at 4x.
	if got := c(3, t0.Add(30*time.Second)) - c(3, t0); got != 30*4000 {
		t.Errorf("burst window: %v bytes, want %v", got, 30*4000)
	}
	if got := c(3, t0.Add(15*time.Minute)) - c(3, t0); got != 900*1000+30*3000 {
		t.Errorf("burst quarter: %v bytes, want %v", got, 900*1000+30*3000)
	}

	// Flap: up for the first half of each minute, so half the traffic.
	if got := c(4, t0.Add(10*time.Minute)) - c(4, t0); got != 300*1000 {
		t.Errorf("flapping port: %v bytes in 10 minutes, want %v", got, 300*1000)
	}
}

func TestRestartAndRenumber(t *testing.T) {
	clk := newFakeClock()
	ifs := GenerateInterfaces(30, 5)
	d, addr := startDevice(t, Config{Community: "public", Interfaces: ifs, Clock: clk.Now, Seed: 5})
	g := client(t, addr, gosnmp.Version2c, "public")
	clk.Advance(time.Hour)
	if get(t, g, ".1.3.6.1.2.1.1.3.0") != 360000 {
		t.Fatalf("sysUpTime after an hour is not 360000 ticks")
	}
	if get(t, g, ".1.3.6.1.2.1.31.1.1.1.6.1") == 0 {
		t.Fatal("no traffic before the restart")
	}
	d.Restart(false)
	if up := get(t, g, ".1.3.6.1.2.1.1.3.0"); up != 0 {
		t.Errorf("sysUpTime right after restart = %d", up)
	}
	if b := get(t, g, ".1.3.6.1.6.3.10.2.1.2.0"); b != 2 {
		t.Errorf("snmpEngineBoots after one restart = %d, want 2", b)
	}
	if v := get(t, g, ".1.3.6.1.2.1.31.1.1.1.6.1"); v != 0 {
		t.Errorf("ifHCInOctets right after restart = %d", v)
	}
	clk.Advance(10 * time.Second)
	if got, want := get(t, g, ".1.3.6.1.2.1.31.1.1.1.6.1"), uint64(10*ifs[0].InRate); got != want {
		t.Errorf("ifHCInOctets 10 s after restart = %d, want %d", got, want)
	}
	if up := get(t, g, ".1.3.6.1.6.3.10.2.1.3.0"); up != 10 {
		t.Errorf("snmpEngineTime = %d, want 10", up)
	}

	before := ifNames(t, g)
	d.Restart(true)
	after := ifNames(t, g)
	if len(after) != len(before) {
		t.Fatalf("renumbering changed the interface count: %d -> %d", len(before), len(after))
	}
	moved := 0
	byName := map[string]int{}
	for idx, name := range after {
		byName[name] = idx
		if before[idx] != name {
			moved++
		}
		if _, ok := before[idx]; !ok {
			t.Errorf("renumbering invented ifIndex %d", idx)
		}
	}
	if moved == 0 {
		t.Fatal("Restart(true) did not renumber")
	}
	// Traffic follows the name, not the index.
	clk.Advance(time.Minute)
	for _, f := range ifs {
		idx := byName[f.Name]
		got, err := d.Counter(idx, "ifOutOctets", clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		ref := &ifState{cfg: f, admin: true, oper: OperUp, epoch: clk.Now().Add(-time.Minute)}
		if f.Oper == 0 || f.Oper == OperUp {
			if want := floorU(ref.octets(dirOut, clk.Now())) % (1 << 32); got != want {
				t.Errorf("%s (now ifIndex %d): ifOutOctets %d, want %d", f.Name, idx, got, want)
			}
		}
	}
}

func ifNames(t *testing.T, g *gosnmp.GoSNMP) map[int]string {
	t.Helper()
	out := map[int]string{}
	err := g.BulkWalk(".1.3.6.1.2.1.31.1.1.1.1", func(p gosnmp.SnmpPDU) error {
		o, _ := parseOID(p.Name)
		out[int(o[len(o)-1])] = string(p.Value.([]byte))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAdminOperFlapAndDiscontinuity(t *testing.T) {
	clk := newFakeClock()
	ifs := []Interface{
		{Index: 1, Name: "a", AdminUp: true, InRate: 100},
		{Index: 2, Name: "flap", AdminUp: true, InRate: 100, FlapPeriod: time.Minute},
	}
	d, addr := startDevice(t, Config{Community: "public", Interfaces: ifs, Clock: clk.Now})
	g := client(t, addr, gosnmp.Version2c, "public")
	clk.Advance(10 * time.Second)
	if !d.SetAdmin(1, false) {
		t.Fatal("SetAdmin(1) reported a missing interface")
	}
	if d.SetAdmin(99, false) || d.SetOper(1, 9) {
		t.Fatal("SetAdmin/SetOper accepted a bad index or status")
	}
	clk.Advance(10 * time.Second)
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.8.1"); v != OperDown {
		t.Errorf("admin-down port reports ifOperStatus %d", v)
	}
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.10.1"); v != 1000 {
		t.Errorf("admin-down port kept counting: %d, want 1000", v)
	}
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.9.1"); v != 1000 {
		t.Errorf("ifLastChange = %d, want 1000 (10 s after start)", v)
	}
	d.SetAdmin(1, true)
	d.SetOper(1, OperDormant)
	clk.Advance(5 * time.Second)
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.8.1"); v != OperDormant {
		t.Errorf("ifOperStatus = %d, want dormant", v)
	}
	d.SetOper(1, OperUp)
	clk.Advance(5 * time.Second)
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.10.1"); v != 1500 {
		t.Errorf("counter after coming back = %d, want 1500", v)
	}

	// The flapping port is down in the second half of each minute (now
	// 09:00:30) and ifLastChange is the last edge.
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.8.2"); v != OperDown {
		t.Errorf("flapping port at :30 is %d, want down", v)
	}
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.9.2"); v != 3000 {
		t.Errorf("flapping port ifLastChange = %d, want 3000", v)
	}
	clk.Advance(40 * time.Second)
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.8.2"); v != OperUp {
		t.Errorf("flapping port at 1:10 is %d, want up", v)
	}

	// A line-card reset zeroes one port and stamps ifCounterDiscontinuityTime.
	if !d.ResetCounters(1) {
		t.Fatal("ResetCounters(1) failed")
	}
	if v := get(t, g, ".1.3.6.1.2.1.31.1.1.1.19.1"); v != 7000 {
		t.Errorf("ifCounterDiscontinuityTime = %d, want 7000", v)
	}
	if v := get(t, g, ".1.3.6.1.2.1.31.1.1.1.19.2"); v != 0 {
		t.Errorf("untouched port ifCounterDiscontinuityTime = %d, want 0", v)
	}
	if v := get(t, g, ".1.3.6.1.2.1.2.2.1.10.1"); v != 0 {
		t.Errorf("counter after reset = %d", v)
	}
}

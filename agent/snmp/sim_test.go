package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// fakeClock is the one clock the simulated device and the poller share,
// so counters are predictable exactly: the device evaluates them at the
// clock's time, and samples carry the same time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type simBed struct {
	dev   *snmpsim.Device
	clock *fakeClock
	addr  *net.UDPAddr
	stop  context.CancelFunc
}

func startSim(t testing.TB, cfg snmpsim.Config) *simBed {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Clock = clk.Now
	if cfg.Community == "" {
		cfg.Community = "sim-community"
	}
	dev, err := snmpsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := dev.ListenAndServe(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	// Let the device run for a minute so counters have moved before discovery.
	clk.Advance(time.Minute)
	return &simBed{dev: dev, clock: clk, addr: addr.(*net.UDPAddr), stop: cancel}
}

func (b *simBed) target(t testing.TB, mutate func(*config.SNMPTarget)) *Target {
	t.Helper()
	tc := config.SNMPTarget{Name: "sim", Address: "127.0.0.1", SNMPSettings: config.SNMPSettings{
		Port: b.addr.Port, Version: "2c", Community: secret.New("sim-community"),
		Timeout: configfile.Duration(2 * time.Second), Retries: intp(1),
	}}
	if mutate != nil {
		mutate(&tc)
	}
	tg, err := New(tc, Options{Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	return tg
}

// pollOnce polls and returns the report; it fails the test on error.
func pollOnce(t testing.TB, tg *Target) poll.Report {
	t.Helper()
	var rep poll.Report
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tg.Poll(ctx, poll.SinkFunc(func(r poll.Report) { rep = r })); err != nil {
		t.Fatal(err)
	}
	return rep
}

func pointMap(rep poll.Report) map[string]sample.Point {
	m := make(map[string]sample.Point, len(rep.Points))
	for _, p := range rep.Points {
		m[p.Key.Attr+"/"+p.Key.DS] = p
	}
	return m
}

func statusMap(rep poll.Report) map[string]wire.AttrStatus {
	m := make(map[string]wire.AttrStatus, len(rep.Statuses))
	for _, s := range rep.Statuses {
		m[s.Attr] = s
	}
	return m
}

// truthColumns names the device column of each DS for an HC and a 32-bit interface.
var truthColumns = map[string][2]string{
	"in_octets": {"ifHCInOctets", "ifInOctets"}, "out_octets": {"ifHCOutOctets", "ifOutOctets"},
	"in_ucast": {"ifHCInUcastPkts", "ifInUcastPkts"}, "out_ucast": {"ifHCOutUcastPkts", "ifOutUcastPkts"},
	"in_mcast": {"ifHCInMulticastPkts", "ifInMulticastPkts"}, "out_mcast": {"ifHCOutMulticastPkts", "ifOutMulticastPkts"},
	"in_bcast": {"ifHCInBroadcastPkts", "ifInBroadcastPkts"}, "out_bcast": {"ifHCOutBroadcastPkts", "ifOutBroadcastPkts"},
	"in_errors": {"ifInErrors", "ifInErrors"}, "out_errors": {"ifOutErrors", "ifOutErrors"},
	"in_discards": {"ifInDiscards", "ifInDiscards"}, "out_discards": {"ifOutDiscards", "ifOutDiscards"},
}

// checkAgainstTruth compares every interface sample with the device's own
// counter at the sample time, by interface name (so a renumbered device
// must still give each name its own counters).
func checkAgainstTruth(t *testing.T, b *simBed, rep poll.Report, wantReset func(name string) bool) {
	t.Helper()
	pts := pointMap(rep)
	n := 0
	for _, f := range b.dev.Interfaces() {
		for ds, cols := range truthColumns {
			p, ok := pts["if:"+f.Name+"/"+ds]
			if !ok {
				t.Fatalf("no sample if:%s/%s", f.Name, ds)
			}
			col, kind := cols[0], sample.Counter64
			if f.NoHC && !strings.HasSuffix(ds, "errors") && !strings.HasSuffix(ds, "discards") {
				col, kind = cols[1], sample.Counter32
			}
			if cols[0] == cols[1] {
				kind = sample.Counter32
			}
			if kind == sample.Counter32 && p.Kind == sample.Counter64 && cols[0] != cols[1] {
				// A NoHC port whose 32-bit counters are 0 too cannot be told
				// apart from an idle HC port: both widths read 0.
				in32, _ := b.dev.Counter(f.Index, "ifInOctets", p.Time)
				out32, _ := b.dev.Counter(f.Index, "ifOutOctets", p.Time)
				if in32 == 0 && out32 == 0 {
					col, kind = cols[0], sample.Counter64
				}
			}
			want, err := b.dev.Counter(f.Index, col, p.Time)
			if err != nil {
				t.Fatal(err)
			}
			if p.Uint != want || p.Kind != kind {
				t.Fatalf("if:%s/%s = %d (%v), device has %s.%d = %d (%v)", f.Name, ds, p.Uint, p.Kind, col, f.Index, want, kind)
			}
			if p.Reset != wantReset(f.Name) {
				t.Fatalf("if:%s/%s Reset = %v, want %v", f.Name, ds, p.Reset, wantReset(f.Name))
			}
			n++
		}
	}
	if n != len(b.dev.Interfaces())*numCounters {
		t.Fatalf("checked %d samples", n)
	}
}

func never(string) bool  { return false }
func always(string) bool { return true }

func TestSim1000InterfacesRestartRenumber(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(1000, 7), Seed: 7})
	tg := b.target(t, func(tc *config.SNMPTarget) { tc.HostResources = true })

	rep := pollOnce(t, tg)
	if rep.Inventory == nil {
		t.Fatal("first poll has no inventory")
	}
	ifAttrs := 0
	for _, a := range rep.Inventory.Attrs {
		if a.Kind == wire.KindInterface {
			ifAttrs++
			if len(a.DS) != numCounters || a.Props["ifIndex"] == "" || a.Interval != 60 {
				t.Fatalf("attribute %+v", a)
			}
		}
	}
	if ifAttrs != 1000 || len(tg.Device().Interfaces) != 1000 {
		t.Fatalf("discovered %d interfaces, %d attributes; want 1000", len(tg.Device().Interfaces), ifAttrs)
	}
	checkAgainstTruth(t, b, rep, never)

	// Steady state: every counter, status and discontinuity time of 1,000
	// interfaces in few requests (MaxMsgSize 1472 caps a response at ~45 varbinds).
	b.clock.Advance(time.Minute)
	rep = pollOnce(t, tg)
	if rep.Inventory != nil {
		t.Error("inventory on a steady-state poll")
	}
	checkAgainstTruth(t, b, rep, never)
	reqs := tg.Requests()
	t.Logf("steady-state poll of 1000 interfaces: %d requests (max-repetitions %d)", reqs, tg.MaxRepetitions())
	if reqs > 450 {
		t.Errorf("%d requests for 1000 interfaces x 15 columns; packing is broken", reqs)
	}

	// Restart in the middle of an interval, with ifIndex renumbering:
	// exactly the next sample of every series is flagged, and each name
	// keeps its own counters.
	before := map[string]int{}
	for _, f := range b.dev.Interfaces() {
		before[f.Name] = f.Index
	}
	b.clock.Advance(30 * time.Second)
	b.dev.Restart(true)
	moved := 0
	for _, f := range b.dev.Interfaces() {
		if before[f.Name] != f.Index {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("simulator did not renumber")
	}
	b.clock.Advance(30 * time.Second)
	rep = pollOnce(t, tg)
	if rep.Inventory == nil {
		t.Error("restart did not trigger a rediscovery")
	}
	checkAgainstTruth(t, b, rep, always)
	pts := pointMap(rep)
	for _, k := range []string{"storage:Physical memory/used", "storage://size", "cpu:196608/load"} {
		if _, ok := pts[k]; !ok {
			t.Errorf("no %s after the restart", k)
		}
	}
	for _, p := range rep.Points {
		if strings.HasPrefix(p.Key.Attr, "if:") && !p.Reset {
			t.Fatalf("%s not flagged after restart", p.Key)
		}
	}
	b.clock.Advance(time.Minute)
	rep = pollOnce(t, tg)
	checkAgainstTruth(t, b, rep, never)
	// The keys are still the names, bound to the renumbered ifIndex.
	for _, s := range tg.ifs {
		if s.Identity != s.Name {
			t.Fatalf("identity %q for ifName %q", s.Identity, s.Name)
		}
	}
}

func TestSimStatusesMapped(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(40, 3)})
	tg := b.target(t, nil)
	pollOnce(t, tg)
	ifs := b.dev.Interfaces()
	cases := []struct {
		set    func(idx int)
		want   status.Status
		reason string
	}{
		{func(i int) { b.dev.SetAdmin(i, false) }, status.AdminDown, "ifAdminStatus down"},
		{func(i int) { b.dev.SetOper(i, snmpsim.OperDown) }, status.Down, "ifOperStatus down"},
		{func(i int) { b.dev.SetOper(i, snmpsim.OperLowerLayerDown) }, status.Down, "ifOperStatus lowerLayerDown"},
		{func(i int) { b.dev.SetOper(i, snmpsim.OperNotPresent) }, status.Down, "ifOperStatus notPresent"},
		{func(i int) { b.dev.SetOper(i, snmpsim.OperTesting) }, status.Testing, "ifOperStatus testing"},
		{func(i int) { b.dev.SetOper(i, snmpsim.OperDormant) }, status.Unknown, "ifOperStatus dormant"},
		{func(i int) { b.dev.SetOper(i, snmpsim.OperUnknown) }, status.Unknown, "ifOperStatus unknown"},
		{func(i int) { b.dev.SetOper(i, snmpsim.OperUp) }, status.Up, "ifOperStatus up"},
	}
	for i, c := range cases {
		c.set(ifs[i+2].Index)
	}
	b.clock.Advance(time.Minute)
	sts := statusMap(pollOnce(t, tg))
	for i, c := range cases {
		got := sts["if:"+ifs[i+2].Name]
		if got.Status != c.want || got.Reason != c.reason {
			t.Errorf("%s: status %v %q, want %v %q", ifs[i+2].Name, got.Status, got.Reason, c.want, c.reason)
		}
	}
	if sts["host"].Status != status.Up {
		t.Errorf("host %v", sts["host"])
	}
}

func TestSimCounter32WrapNotFlagged(t *testing.T) {
	ifs := []snmpsim.Interface{
		{Index: 1, Name: "fast32", SpeedBps: 1e9, AdminUp: true, InRate: 1e8, OutRate: 9e7, NoHC: true},
		{Index: 2, Name: "fast64", SpeedBps: 1e10, AdminUp: true, InRate: 1e9, OutRate: 9e8},
	}
	b := startSim(t, snmpsim.Config{Interfaces: ifs})
	tg := b.target(t, nil)
	first := pointMap(pollOnce(t, tg))
	if tg.Device().Interfaces[0].HC || !tg.Device().Interfaces[1].HC {
		t.Fatalf("HC decision: fast32 %v fast64 %v", tg.Device().Interfaces[0].HC, tg.Device().Interfaces[1].HC)
	}
	b.clock.Advance(30 * time.Second) // 3e9 bytes: 1.7e9 + 3e9 passes 2^32
	rep := pollOnce(t, tg)
	second := pointMap(rep)
	p1, p2 := first["if:fast32/in_octets"], second["if:fast32/in_octets"]
	if p1.Kind != sample.Counter32 || p2.Uint >= p1.Uint {
		t.Fatalf("no 32-bit wrap to test: %d then %d (%v)", p1.Uint, p2.Uint, p1.Kind)
	}
	if p2.Reset {
		t.Error("a Counter32 wrap was flagged as a discontinuity")
	}
	if got := (p2.Uint - p1.Uint) & 0xffffffff; got != 6e9-(1<<32) && got != uint64(6e9)%(1<<32) {
		t.Logf("wrapped delta %d", got)
	}
	checkAgainstTruth(t, b, rep, never)
}

func TestSimCounterDiscontinuityTime(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(30, 5)})
	tg := b.target(t, nil)
	pollOnce(t, tg)
	victim := b.dev.Interfaces()[5]
	b.clock.Advance(20 * time.Second)
	b.dev.ResetCounters(victim.Index)
	b.clock.Advance(40 * time.Second)
	rep := pollOnce(t, tg)
	checkAgainstTruth(t, b, rep, func(name string) bool { return name == victim.Name })
	b.clock.Advance(time.Minute)
	checkAgainstTruth(t, b, pollOnce(t, tg), never)
}

func TestSimUptimeWrapIsNotARestart(t *testing.T) {
	// Started 497 days minus 20 s ago: sysUpTime wraps between two polls.
	clkStart := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// (startSim lets the device run one minute before the first poll.)
	start := clkStart.Add(time.Minute).Add(-(time.Duration(1<<32)*10*time.Millisecond - 20*time.Second))
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(4, 1), Start: start})
	tg := b.target(t, nil)
	pollOnce(t, tg)
	up1 := b.dev.Uptime(b.clock.Now())
	b.clock.Advance(time.Minute)
	rep := pollOnce(t, tg)
	if up2 := b.dev.Uptime(b.clock.Now()); up2 >= up1 {
		t.Fatalf("sysUpTime did not wrap: %d then %d", up1, up2)
	}
	checkAgainstTruth(t, b, rep, never)
	if rep.Inventory != nil {
		t.Error("an uptime wrap triggered a rediscovery as if the device restarted")
	}
}

func TestIsUptimeWrap(t *testing.T) {
	const max = 1<<32 - 1
	cases := []struct {
		prev, cur uint32
		elapsed   time.Duration
		want      bool
	}{
		{max - 1000, 5000, time.Minute, true},      // wrapped 60 s worth
		{max - 1000, 5000, 10 * time.Second, true}, // within slack
		{max - 1000, 500000, time.Minute, false},   // 5000 s forward in 60 s: restart
		{300000, 100, time.Minute, false},          // plain restart
		{max - 100, 0, 0, true},                    // wrap right at the edge
		{2000000000, 1000000000, time.Hour, false}, // halfway back: restart
	}
	for _, c := range cases {
		if got := isUptimeWrap(c.prev, c.cur, c.elapsed); got != c.want {
			t.Errorf("isUptimeWrap(%d, %d, %v) = %v, want %v", c.prev, c.cur, c.elapsed, got, c.want)
		}
	}
}

func TestSimGetPathAndV1TooBig(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(200, 9), MaxMsgSize: 484})
	for _, version := range []string{"2c", "1"} {
		t.Run("v"+version, func(t *testing.T) {
			tg := b.target(t, func(tc *config.SNMPTarget) {
				tc.Version = version
				tc.Interfaces.Include = []string{"ge-0/0/1*", "xe-0/0/1*"}
			})
			pollOnce(t, tg)
			b.clock.Advance(time.Minute)
			rep := pollOnce(t, tg)
			pts := pointMap(rep)
			selected := 0
			for _, f := range b.dev.Interfaces() {
				_, ok := pts["if:"+f.Name+"/in_octets"]
				match := strings.HasPrefix(f.Name, "ge-0/0/1") || strings.HasPrefix(f.Name, "xe-0/0/1")
				if ok != match {
					t.Fatalf("%s sampled=%v, selected by filter=%v", f.Name, ok, match)
				}
				if !ok {
					continue
				}
				selected++
				col, kind := "ifHCInOctets", sample.Counter64
				if f.NoHC || version == "1" {
					col, kind = "ifInOctets", sample.Counter32
				}
				want, _ := b.dev.Counter(f.Index, col, pts["if:"+f.Name+"/in_octets"].Time)
				if p := pts["if:"+f.Name+"/in_octets"]; p.Uint != want || p.Kind != kind {
					t.Fatalf("%s in_octets %d %v, want %d %v", f.Name, p.Uint, p.Kind, want, kind)
				}
			}
			if selected == 0 {
				t.Fatal("filter selected nothing")
			}
			t.Logf("v%s: %d interfaces by Get in %d requests", version, selected, tg.Requests())
			// 15 OIDs per interface, 60 per Get: without tooBig splits it
			// would take 1 + ceil(15n/60) requests; 484-byte answers force splits.
			if unsplit := 1 + (15*selected+59)/60; tg.Requests() <= unsplit {
				t.Errorf("%d requests: the 484-byte device never answered tooBig (unsplit %d)", tg.Requests(), unsplit)
			}
		})
	}
}

func TestSimV3Protocols(t *testing.T) {
	users := []snmpsim.User{
		{Name: "md5des", AuthProto: "MD5", AuthPass: "auth-pass-1", PrivProto: "DES", PrivPass: "priv-pass-1"},
		{Name: "sha256aes256", AuthProto: "SHA-256", AuthPass: "auth-pass-2", PrivProto: "AES-256", PrivPass: "priv-pass-2"},
		{Name: "sha512aes256c", AuthProto: "SHA-512", AuthPass: "auth-pass-3", PrivProto: "AES-256-C", PrivPass: "priv-pass-3"},
		{Name: "sha224aes192c", AuthProto: "SHA-224", AuthPass: "auth-pass-4", PrivProto: "AES-192-C", PrivPass: "priv-pass-4"},
		{Name: "sha384aes192", AuthProto: "SHA384", AuthPass: "auth-pass-5", PrivProto: "AES192", PrivPass: "priv-pass-5"},
		{Name: "authonly", AuthProto: "SHA", AuthPass: "auth-pass-6"},
		{Name: "shaaes", AuthProto: "SHA", AuthPass: "auth-pass-7", PrivProto: "AES", PrivPass: "priv-pass-7"},
		{Name: "noauth"},
	}
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(6, 2), Users: users})
	v2 := b.target(t, nil)
	pollOnce(t, v2)
	pollOnce(t, v2)
	steady := v2.Requests()
	for _, u := range users {
		t.Run(u.Name, func(t *testing.T) {
			tg := b.target(t, func(tc *config.SNMPTarget) {
				tc.Version = "3"
				tc.V3 = &config.SNMPv3{User: u.Name, AuthProtocol: strings.ToLower(u.AuthProto), AuthPassphrase: secret.New(u.AuthPass),
					PrivProtocol: u.PrivProto, PrivPassphrase: secret.New(u.PrivPass)}
			})
			rep := pollOnce(t, tg)
			if len(tg.Device().Interfaces) != 6 {
				t.Fatalf("%d interfaces", len(tg.Device().Interfaces))
			}
			checkAgainstTruth(t, b, rep, never)
			// The socket is closed between polls, but the engine ID, boots
			// and time learnt stay with the target: no rediscovery request.
			if tg.sess.g != nil {
				t.Error("the target holds a socket between polls")
			}
			rep = pollOnce(t, tg)
			checkAgainstTruth(t, b, rep, never)
			if tg.Requests() != steady {
				t.Errorf("second v3 poll sent %d requests, v2c sends %d: engine discovery repeated?", tg.Requests(), steady)
			}
		})
	}
	t.Run("unsupported security level", func(t *testing.T) {
		tg := b.target(t, func(tc *config.SNMPTarget) {
			tc.Version, tc.Timeout, tc.Retries = "3", configfile.Duration(time.Second), intp(0)
			tc.V3 = &config.SNMPv3{User: "authonly", AuthProtocol: "SHA", AuthPassphrase: secret.New("auth-pass-6"),
				PrivProtocol: "AES", PrivPassphrase: secret.New("some-priv-pass")}
		})
		err := tg.Poll(context.Background(), poll.SinkFunc(func(poll.Report) {}))
		if !errors.Is(err, ErrSecurityLevel) || !strings.Contains(fmt.Sprint(err), `unsupported security level authPriv for user "authonly"`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("wrong priv passphrase", func(t *testing.T) {
		tg := b.target(t, func(tc *config.SNMPTarget) {
			tc.Version, tc.Timeout, tc.Retries = "3", configfile.Duration(300*time.Millisecond), intp(0)
			tc.V3 = &config.SNMPv3{User: "sha256aes256", AuthProtocol: "SHA-256", AuthPassphrase: secret.New("auth-pass-2"),
				PrivProtocol: "AES-256", PrivPassphrase: secret.New("not-priv-pass")}
		})
		err := tg.Poll(context.Background(), poll.SinkFunc(func(poll.Report) {}))
		if err == nil || !strings.Contains(err.Error(), `wrong privacy passphrase for user "sha256aes256"`) || strings.Contains(err.Error(), "not-priv-pass") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestSimUnreachableReportsDown(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(5, 1)})
	tg := b.target(t, func(tc *config.SNMPTarget) {
		tc.Timeout, tc.Retries = configfile.Duration(200*time.Millisecond), intp(0)
	})
	pollOnce(t, tg)
	b.stop()
	var rep poll.Report
	err := tg.Poll(context.Background(), poll.SinkFunc(func(r poll.Report) { rep = r }))
	if err == nil {
		t.Fatal("poll of a stopped device succeeded")
	}
	sts := statusMap(rep)
	if sts["host"].Status != status.Down {
		t.Errorf("host %v", sts["host"])
	}
	for _, f := range b.dev.Interfaces() {
		if s := sts["if:"+f.Name]; s.Status != status.Unknown {
			t.Errorf("if:%s %v", f.Name, s)
		}
	}
	if p := pointMap(rep)["host/reachable"]; p.Float != 0 || p.Key.Host != "sim" {
		t.Errorf("reachable %v", p)
	}
	if !strings.Contains(fmt.Sprint(err), "no response from 127.0.0.1:") {
		t.Errorf("error %v", err)
	}
}

func TestSimRediscoversOnInterval(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(8, 1)})
	tg := b.target(t, func(tc *config.SNMPTarget) { tc.Rediscover = configfile.Duration(5 * time.Minute) })
	var inventories []bool
	for i := 0; i < 7; i++ {
		inventories = append(inventories, pollOnce(t, tg).Inventory != nil)
		b.clock.Advance(time.Minute)
	}
	// Polls at 0..6 min; discovery at 0 and again once 5 min have passed.
	want := []bool{true, false, false, false, false, true, false}
	if fmt.Sprint(inventories) != fmt.Sprint(want) {
		t.Fatalf("inventory per poll %v, want %v", inventories, want)
	}
}

func TestSimCancelledPollReportsNothing(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(4, 1)})
	tg := b.target(t, nil)
	pollOnce(t, tg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	reported := false
	if err := tg.Poll(ctx, poll.SinkFunc(func(poll.Report) { reported = true })); err == nil {
		t.Fatal("poll with a cancelled context succeeded")
	}
	if reported {
		t.Error("a poll cancelled by shutdown reported the device")
	}
	// A poll deadline is the device's fault: reported as Down.
	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	var rep poll.Report
	if err := tg.Poll(dctx, poll.SinkFunc(func(r poll.Report) { rep = r })); err == nil {
		t.Fatal("poll past its deadline succeeded")
	}
	if s := statusMap(rep)["host"]; s.Status != status.Down {
		t.Errorf("host after a poll deadline: %+v", s)
	}
}

func TestSimPackingWithLargeMessages(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(1000, 11), MaxMsgSize: 65507})
	tg := b.target(t, nil)
	pollOnce(t, tg)
	b.clock.Advance(time.Minute)
	checkAgainstTruth(t, b, pollOnce(t, tg), never)
	// 1 Get of scalars + ceil(1000 rows / 25 repetitions) GetBulks of all
	// 15 columns, + at most a couple for the columns' ends.
	if n := tg.Requests(); n > 1+40+3 {
		t.Errorf("%d requests for 1000 interfaces with 64 KB messages, want <= 44", n)
	}
}

func TestSimHCStuckAtZeroSwitchesTo32Bit(t *testing.T) {
	ifs := []snmpsim.Interface{
		{Index: 1, Name: "nohc", SpeedBps: 1e9, AdminUp: true, InRate: 1e6, OutRate: 1e6, NoHC: true},
		{Index: 2, Name: "hc", SpeedBps: 1e9, AdminUp: true, InRate: 1e6, OutRate: 1e6},
	}
	// The device starts exactly when it is first discovered: every counter
	// is still 0, so discovery cannot tell that "nohc" lacks HC counters.
	clkStart := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := startSim(t, snmpsim.Config{Interfaces: ifs, Start: clkStart.Add(time.Minute)})
	tg := b.target(t, nil)
	pollOnce(t, tg)
	if !tg.Device().Interfaces[0].HC {
		t.Fatal("test premise: at uptime 0 the port looks HC")
	}
	b.clock.Advance(time.Minute)
	pts := pointMap(pollOnce(t, tg))
	if _, ok := pts["if:nohc/in_octets"]; ok {
		t.Error("counters reported for a port whose HC counters are stuck at 0")
	}
	if _, ok := pts["if:hc/in_octets"]; !ok {
		t.Error("the healthy port lost its counters")
	}
	b.clock.Advance(time.Minute)
	rep := pollOnce(t, tg)
	if rep.Inventory == nil {
		t.Fatal("no rediscovery after the HC check")
	}
	for _, a := range rep.Inventory.Attrs {
		if a.Key == "if:nohc" && (a.Props["counter"] != "32" || a.DS[0].Kind != sample.Counter32) {
			t.Errorf("nohc attribute after rediscovery: %+v", a)
		}
	}
	checkAgainstTruth(t, b, rep, func(name string) bool { return name == "nohc" })
	b.clock.Advance(time.Minute)
	checkAgainstTruth(t, b, pollOnce(t, tg), never)
}

// TestSimNeverAnsweredDescribesTheHostOnce: a device down from the start is
// reported with a host-only inventory (not Complete) on its first failed
// poll, so the collector archives its reachability with the target's
// interval as step; later failed polls do not repeat it.
func TestSimNeverAnsweredDescribesTheHostOnce(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(2, 1)})
	tg := b.target(t, func(tc *config.SNMPTarget) {
		tc.Timeout, tc.Retries = configfile.Duration(100*time.Millisecond), intp(0)
		tc.Interval = configfile.Duration(30 * time.Second)
	})
	b.stop()
	var reps []poll.Report
	for i := 0; i < 2; i++ {
		tg.Poll(context.Background(), poll.SinkFunc(func(r poll.Report) { reps = append(reps, r) }))
	}
	inv := reps[0].Inventory
	if inv == nil || inv.Complete || len(inv.Attrs) != 1 || inv.Attrs[0].Key != "host" || inv.Attrs[0].Interval != 30 {
		t.Fatalf("first failed poll inventory %+v, want the host attribute only, interval 30, not complete", inv)
	}
	if names := []string{inv.Attrs[0].DS[0].Name, inv.Attrs[0].DS[1].Name}; names[0] != "rtt" || names[1] != "reachable" {
		t.Errorf("host data sources %v", names)
	}
	if reps[1].Inventory != nil {
		t.Errorf("second failed poll repeated the inventory")
	}
}

package site

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func startSite(t *testing.T, spec Spec) (*Site, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)}
	s, err := Start(context.Background(), spec, Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, clk
}

func snmpClient(t *testing.T, tg Target, version gosnmp.SnmpVersion, community string, usm *gosnmp.UsmSecurityParameters) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: tg.Addr.IP.String(), Port: uint16(tg.Addr.Port), Version: version, Community: community,
		Timeout: 500 * time.Millisecond, Retries: 1, MaxRepetitions: 50}
	if usm != nil {
		g.SecurityModel, g.MsgFlags, g.SecurityParameters = gosnmp.UserSecurityModel, gosnmp.AuthPriv, usm
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

func TestParseSpec(t *testing.T) {
	s, err := LoadSpec("testdata/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Devices) != 2 || len(s.NTP) != 1 {
		t.Fatalf("parsed %d devices and %d NTP servers", len(s.Devices), len(s.NTP))
	}
	d := s.Devices[0]
	if d.FlapPeriod != 2*time.Minute || d.RestartEvery != time.Hour || !d.Renumber || d.AdminDown[0] != "ge-0/0/1" {
		t.Errorf("edge-1 parsed as %+v", d)
	}
	if s.Devices[1].V3 == nil || s.Devices[1].V3.PrivProto != "AES" || s.NTP[0].Offset != 2*time.Millisecond {
		t.Errorf("secure-1 / time-1 parsed as %+v / %+v", s.Devices[1], s.NTP[0])
	}
	for _, bad := range []struct{ yaml, want string }{
		{"devices:\n  - name: a\n    interfacs: 3\n", "interfacs"},
		{"devices:\n  - name: a\n  - name: a\n", "duplicate name"},
		{"devices:\n  - interfaces: 3\n", "name is required"},
		{"devices:\n  - name: a\n    community: \"-\"\n", "neither a community nor a v3 user"},
		{"ntp:\n  - name: t\n    port: 70000\n", "out of range"},
		{"devices:\n  - name: a\n    restart_every: 10ms\n", "too short"},
	} {
		_, err := ParseSpec("bad.yaml", []byte(bad.yaml))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("spec %q: error %v, want %q", bad.yaml, err, bad.want)
		}
	}
}

func TestDefaultSiteAnswers(t *testing.T) {
	s, clk := startSite(t, DefaultSpec())
	targets := s.Targets()
	if len(targets) != 9 {
		t.Fatalf("%d targets, want 7 devices + 2 NTP servers", len(targets))
	}
	for _, tg := range targets {
		if tg.Kind != "snmp" || tg.Name == "fw-1" {
			continue
		}
		g := snmpClient(t, tg, gosnmp.Version2c, "public", nil)
		r, err := g.Get([]string{".1.3.6.1.2.1.1.5.0"})
		if err != nil {
			t.Fatalf("%s: %v", tg.Name, err)
		}
		if got := string(r.Variables[0].Value.([]byte)); got != tg.Name {
			t.Errorf("%s answers sysName %q", tg.Name, got)
		}
	}

	// fw-1 speaks only v3.
	fw := targets[6]
	if fw.Name != "fw-1" {
		t.Fatalf("target 6 is %s", fw.Name)
	}
	if _, err := snmpClient(t, fw, gosnmp.Version2c, "public", nil).Get([]string{".1.3.6.1.2.1.1.5.0"}); err == nil {
		t.Error("fw-1 answered v2c")
	}
	usm := &gosnmp.UsmSecurityParameters{UserName: "outpost", AuthenticationProtocol: gosnmp.SHA256, AuthenticationPassphrase: "demo-auth-pass",
		PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "demo-priv-pass"}
	if _, err := snmpClient(t, fw, gosnmp.Version3, "", usm).Get([]string{".1.3.6.1.2.1.1.5.0"}); err != nil {
		t.Errorf("fw-1 v3: %v", err)
	}

	// core-1: ge-0/0/5 admin-down, ge-0/0/6 flapping with a 10 minute period.
	core := snmpClient(t, targets[0], gosnmp.Version2c, "public", nil)
	idx := ifIndexByName(t, core)
	status := func(name string) (admin, oper int) {
		r, err := core.Get([]string{".1.3.6.1.2.1.2.2.1.7." + itoa(idx[name]), ".1.3.6.1.2.1.2.2.1.8." + itoa(idx[name])})
		if err != nil {
			t.Fatal(err)
		}
		return r.Variables[0].Value.(int), r.Variables[1].Value.(int)
	}
	if a, o := status("ge-0/0/5"); a != 2 || o != 2 {
		t.Errorf("ge-0/0/5 admin %d oper %d, want down/down", a, o)
	}
	clk.Set(time.Date(2026, 11, 26, 8, 1, 0, 0, time.UTC))
	if a, o := status("ge-0/0/6"); a != 1 || o != 1 {
		t.Errorf("ge-0/0/6 at :01 admin %d oper %d, want up/up", a, o)
	}
	clk.Set(time.Date(2026, 11, 26, 8, 6, 0, 0, time.UTC))
	if _, o := status("ge-0/0/6"); o != 2 {
		t.Errorf("ge-0/0/6 at :06 oper %d, want down (flapping)", o)
	}

	// NTP: the agent's own mode 6 client reads the simulated servers.
	for _, tg := range targets[7:] {
		sess, err := ntp.Client{Addr: tg.Addr.String(), Timeout: time.Second}.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		snap, err := ntp.Fetch(context.Background(), sess, clk.Now)
		sess.Close()
		if err != nil {
			t.Fatalf("%s: %v", tg.Name, err)
		}
		synced, why := snap.Synced()
		if want := tg.Name == "ntp-1"; synced != want {
			t.Errorf("%s synced=%v (%s), want %v", tg.Name, synced, why, want)
		}
		if wantPeers := map[string]int{"ntp-1": 4, "ntp-2": 3}[tg.Name]; len(snap.Peers) != wantPeers {
			t.Errorf("%s: %d peers, want %d", tg.Name, len(snap.Peers), wantPeers)
		}
	}
}

func TestScheduledRestarts(t *testing.T) {
	spec := Spec{Devices: []Device{{Name: "r", Interfaces: 10, RestartEvery: time.Hour, Renumber: true}, {Name: "steady", Interfaces: 3}}}
	s, clk := startSite(t, spec)
	start := clk.Now()
	d := s.Device("r")
	before := names(d.Interfaces())
	for _, step := range []struct {
		at   time.Duration
		want string
	}{
		{30 * time.Minute, ""},
		{time.Hour - time.Second, ""},
		{time.Hour, "r"},
		{time.Hour + 5*time.Minute, ""},
		{3*time.Hour + time.Second, "r"}, // two periods passed: one restart, as a device that was down
	} {
		clk.Set(start.Add(step.at))
		got := strings.Join(s.Step(clk.Now()), ",")
		if got != step.want {
			t.Errorf("Step at +%v restarted %q, want %q", step.at, got, step.want)
		}
	}
	if b := d.Boots(); b != 3 {
		t.Errorf("boots after two restarts = %d, want 3", b)
	}
	if up := d.Uptime(start.Add(3*time.Hour + 2*time.Second)); up != 100 {
		t.Errorf("uptime 1 s after the last restart = %d ticks", up)
	}
	after := names(d.Interfaces())
	if before == after {
		t.Error("renumbering restarts left every ifIndex in place")
	}
	if s.Device("steady").Boots() != 1 {
		t.Error("a device without a schedule restarted")
	}
}

func TestAgentConfigValidates(t *testing.T) {
	spec, err := LoadSpec("testdata/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startSite(t, spec)
	var b bytes.Buffer
	b.WriteString("name: sim-agent\ncollector:\n  address: 127.0.0.1:4443\n")
	if err := s.WriteAgentConfig(&b); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse("site-agent.yaml", b.Bytes())
	if err != nil {
		t.Fatalf("agent/config rejects the snippet: %v\n%s", err, b.String())
	}
	tg := s.Targets()
	if len(c.SNMP) != 2 || len(c.NTP) != 1 {
		t.Fatalf("config has %d snmp and %d ntp targets", len(c.SNMP), len(c.NTP))
	}
	for i, st := range c.SNMP {
		if st.Name != tg[i].Name || st.Port != tg[i].Addr.Port || st.Address != "127.0.0.1" {
			t.Errorf("snmp[%d] = %s %s:%d, want %s %s", i, st.Name, st.Address, st.Port, tg[i].Name, tg[i].Addr)
		}
	}
	v3 := c.SNMP[1].V3
	if c.SNMP[1].Version != "3" || v3 == nil || v3.User != "ops" || v3.AuthPassphrase.Reveal() != "ops-auth-pass" || v3.Level != "authPriv" {
		t.Errorf("secure-1 config: version %q v3 %+v", c.SNMP[1].Version, v3)
	}
	if c.NTP[0].Port != tg[2].Addr.Port {
		t.Errorf("ntp port %d, want %d", c.NTP[0].Port, tg[2].Addr.Port)
	}
}

func TestStartFailsCleanly(t *testing.T) {
	_, err := Start(context.Background(), Spec{Devices: []Device{{Name: "a", Interfaces: 5, Flap: []string{"ge-9/9/9"}}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `flap: no interface "ge-9/9/9"`) {
		t.Errorf("Start with an unknown flap port: %v", err)
	}
	s, _ := startSite(t, Spec{Devices: []Device{{Name: "a"}}})
	taken := s.Targets()[0].Addr.Port
	_, err = Start(context.Background(), Spec{Devices: []Device{{Name: "b"}, {Name: "c", Port: taken}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "device c") {
		t.Fatalf("Start on a taken port: %v", err)
	}
}

func ifIndexByName(t *testing.T, g *gosnmp.GoSNMP) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := g.BulkWalk(".1.3.6.1.2.1.31.1.1.1.1", func(p gosnmp.SnmpPDU) error {
		parts := strings.Split(p.Name, ".")
		var idx int
		for _, c := range parts[len(parts)-1] {
			idx = idx*10 + int(c-'0')
		}
		out[string(p.Value.([]byte))] = idx
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func names(ifs []snmpsim.Interface) string {
	var b strings.Builder
	for _, f := range ifs {
		b.WriteString(f.Name + "=" + itoa(f.Index) + " ")
	}
	return b.String()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestNTPPeersMove(t *testing.T) {
	s, clk := startSite(t, Spec{NTP: []NTP{{Name: "t", Peers: 2, Offset: 2 * time.Millisecond}}})
	srv := s.NTPServer("t")
	var offsets []time.Duration
	for _, at := range []time.Duration{0, 15 * time.Minute, 5 * time.Hour} {
		now := clk.Now().Add(at)
		s.Step(now)
		ps := srv.Peers()
		if len(ps) != 2 || ps[0].Selection != 6 {
			t.Fatalf("peers %+v", ps)
		}
		for _, p := range ps {
			if age := now.Sub(p.LastReceived); age < 0 || age >= 64*time.Second {
				t.Errorf("peer %s last packet %v ago, want within the 64 s poll", p.Address, age)
			}
			if p.Offset < 1600*time.Microsecond || p.Offset > 3300*time.Microsecond {
				t.Errorf("peer %s offset %v outside base ±20%%", p.Address, p.Offset)
			}
		}
		offsets = append(offsets, ps[0].Offset)
	}
	if offsets[0] == offsets[1] {
		t.Error("offsets do not move over time")
	}
}

// TestHostileSpec: `hostile: true` in the YAML spec makes a device serve
// hostile strings (admin_down still names the generated interface) and an
// NTP server answer hostile variables, also after Step moves its peers.
func TestHostileSpec(t *testing.T) {
	spec, err := ParseSpec("hostile.yaml", []byte("devices:\n  - name: bad-1\n    interfaces: 20\n    admin_down: [ge-0/0/1]\n    hostile: true\n  - name: good-1\n    interfaces: 4\n"+
		"ntp:\n  - name: badtime\n    peers: 4\n    hostile: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, clk := startSite(t, spec)
	bad := s.Device("bad-1").Config()
	if !strings.Contains(bad.SysDescr, snmpsim.XSSMarker) || bad.MaxMsgSize != snmpsim.MaxUDPMessage || bad.Interfaces[0].Name != snmpsim.HostileStrings()[0].Value {
		t.Errorf("bad-1 is not hostile: %q… max %d", bad.SysDescr[:40], bad.MaxMsgSize)
	}
	if bad.Interfaces[3].AdminUp { // ge-0/0/1 is the fourth generated interface
		t.Error("admin_down did not apply before the renaming")
	}
	if good := s.Device("good-1").Config(); strings.Contains(good.SysDescr, snmpsim.XSSMarker) {
		t.Error("good-1 is hostile")
	}
	for _, at := range []time.Time{clk.Now(), clk.Now().Add(time.Hour)} {
		s.Step(at)
		peers := s.NTPServer("badtime").Peers()
		if len(peers) != 4 || peers[0].Vars["offset"] == "" || peers[3].Vars != nil {
			t.Errorf("badtime peers at %v: %+v", at, peers)
		}
	}
}

// TestDefaultSiteIsCabled: every link of the default site is seen from
// both ends as an LLDP neighbour (lldpRemSysName, lldpRemPortId), and the
// hot access switch's CPU die sensor reads above its warning threshold.
func TestDefaultSiteIsCabled(t *testing.T) {
	spec := DefaultSpec()
	s, _ := startSite(t, spec)
	want := map[string]bool{}
	for _, l := range spec.Links {
		want[l.A+">"+l.B+":"+l.BPort] = true
		want[l.B+">"+l.A+":"+l.APort] = true
	}
	got := map[string]bool{}
	usm := &gosnmp.UsmSecurityParameters{UserName: "outpost", AuthenticationProtocol: gosnmp.SHA256, AuthenticationPassphrase: "demo-auth-pass",
		PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "demo-priv-pass"}
	for _, tg := range s.Targets() {
		if tg.Kind != "snmp" {
			continue
		}
		g := snmpClient(t, tg, gosnmp.Version2c, "public", nil)
		if tg.Name == "fw-1" {
			g = snmpClient(t, tg, gosnmp.Version3, "", usm)
		}
		names := map[string]string{}
		err := g.BulkWalk(".1.0.8802.1.1.2.1.4.1.1.9", func(p gosnmp.SnmpPDU) error {
			names[strings.TrimPrefix(p.Name, ".1.0.8802.1.1.2.1.4.1.1.9.")] = string(p.Value.([]byte))
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", tg.Name, err)
		}
		err = g.BulkWalk(".1.0.8802.1.1.2.1.4.1.1.7", func(p gosnmp.SnmpPDU) error {
			idx := strings.TrimPrefix(p.Name, ".1.0.8802.1.1.2.1.4.1.1.7.")
			got[tg.Name+">"+names[idx]+":"+string(p.Value.([]byte))] = true
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", tg.Name, err)
		}
		if tg.Name == "access-2" {
			r, err := g.Get([]string{".1.3.6.1.4.1.9.9.91.1.1.1.1.4.2001"})
			if err != nil || len(r.Variables) != 1 || gosnmp.ToBigInt(r.Variables[0].Value).Int64() < 700 {
				t.Errorf("access-2 CPU die: %+v %v (want above 70.0 °C, precision 1)", r, err)
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LLDP neighbours\n got %v\nwant %v", got, want)
	}
}

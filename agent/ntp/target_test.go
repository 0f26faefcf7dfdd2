package ntp_test

import (
	"context"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/sim/ntpsim"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

var t0 = time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)

// serve runs the simulator on a free loopback port until the test ends.
func serve(t *testing.T, srv *ntpsim.Server) (host string, port int) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	a := pc.LocalAddr().(*net.UDPAddr)
	return a.IP.String(), a.Port
}

func newTarget(t *testing.T, host string, port int) *ntp.Target {
	t.Helper()
	retries := 1
	tg, err := ntp.NewTarget(config.NTPTarget{
		Name: "ntp1", Address: host, Port: port, Retries: &retries,
		Timeout:         configfile.Duration(200 * time.Millisecond),
		OffsetThreshold: configfile.Duration(50 * time.Millisecond),
	}, ntp.TargetOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func pollOnce(t *testing.T, tg *ntp.Target) poll.Report {
	t.Helper()
	var reports []poll.Report
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tg.Poll(ctx, poll.SinkFunc(func(r poll.Report) { reports = append(reports, r) }))
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1", len(reports))
	}
	return reports[0]
}

func statusOf(r poll.Report, attr string) (wire.AttrStatus, bool) {
	for _, s := range r.Statuses {
		if s.Attr == attr {
			return s, true
		}
	}
	return wire.AttrStatus{}, false
}

func sitePeers() []ntpsim.Peer {
	return []ntpsim.Peer{
		{Address: "192.0.2.10", Stratum: 1, RefID: "GPS", Offset: 1500 * time.Microsecond, Delay: 12 * time.Millisecond,
			Jitter: 300 * time.Microsecond, Reach: 0377, Selection: 6, LastReceived: t0.Add(-5 * time.Second)},
		{Address: "192.0.2.11", Stratum: 2, RefID: "192.0.2.1", Offset: -2 * time.Millisecond, Delay: 20 * time.Millisecond,
			Jitter: time.Millisecond, Reach: 0376, Selection: 4, LastReceived: t0.Add(-40 * time.Second)},
		{Address: "192.0.2.12", Stratum: 16, RefID: "INIT", Reach: 0, Selection: 0},
	}
}

// withSysPeer returns sitePeers with the system peer moved to index i and
// its offset set.
func withSysPeer(i int, offset time.Duration) []ntpsim.Peer {
	ps := sitePeers()
	for j := range ps {
		if ps[j].Selection == 6 {
			ps[j].Selection = 4
		}
	}
	ps[i].Selection = 6
	ps[i].Offset = offset
	return ps
}

// TestStatusRules drives one target through a sequence of server states;
// each step is one poll and the status the "ntp" attribute must take.
func TestStatusRules(t *testing.T) {
	srv := ntpsim.New(ntpsim.Config{Peers: sitePeers(), Now: func() time.Time { return t0 }})
	host, port := serve(t, srv)
	tg := newTarget(t, host, port)
	steps := []struct {
		name   string
		sys    ntpsim.System
		peers  []ntpsim.Peer
		faults ntpsim.Faults
		want   status.Status
		reason string
	}{
		{"synced within threshold", ntpsim.System{}, withSysPeer(0, 1500*time.Microsecond), ntpsim.Faults{}, status.Up, "synchronised to 192.0.2.10, offset 1.5 ms"},
		{"offset over threshold", ntpsim.System{}, withSysPeer(0, 80*time.Millisecond), ntpsim.Faults{}, status.Alert, "offset 80 ms > 50 ms"},
		{"negative offset over threshold", ntpsim.System{}, withSysPeer(0, -51*time.Millisecond), ntpsim.Faults{}, status.Alert, "offset -51 ms > 50 ms"},
		{"back within threshold", ntpsim.System{}, withSysPeer(0, -49*time.Millisecond), ntpsim.Faults{}, status.Up, "offset -49 ms"},
		{"system peer changed", ntpsim.System{}, withSysPeer(1, 2*time.Millisecond), ntpsim.Faults{}, status.Alert, "system peer changed from 192.0.2.10 to 192.0.2.11"},
		{"same peer next poll", ntpsim.System{}, withSysPeer(1, 2*time.Millisecond), ntpsim.Faults{}, status.Up, "synchronised to 192.0.2.11"},
		{"leap alarm", ntpsim.System{Leap: 3}, withSysPeer(1, 2*time.Millisecond), ntpsim.Faults{}, status.Alert, "unsynchronised: leap indicator 3"},
		{"no system peer", ntpsim.System{}, func() []ntpsim.Peer {
			ps := sitePeers()
			ps[0].Selection = 4
			return ps
		}(), ntpsim.Faults{}, status.Alert, "unsynchronised: no system peer"},
		{"stratum 16", ntpsim.System{Stratum: 16}, withSysPeer(1, 0), ntpsim.Faults{}, status.Alert, "unsynchronised: stratum 16"},
		{"no answer", ntpsim.System{}, withSysPeer(1, 0), ntpsim.Faults{Silent: true}, status.Down, "no answer to mode 6 queries (timeout)"},
		{"missing fragment", ntpsim.System{}, withSysPeer(1, 0), ntpsim.Faults{DropFragment: 2}, status.Down, "timeout"},
		{"error reply", ntpsim.System{}, withSysPeer(1, 0), ntpsim.Faults{ErrorCode: 1}, status.Down, "mode 6 query refused: permission denied"},
		{"answers again", ntpsim.System{}, withSysPeer(1, 0), ntpsim.Faults{}, status.Up, "synchronised to 192.0.2.11"},
	}
	for _, st := range steps {
		srv.SetSystem(st.sys)
		srv.SetPeers(st.peers)
		srv.SetFaults(st.faults)
		r := pollOnce(t, tg)
		s, ok := statusOf(r, "ntp")
		if !ok {
			t.Fatalf("%s: no ntp status", st.name)
		}
		if s.Status != st.want || !strings.Contains(s.Reason, st.reason) {
			t.Errorf("%s: %s %q, want %s containing %q", st.name, s.Status, s.Reason, st.want, st.reason)
		}
		if s.Host != "ntp1" || s.Time != t0.UnixMilli() {
			t.Errorf("%s: status host %q time %d", st.name, s.Host, s.Time)
		}
		if st.want == status.Down {
			if len(r.Points) != 0 || r.Inventory != nil {
				t.Errorf("%s: a Down report carries %d points and inventory %v", st.name, len(r.Points), r.Inventory != nil)
			}
			if ps, ok := statusOf(r, "ntp-peer:192.0.2.10"); !ok || ps.Status != status.Unknown {
				t.Errorf("%s: peer status %v, want Unknown", st.name, ps)
			}
		}
	}
}

// TestRefusedIsDown: nothing listens on the port (ICMP port unreachable).
func TestRefusedIsDown(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	r := pollOnce(t, newTarget(t, "127.0.0.1", port))
	s, _ := statusOf(r, "ntp")
	if s.Status != status.Down || !strings.Contains(s.Reason, "ICMP port unreachable") {
		t.Errorf("status %s %q", s.Status, s.Reason)
	}
}

// TestReport checks the points, peer statuses and inventory of one poll.
func TestReport(t *testing.T) {
	srv := ntpsim.New(ntpsim.Config{Peers: sitePeers(), Now: func() time.Time { return t0 },
		System: ntpsim.System{Offset: 1200 * time.Microsecond, Jitter: 400 * time.Microsecond}})
	host, port := serve(t, srv)
	r := pollOnce(t, newTarget(t, host, port))
	if r.Host != "ntp1" {
		t.Errorf("host %q", r.Host)
	}
	got := map[string]float64{}
	for _, p := range r.Points {
		if p.Key.Host != "ntp1" || !p.Time.Equal(t0) || p.Kind.String() != "gauge" {
			t.Errorf("point %+v", p)
		}
		got[p.Key.Attr+"/"+p.Key.DS] = p.Float
	}
	want := map[string]float64{
		"ntp/offset": 0.0015, "ntp/jitter": 0.0004, "ntp/stratum": 2, "ntp/synced": 1,
		"ntp-peer:192.0.2.10/offset": 0.0015, "ntp-peer:192.0.2.10/delay": 0.012, "ntp-peer:192.0.2.10/jitter": 0.0003, "ntp-peer:192.0.2.10/reach": 255,
		"ntp-peer:192.0.2.11/offset": -0.002, "ntp-peer:192.0.2.11/delay": 0.020, "ntp-peer:192.0.2.11/jitter": 0.001, "ntp-peer:192.0.2.11/reach": 254,
		"ntp-peer:192.0.2.12/offset": 0, "ntp-peer:192.0.2.12/delay": 0, "ntp-peer:192.0.2.12/jitter": 0, "ntp-peer:192.0.2.12/reach": 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g < v-1e-12 || g > v+1e-12 {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d points, want %d: %v", len(got), len(want), got)
	}
	for attr, st := range map[string]status.Status{"ntp-peer:192.0.2.10": status.Up, "ntp-peer:192.0.2.11": status.Up, "ntp-peer:192.0.2.12": status.Down} {
		if s, _ := statusOf(r, attr); s.Status != st {
			t.Errorf("%s: %s %q, want %s", attr, s.Status, s.Reason, st)
		}
	}
	inv := r.Inventory
	if inv == nil || inv.Name != "ntp1" || !inv.Complete || len(inv.Attrs) != 4 {
		t.Fatalf("inventory %+v", inv)
	}
	if a := inv.Attrs[0]; a.Key != "ntp" || a.Kind != wire.KindNTP || a.Interval != 60 || len(a.DS) != 4 || a.Props["system_peer"] != "192.0.2.10" {
		t.Errorf("ntp attr %+v", a)
	}
	peer := inv.Attrs[1]
	wantProps := map[string]string{"tally": "*", "remote": "192.0.2.10", "refid": ".GPS.", "st": "1", "t": "u",
		"when": "5", "poll": "64", "reach": "377", "delay": "12.0000", "offset": "1.5000", "jitter": "0.3000", "assoc_id": "17767"}
	if peer.Key != "ntp-peer:192.0.2.10" || peer.Kind != wire.KindNTPPeer || peer.Name != "192.0.2.10" {
		t.Errorf("peer attr %+v", peer)
	}
	for k, v := range wantProps {
		if peer.Props[k] != v {
			t.Errorf("peer prop %s = %q, want %q", k, peer.Props[k], v)
		}
	}
	if ds := peer.DS; len(ds) != 4 || ds[3].Name != "reach" || ds[3].Max != 255 {
		t.Errorf("peer DS %+v", ds)
	}
	if msg := (&wire.Batch{Seq: 1, Hosts: []wire.Host{*inv}, Statuses: r.Statuses}).Validate(); msg != nil {
		t.Errorf("the report does not make a valid batch: %v", msg)
	}
}

func TestNewTargetDefaults(t *testing.T) {
	tg, err := ntp.NewTarget(config.NTPTarget{Name: "a", Address: "192.0.2.1"}, ntp.TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name() != "a" || tg.Interval() != 60*time.Second {
		t.Errorf("name %q interval %v", tg.Name(), tg.Interval())
	}
	for _, bad := range []config.NTPTarget{{Address: "x"}, {Name: "x"}, {Name: "x", Address: "y", Port: 70000}} {
		if _, err := ntp.NewTarget(bad, ntp.TargetOptions{}); err == nil {
			t.Errorf("NewTarget(%+v) accepted", bad)
		}
	}
}

// TestHostileServer polls a server answering hostile variables
// (ntpsim.HostileSystem, HostilePeers): absurd numbers become unknown
// samples with an Alert that names them, strings arrive escaped, keys are
// clean, and the valid peer still reports normally.
func TestHostileServer(t *testing.T) {
	srv := ntpsim.New(ntpsim.Config{Peers: ntpsim.HostilePeers(append(sitePeers(), ntpsim.Peer{Address: "192.0.2.99", Stratum: 2, RefID: "192.0.2.1",
		Offset: time.Millisecond, Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Reach: 0377, Selection: 4, LastReceived: t0.Add(-3 * time.Second)})),
		System: ntpsim.HostileSystem(ntpsim.System{}), Now: func() time.Time { return t0 }})
	host, port := serve(t, srv)
	r := pollOnce(t, newTarget(t, host, port))
	pts := map[string]float64{}
	for _, p := range r.Points {
		pts[p.Key.Attr+"/"+p.Key.DS] = p.Float
	}
	sts := map[string]wire.AttrStatus{}
	for _, s := range r.Statuses {
		sts[s.Attr] = s
	}
	peer0 := `ntp-peer:192.0.2.66"><script>window.__outpostXSS=1</script>`
	peer1 := "ntp-peer:../../../../tmp/outpost-escape"
	peer2 := "ntp-peer:NULBro<b>"
	for _, c := range []struct {
		attr, reason string
		st           status.Status
	}{
		{"ntp", "server reported offset -1e+20 ms, not a valid offset", status.Alert},
		{"ntp", "server reported jitter NaN ms, not a valid jitter", status.Alert},
		{peer0, "server reported offset -1e+20 ms, not a valid offset", status.Alert},
		{peer1, "server reported delay -5 ms, not a valid delay; server reported jitter +Inf ms, not a valid jitter", status.Alert},
		{peer2, "server reported offset NaN ms, not a valid offset", status.Alert},
		{peer2, "server reported reach 0x1ff, not a valid reach register (0..0377)", status.Alert},
		{"ntp-peer:192.0.2.99", "reach 377", status.Up},
	} {
		s, ok := sts[c.attr]
		if !ok || s.Status != c.st || !strings.Contains(s.Reason, c.reason) {
			t.Errorf("%s: %v %q, want %v with %q", c.attr, s.Status, s.Reason, c.st, c.reason)
		}
	}
	for _, k := range []string{"ntp/offset", "ntp/jitter", peer0 + "/offset", peer1 + "/delay", peer1 + "/jitter", peer2 + "/offset", peer2 + "/reach"} {
		if v, ok := pts[k]; !ok || !math.IsNaN(v) {
			t.Errorf("%s = %v (present %v), want unknown (NaN)", k, v, ok)
		}
	}
	if v := pts["ntp-peer:192.0.2.99/offset"]; v != 0.001 {
		t.Errorf("valid peer offset %v", v)
	}
	inv := r.Inventory
	if !strings.Contains(inv.SysDescr, `ntpd \x1b[2J\x1b]0;owned\x07<script>`) {
		t.Errorf("sysDescr %q", inv.SysDescr)
	}
	if got := inv.Attrs[2].Props["refid"]; got != `.\x1b[31mRED\x1b[0m.` {
		t.Errorf("peer 1 refid prop %q", got)
	}
	if msg := (&wire.Batch{Seq: 1, Hosts: []wire.Host{*inv}, Statuses: r.Statuses}).Validate(); msg != nil {
		t.Errorf("the report does not make a valid batch: %v", msg)
	}
}

package ntp_test

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/ntp/chrony"
	"github.com/outpost-nms/outpost/agent/ntp/sntp"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// chronyd is the pair of real chronyd of this binary (TestMain stops it).
var chronyd testpeer.SharedChrony

func realChrony(t *testing.T) *testpeer.Chrony {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real chronyd")
	}
	return chronyd.Get(t)
}

func pollTarget(t *testing.T, tg poll.Target) poll.Report {
	t.Helper()
	var reports []poll.Report
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = tg.Poll(ctx, poll.SinkFunc(func(r poll.Report) { reports = append(reports, r) }))
	if len(reports) != 1 {
		t.Fatalf("%d reports", len(reports))
	}
	return reports[0]
}

func attr(r poll.Report, key string) (wire.Attr, bool) {
	if r.Inventory == nil {
		return wire.Attr{}, false
	}
	for _, a := range r.Inventory.Attrs {
		if a.Key == key {
			return a, true
		}
	}
	return wire.Attr{}, false
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func target(t *testing.T, tc config.NTPTarget, opts ntp.TargetOptions) poll.Target {
	t.Helper()
	if tc.Name == "" {
		tc.Name = "ts1"
	}
	if tc.Timeout == 0 {
		tc.Timeout = configfile.Duration(500 * time.Millisecond)
	}
	if tc.OffsetThreshold == 0 {
		tc.OffsetThreshold = configfile.Duration(100 * time.Millisecond)
	}
	zero := 0
	tc.Retries = &zero
	if opts.LocalClock == nil {
		opts.LocalClock = &ntp.LocalClock{ChronyAddr: "-", NTPDAddr: "-"}
	}
	tg, err := ntp.New(tc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestChronyTarget polls the real chronyd B: the same attributes as
// for ntpd, from chrony's tracking and sources.
func TestChronyTarget(t *testing.T) {
	c := realChrony(t)
	host, port := splitAddr(t, c.CmdAddr)
	r := pollTarget(t, target(t, config.NTPTarget{Address: host, Protocol: "chrony", ChronyPort: port}, ntp.TargetOptions{}))
	s, _ := statusOf(r, "ntp")
	if s.Status != status.Up || !strings.Contains(s.Reason, "synchronised to 127.0.0.1") {
		t.Errorf("ntp: %s %q", s.Status, s.Reason)
	}
	a, _ := attr(r, "ntp")
	if a.Props["protocol"] != "chrony" || a.Props["stratum"] != "9" || a.Props["synced"] != "true" || a.Props["leap_status"] != "Normal" || !strings.HasPrefix(a.Props["refid"], "7F000001 (127.0.0.1)") {
		t.Errorf("ntp props %v", a.Props)
	}
	for key, want := range map[string]status.Status{"ntp-peer:127.0.0.1": status.Up, "ntp-peer:127.0.0.3": status.Down, "ntp-peer:GPS": status.Down} {
		if s, _ := statusOf(r, key); s.Status != want {
			t.Errorf("%s: %s %q, want %s", key, s.Status, s.Reason, want)
		}
	}
	p, ok := attr(r, "ntp-peer:127.0.0.1")
	if !ok || p.Kind != wire.KindNTPPeer || p.Props["tally"] != "*" || p.Props["st"] != "8" || p.Props["reach"] == "0" || p.Props["delay"] != "" || p.Props["offset"] == "" {
		t.Errorf("peer 127.0.0.1: %+v", p)
	}
	var offset, reach bool
	for _, pt := range r.Points {
		if pt.Key.Attr == "ntp-peer:127.0.0.1" && pt.Key.DS == "offset" && pt.Float < 1e-3 && pt.Float > -1e-3 {
			offset = true
		}
		if pt.Key.Attr == "ntp-peer:127.0.0.1" && pt.Key.DS == "reach" && pt.Float > 0 {
			reach = true
		}
		if pt.Key.DS == "delay" {
			t.Errorf("a delay point %+v: chronyd does not send one over UDP", pt)
		}
	}
	if !offset || !reach {
		t.Errorf("points %+v", r.Points)
	}
}

// fakeChronyd answers every command with a status.
func fakeChronyd(t *testing.T, st uint16) (string, int) {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1024)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if st == 0 || n < 12 {
				continue // silent, like chronyd to an address cmdallow does not allow
			}
			rep := make([]byte, 28)
			rep[0], rep[1] = 6, 2
			copy(rep[4:6], buf[4:6])
			binary.BigEndian.PutUint16(rep[6:], 1)
			binary.BigEndian.PutUint16(rep[8:], st)
			copy(rep[16:20], buf[8:12])
			conn.WriteTo(rep, from)
		}
	}()
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	a := conn.LocalAddr().(*net.UDPAddr)
	return a.IP.String(), a.Port
}

func TestChronyTargetRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   uint16
		want string
	}{
		{"not authorised", 2, "refused the tracking command (not authorised: add `cmdallow 127.0.0.1` to chrony.conf)"},
		{"silent", 0, "no answer to chrony commands from 127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port := fakeChronyd(t, tc.st)
			r := pollTarget(t, target(t, config.NTPTarget{Address: host, Protocol: "chrony", ChronyPort: port}, ntp.TargetOptions{}))
			s, _ := statusOf(r, "ntp")
			if s.Status != status.Down || !strings.Contains(s.Reason, tc.want) || !strings.Contains(s.Reason, "cmdallow 127.0.0.1") {
				t.Errorf("ntp: %s %q, want Down with %q", s.Status, s.Reason, tc.want)
			}
		})
	}
}

// TestSNTPTargetRealServers queries the real ntpd (127.0.0.1:123) and
// chronyd A with client requests, with the agent's clock state from
// chronyd B.
func TestSNTPTargetRealServers(t *testing.T) {
	c := realChrony(t)
	d := realNtpd(t)
	clock := &ntp.LocalClock{ChronyAddr: c.CmdAddr, NTPDAddr: "-"}
	aHost, aPort := splitAddr(t, c.NTPAddr)
	r := pollTarget(t, target(t, config.NTPTarget{Address: aHost, Port: aPort, Protocol: "sntp"}, ntp.TargetOptions{LocalClock: clock}))
	s, _ := statusOf(r, "ntp")
	if s.Status != status.Up || !strings.Contains(s.Reason, "against the agent's clock (agent clock synchronised (chronyd at "+c.CmdAddr) || !strings.Contains(s.Reason, "stratum 8") {
		t.Errorf("chronyd A: %s %q", s.Status, s.Reason)
	}
	a, _ := attr(r, "ntp")
	if a.Props["protocol"] != "sntp" || a.Props["offset_reference"] != "agent clock" || a.Props["agent_clock_synced"] != "true" || a.Props["stratum"] != "8" || a.Props["refid"] != "127.127.1.1" || !strings.HasPrefix(a.Props["samples"], "4 of 4") {
		t.Errorf("props %v", a.Props)
	}
	if len(r.Inventory.Attrs) != 1 {
		t.Errorf("sntp reports no peers; got %d attributes", len(r.Inventory.Attrs))
	}

	// ntpd answers mode 3 too; with "disable ntp" it never clears its
	// leap alarm, so it claims to be unsynchronised: Down.
	host, port := splitAddr(t, d.Addr)
	r = pollTarget(t, target(t, config.NTPTarget{Address: host, Port: port, Protocol: "sntp"}, ntp.TargetOptions{LocalClock: clock}))
	s, _ = statusOf(r, "ntp")
	a, _ = attr(r, "ntp")
	if a.Props["protocol"] != "sntp" || a.Props["stratum"] == "" {
		t.Errorf("ntpd props %v", a.Props)
	}
	if a.Props["leap"] == "3" && (s.Status != status.Down || !strings.Contains(s.Reason, "leap indicator 3")) {
		t.Errorf("ntpd with leap 3: %s %q", s.Status, s.Reason)
	}
	t.Logf("ntpd by sntp: %s %q", s.Status, s.Reason)
}

// kissServer answers client requests with what reply says.
type kissServer struct {
	mu    sync.Mutex
	reply func(req sntp.Packet) []byte
	n     int
}

func startKissServer(t *testing.T, reply func(req sntp.Packet) []byte) (*kissServer, string, int) {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &kissServer{reply: reply}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1024)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := sntp.Parse(buf[:n])
			if err != nil {
				continue
			}
			k.mu.Lock()
			k.n++
			f := k.reply
			k.mu.Unlock()
			if b := f(req); b != nil {
				conn.WriteTo(b, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	a := conn.LocalAddr().(*net.UDPAddr)
	return k, a.IP.String(), a.Port
}

func (k *kissServer) requests() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

func (k *kissServer) set(f func(req sntp.Packet) []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reply = f
}

func serverReply(skew time.Duration, leap, stratum uint8) func(sntp.Packet) []byte {
	return func(req sntp.Packet) []byte {
		now := sntp.TimestampOf(time.Now().Add(skew))
		return sntp.Packet{Leap: leap, Version: 4, Mode: sntp.ModeServer, Stratum: stratum, RefID: 0xc0000201,
			Origin: req.Transmit, Receive: now, Transmit: now}.Append(nil)
	}
}

func kiss(code string) func(sntp.Packet) []byte {
	return func(req sntp.Packet) []byte {
		return sntp.Packet{Version: 4, Mode: sntp.ModeServer, Stratum: 0, Origin: req.Transmit,
			RefID: binary.BigEndian.Uint32([]byte(code))}.Append(nil)
	}
}

func TestSNTPTargetStatuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(sntp.Packet) []byte
		want  status.Status
		in    string
	}{
		{"in time", serverReply(20*time.Millisecond, 0, 2), status.Up, "against the agent's clock (agent clock unknown"},
		{"beyond the threshold", serverReply(400*time.Millisecond, 0, 2), status.Alert, "ms > 100 ms (against the agent's clock)"},
		{"behind beyond the threshold", serverReply(-400*time.Millisecond, 0, 2), status.Alert, "offset -"},
		{"leap 3", serverReply(0, 3, 2), status.Down, "unsynchronised: leap indicator 3"},
		{"stratum 16", serverReply(0, 0, 16), status.Down, "unsynchronised: stratum 16"},
		{"silent", func(sntp.Packet) []byte { return nil }, status.Down, "no answer to NTP client requests (mode 3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, host, port := startKissServer(t, tc.reply)
			r := pollTarget(t, target(t, config.NTPTarget{Address: host, Port: port, Protocol: "sntp",
				Timeout: configfile.Duration(200 * time.Millisecond)}, ntp.TargetOptions{}))
			s, _ := statusOf(r, "ntp")
			if s.Status != tc.want || !strings.Contains(s.Reason, tc.in) {
				t.Errorf("%s %q, want %s with %q", s.Status, s.Reason, tc.want, tc.in)
			}
		})
	}
}

// The agent's own clock, known to be unsynchronised, makes every offset
// measured against it suspect: Alert.
func TestSNTPTargetAgentClockUnsynchronised(t *testing.T) {
	d := realNtpd(t) // with "disable ntp", ntpd never clears its leap alarm
	clock := &ntp.LocalClock{ChronyAddr: "-", NTPDAddr: d.Addr}
	if st := clock.State(context.Background()); !st.Known || st.Synced {
		t.Skipf("the test ntpd is %s; this test needs it unsynchronised", st)
	}
	_, host, port := startKissServer(t, serverReply(0, 0, 2))
	r := pollTarget(t, target(t, config.NTPTarget{Address: host, Port: port, Protocol: "sntp"}, ntp.TargetOptions{LocalClock: clock}))
	s, _ := statusOf(r, "ntp")
	a, _ := attr(r, "ntp")
	if s.Status != status.Alert || !strings.Contains(s.Reason, "the agent's own clock is not synchronised") || a.Props["agent_clock_synced"] != "false" || !strings.HasPrefix(a.Props["agent_clock"], "not synchronised (ntpd at 127.0.0.1:123") {
		t.Errorf("%s %q; props %v", s.Status, s.Reason, a.Props)
	}
}

// Kiss-o'-Death: RATE pauses the target (polls in between send nothing),
// DENY stops it until ClearKiss (a configuration reload).
func TestSNTPTargetKissOfDeath(t *testing.T) {
	k, host, port := startKissServer(t, kiss("RATE"))
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tg := target(t, config.NTPTarget{Address: host, Port: port, Protocol: "sntp", Interval: configfile.Duration(time.Minute)},
		ntp.TargetOptions{Now: clock})
	s, _ := statusOf(pollTarget(t, tg), "ntp")
	if s.Status != status.Alert || !strings.Contains(s.Reason, "Kiss-o'-Death RATE: polling slowed to every 2m0s, next query after 2026-12-03T10:02:00Z") {
		t.Fatalf("after RATE: %s %q", s.Status, s.Reason)
	}
	if n := k.requests(); n != 1 {
		t.Errorf("%d requests; a kiss ends the query", n)
	}
	now = now.Add(time.Minute)
	s, _ = statusOf(pollTarget(t, tg), "ntp")
	if s.Status != status.Alert || k.requests() != 1 {
		t.Errorf("during the pause: %s %q, %d requests", s.Status, s.Reason, k.requests())
	}
	// After the pause, a second RATE doubles it again.
	now = now.Add(time.Minute)
	s, _ = statusOf(pollTarget(t, tg), "ntp")
	if k.requests() != 2 || !strings.Contains(s.Reason, "every 4m0s") {
		t.Errorf("second RATE: %s %q, %d requests", s.Status, s.Reason, k.requests())
	}
	// The server answers again after the pause: Up, and the slower pace shows.
	k.set(serverReply(0, 0, 2))
	now = now.Add(4 * time.Minute)
	s, _ = statusOf(pollTarget(t, tg), "ntp")
	if s.Status != status.Up || !strings.Contains(s.Reason, "polling every 4m0s after Kiss-o'-Death RATE") {
		t.Errorf("after the pause: %s %q", s.Status, s.Reason)
	}

	k.set(kiss("DENY"))
	s, _ = statusOf(pollTarget(t, tg), "ntp")
	before := k.requests()
	for i := 0; i < 3; i++ {
		now = now.Add(10 * time.Minute)
		s, _ = statusOf(pollTarget(t, tg), "ntp")
	}
	if s.Status != status.Down || !strings.Contains(s.Reason, "Kiss-o'-Death DENY (access denied): not queried again until the configuration is reloaded") || k.requests() != before {
		t.Errorf("after DENY: %s %q, %d requests after it", s.Status, s.Reason, k.requests()-before)
	}
	tg.(interface{ ClearKiss() }).ClearKiss()
	k.set(serverReply(0, 0, 2))
	if s, _ := statusOf(pollTarget(t, tg), "ntp"); s.Status != status.Up || k.requests() == before {
		t.Errorf("after reload: %s %q", s.Status, s.Reason)
	}
}

// TestAutoTarget: mode 6 where ntpd answers it, chrony's command port
// where chronyd answers commands, mode 3 where only NTP answers.
func TestAutoTarget(t *testing.T) {
	c := realChrony(t)
	d := realNtpd(t)
	closed := func() int {
		l, _ := net.ListenPacket("udp", "127.0.0.1:0")
		defer l.Close()
		return l.LocalAddr().(*net.UDPAddr).Port
	}()
	_, ntpdPort := splitAddr(t, d.Addr)
	_, aPort := splitAddr(t, c.NTPAddr)
	_, cmdPort := splitAddr(t, c.CmdAddr)
	for _, tc := range []struct {
		name          string
		port, chrony  int
		want          string
		wantAttrs     int
		wantNoneInDwn bool
	}{
		{"ntpd", ntpdPort, closed, "mode6", 3, false},
		{"chronyd with cmdallow", aPort, cmdPort, "chrony", 4, false},
		{"chronyd without command access", aPort, closed, "sntp", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := target(t, config.NTPTarget{Address: "127.0.0.1", Port: tc.port, ChronyPort: tc.chrony, Protocol: "auto",
				Timeout: configfile.Duration(300 * time.Millisecond)}, ntp.TargetOptions{})
			for i := 0; i < 2; i++ { // discovery, then the protocol found
				r := pollTarget(t, tg)
				a, ok := attr(r, "ntp")
				if !ok || a.Props["protocol"] != tc.want || a.Props["protocol_config"] != "auto" || len(r.Inventory.Attrs) != tc.wantAttrs {
					t.Fatalf("poll %d: protocol %q (config %q), %d attributes; want %s, %d", i, a.Props["protocol"], a.Props["protocol_config"], len(r.Inventory.Attrs), tc.want, tc.wantAttrs)
				}
			}
			if p := tg.(*ntp.AutoTarget).Protocol(); p != tc.want {
				t.Errorf("Protocol() = %q", p)
			}
		})
	}
	t.Run("nothing answers", func(t *testing.T) {
		tg := target(t, config.NTPTarget{Address: "127.0.0.1", Port: closed, ChronyPort: closed, Protocol: "auto",
			Timeout: configfile.Duration(300 * time.Millisecond)}, ntp.TargetOptions{})
		s, _ := statusOf(pollTarget(t, tg), "ntp")
		for _, want := range []string{"no answer by any protocol", "mode6: no NTP daemon listening", "chrony: nothing listens on chronyd's command port", "sntp: no NTP server listening"} {
			if s.Status != status.Down || !strings.Contains(s.Reason, want) {
				t.Errorf("%s %q lacks %q", s.Status, s.Reason, want)
			}
		}
	})
}

func TestLocalClock(t *testing.T) {
	c := realChrony(t)
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	lc := &ntp.LocalClock{ChronyAddr: c.CmdAddr, NTPDAddr: "-", Now: func() time.Time { return now }}
	st := lc.State(context.Background())
	if !st.Known || !st.Synced || st.Stratum != 9 || !strings.HasPrefix(st.String(), "synchronised (chronyd at "+c.CmdAddr+", stratum 9, offset ") {
		t.Errorf("state %+v: %s", st, st)
	}
	closed := &ntp.LocalClock{ChronyAddr: "127.0.0.1:1", NTPDAddr: "127.0.0.1:2"}
	if st := closed.State(context.Background()); st.Known || st.String() != "unknown (no chronyd on 127.0.0.1:1; no ntpd answering mode 6 on 127.0.0.1:2)" {
		t.Errorf("nothing local: %s", st)
	}
}

// TestChronyTargetAbsurdNumbers: numbers no chronyd can have measured are
// refused as unknown with an Alert naming them, as for mode 6.
func TestChronyTargetAbsurdNumbers(t *testing.T) {
	tg := target(t, config.NTPTarget{Address: "192.0.2.1", Protocol: "chrony"}, ntp.TargetOptions{}).(*ntp.ChronyTarget)
	snap := &chrony.Snapshot{
		Time: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC),
		Tracking: chrony.Tracking{RefID: 0x7f000001, RefName: "127.0.0.1", Stratum: 99, Leap: 0,
			SystemTime: 1e20, RMSOffset: -5},
		Sources: []chrony.Source{
			{Name: "192.0.2.7", Mode: chrony.ModeClient, State: chrony.StateSelected, Stratum: 2, Reach: 0xffff, LastRx: 3,
				Offset: -1e12, Stats: chrony.SourceStats{NSamples: 4, StdDev: -1}},
			{Name: "ID#0000000001", IsID: true},
		},
	}
	r := tg.Evaluate(snap)
	s, _ := statusOf(r, "ntp")
	for _, want := range []string{"server reported offset 1e+23 ms, not a valid offset", "server reported jitter -5000 ms", "server reported stratum 99, not a valid stratum"} {
		if s.Status != status.Alert || !strings.Contains(s.Reason, want) {
			t.Errorf("ntp: %s %q lacks %q", s.Status, s.Reason, want)
		}
	}
	p, _ := statusOf(r, "ntp-peer:192.0.2.7")
	for _, want := range []string{"not a valid offset", "not a valid jitter", "reach 177777, not a valid reach register"} {
		if p.Status != status.Alert || !strings.Contains(p.Reason, want) {
			t.Errorf("peer: %s %q lacks %q", p.Status, p.Reason, want)
		}
	}
	if len(r.Inventory.Attrs) != 2 {
		t.Errorf("%d attributes: unresolved sources are left out", len(r.Inventory.Attrs))
	}
	for _, pt := range r.Points {
		if (pt.Key.DS == "offset" || pt.Key.DS == "jitter" || pt.Key.DS == "stratum" || (pt.Key.DS == "reach" && pt.Key.Attr != "ntp")) && pt.Float == pt.Float {
			t.Errorf("point %s/%s = %v, want unknown (NaN)", pt.Key.Attr, pt.Key.DS, pt.Float)
		}
	}
}

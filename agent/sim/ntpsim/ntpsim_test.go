package ntpsim

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/ntp"
)

var t0 = time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)

func demoPeers() []Peer {
	return []Peer{
		{Address: "192.0.2.10", Stratum: 1, RefID: "GPS", Offset: 1500 * time.Microsecond, Delay: 12 * time.Millisecond,
			Jitter: 300 * time.Microsecond, Reach: 0377, Selection: 6, LastReceived: t0.Add(-5 * time.Second)},
		{Address: "192.0.2.11", Stratum: 2, RefID: "192.0.2.1", Offset: -2 * time.Millisecond, Delay: 20 * time.Millisecond,
			Jitter: time.Millisecond, Reach: 0376, Selection: 4, LastReceived: t0.Add(-40 * time.Second)},
		{Address: "127.127.28.0", RefClock: "SHM(0)", RefID: "PPS", Reach: 0, Selection: 0, PPoll: 3, HPoll: 3},
	}
}

// start serves s on a free loopback port until the test ends.
func start(t *testing.T, s *Server) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return pc.LocalAddr().String()
}

func dial(t *testing.T, addr string, retries int) *ntp.Session {
	t.Helper()
	sess, err := ntp.Client{Addr: addr, Timeout: 300 * time.Millisecond, Retries: retries}.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

func TestReadStatAndVars(t *testing.T) {
	s := New(Config{Peers: demoPeers(), Now: func() time.Time { return t0 }})
	sess := dial(t, start(t, s), -1)
	ctx := context.Background()
	sys, assocs, err := sess.ReadStat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sys.Leap() != 0 || sys.Source() != 6 {
		t.Errorf("system status %#04x: leap %d source %d, want 0 and 6", uint16(sys), sys.Leap(), sys.Source())
	}
	if len(assocs) != 3 {
		t.Fatalf("%d associations, want 3", len(assocs))
	}
	sel := map[uint16]uint8{}
	for _, a := range assocs {
		sel[a.ID] = a.Status.Selection()
	}
	if sel[17767] != 6 || sel[17768] != 4 || sel[17769] != 0 {
		t.Errorf("selection codes %v", sel)
	}
	_, vars, err := sess.ReadVar(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"stratum": "2", "refid": "192.0.2.10", "peer": "17767", "leap": "0"} {
		if got, _ := vars.Get(name); got != want {
			t.Errorf("system %s = %q, want %q", name, got, want)
		}
	}
	st, vars, err := sess.ReadVar(ctx, 17767)
	if err != nil {
		t.Fatal(err)
	}
	if ntp.PeerStatus(st).Selection() != 6 {
		t.Errorf("peer status %#04x", st)
	}
	for name, want := range map[string]string{"srcadr": "192.0.2.10", "reach": "0xff", "offset": "1.500000", "delay": "12.000000", "refid": "GPS"} {
		if got, _ := vars.Get(name); got != want {
			t.Errorf("peer %s = %q, want %q", name, got, want)
		}
	}
	rec, err := vars.Timestamp("rec")
	if err != nil || !rec.Time(t0).Equal(t0.Add(-5*time.Second)) {
		t.Errorf("rec = %v (%v), want %v", rec.Time(t0), err, t0.Add(-5*time.Second))
	}
	// A named read returns those variables only, in order.
	_, vars, err = sess.ReadVar(ctx, 17767, "stratum", "refid")
	if err != nil || vars.String() != "stratum=1, refid=GPS" {
		t.Errorf("named read: %q, %v", vars.String(), err)
	}
}

func TestErrors(t *testing.T) {
	s := New(Config{Peers: demoPeers(), Now: func() time.Time { return t0 }})
	sess := dial(t, start(t, s), -1)
	ctx := context.Background()
	cases := []struct {
		assoc uint16
		names []string
		want  ntp.ErrorCode
	}{
		{0, []string{"stratum", "bogus"}, ntp.CodeUnknownVar},
		{999, nil, ntp.CodeUnknownAssoc},
	}
	for _, c := range cases {
		_, _, err := sess.ReadVar(ctx, c.assoc, c.names...)
		var se *ntp.ServerError
		if !errors.As(err, &se) || se.Code != c.want {
			t.Errorf("assoc %d %v: err %v, want server error %q", c.assoc, c.names, err, c.want)
		}
	}
}

// TestFragmentsLikeNtpd checks the layout of a peer reply against what the
// real ntpd sends: 468-byte fragments, lines under 72 characters, a final CRLF.
func TestFragmentsLikeNtpd(t *testing.T) {
	s := New(Config{Peers: demoPeers(), Now: func() time.Time { return t0 }})
	req := ntp.Packet{Version: 2, Opcode: ntp.OpReadVar, Sequence: 7, AssocID: 17767}
	dgrams := s.Handle(req.Append(nil))
	if len(dgrams) != 2 {
		t.Fatalf("%d fragments, want 2", len(dgrams))
	}
	var text []byte
	for i, d := range dgrams {
		if len(d)%4 != 0 || len(d) > ntp.HeaderLen+ntp.MaxFragmentData {
			t.Errorf("fragment %d: %d bytes", i, len(d))
		}
		p, err := ntp.ParsePacket(d)
		if err != nil {
			t.Fatal(err)
		}
		if p.Sequence != 7 || !p.Response || p.More != (i == 0) || int(p.Offset) != len(text) {
			t.Errorf("fragment %d header %+v", i, p)
		}
		text = append(text, p.Data...)
	}
	if !strings.HasSuffix(string(text), "\r\n") {
		t.Error("no final CRLF")
	}
	for _, line := range strings.Split(string(text), "\r\n") {
		if len(line) > maxLine { // ntpd: up to 71 characters, plus the comma
			t.Errorf("line of %d characters: %q", len(line), line)
		}
	}
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name    string
		faults  Faults
		wantErr error // nil: the read succeeds
	}{
		{"reorder", Faults{Reorder: true}, nil},
		{"duplicate", Faults{Duplicate: true}, nil},
		{"reorder+duplicate small fragments", Faults{Reorder: true, Duplicate: true, Fragment: 50}, nil},
		{"drop", Faults{DropFragment: 1}, ntp.ErrTimeout},
		{"wrong sequence", Faults{WrongSequence: true}, ntp.ErrTimeout},
		{"silent", Faults{Silent: true}, ntp.ErrTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(Config{Peers: demoPeers(), Now: func() time.Time { return t0 }, Faults: c.faults})
			sess := dial(t, start(t, s), 1)
			_, vars, err := sess.ReadVar(context.Background(), 17767)
			if c.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := vars.Get("ntscookies"); got != "-1" {
					t.Errorf("last variable ntscookies = %q (reply not reassembled whole?)", got)
				}
				return
			}
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			t.Logf("error text: %v", err)
		})
	}
	t.Run("error bit", func(t *testing.T) {
		s := New(Config{Peers: demoPeers(), Faults: Faults{ErrorCode: int(ntp.CodePermission)}})
		_, _, err := dial(t, start(t, s), 1).ReadStat(context.Background())
		var se *ntp.ServerError
		if !errors.As(err, &se) || se.Code != ntp.CodePermission {
			t.Fatalf("err = %v, want permission denied", err)
		}
	})
}

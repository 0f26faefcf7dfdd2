package ntp_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/shared/status"
)

// ntpd is one real ntpsec daemon for every test of this binary that needs
// it (only one can own 127.0.0.1:123); TestMain stops it.
var ntpd testpeer.SharedNTPD

func TestMain(m *testing.M) {
	code := m.Run()
	ntpd.Stop()
	chronyd.Stop()
	os.Exit(code)
}

func realNtpd(t *testing.T) *testpeer.NTPD {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real ntpd")
	}
	return ntpd.Get(t)
}

func realSession(t *testing.T, d *testpeer.NTPD) *ntp.Session {
	t.Helper()
	sess, err := ntp.Client{Addr: d.Addr, Timeout: time.Second}.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

// TestRealNtpdMultiFragmentReadVar reads an association of the real ntpd,
// whose reply takes two fragments, both through the client and by hand, and
// reassembles the hand-collected fragments in every order with duplicates.
func TestRealNtpdMultiFragmentReadVar(t *testing.T) {
	d := realNtpd(t)
	sess := realSession(t, d)
	ctx := context.Background()
	_, assocs, err := sess.ReadStat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(assocs) != 2 {
		t.Fatalf("%d associations, want LOCAL and SHM", len(assocs))
	}
	for _, a := range assocs {
		resp, err := sess.Query(ctx, ntp.OpReadVar, a.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) <= ntp.MaxFragmentData {
			t.Errorf("assoc %d: %d bytes, expected a multi-fragment reply", a.ID, len(resp.Data))
		}
		vars := ntp.ParseVarList(resp.Data)
		if src, _ := vars.Get("srcadr"); !strings.HasPrefix(src, "127.127.") {
			t.Errorf("assoc %d: srcadr %q", a.ID, src)
		}
		if vars[len(vars)-1].Name != "ntscookies" {
			t.Errorf("assoc %d: last variable %q: reply cut short?", a.ID, vars[len(vars)-1].Name)
		}

		frags := rawFragments(t, d.Addr, a.ID)
		if len(frags) < 2 {
			t.Fatalf("assoc %d: %d fragments", a.ID, len(frags))
		}
		var want []byte
		for _, order := range [][]int{{0, 1}, {1, 0}, {1, 1, 0, 0}, {0, 1, 0}} {
			r := ntp.NewReassembler(0)
			done := false
			for _, i := range order {
				if i >= len(frags) {
					continue
				}
				if done, err = r.Add(frags[i]); err != nil {
					t.Fatal(err)
				}
			}
			if len(frags) == 2 && !done {
				t.Fatalf("order %v: incomplete: %s", order, r.Missing())
			}
			if want == nil {
				want = r.Data()
			} else if !bytes.Equal(r.Data(), want) {
				t.Errorf("order %v reassembles differently", order)
			}
		}
	}
}

// rawFragments sends one READVAR and collects the fragments until M is clear.
func rawFragments(t *testing.T, addr string, assoc uint16) []ntp.Packet {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(ntp.Packet{Version: 2, Opcode: ntp.OpReadVar, Sequence: 4242, AssocID: assoc}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	var out []ntp.Packet
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %d fragments: %v", len(out), err)
		}
		p, err := ntp.ParsePacket(append([]byte(nil), buf[:n]...))
		if err != nil {
			t.Fatal(err)
		}
		if p.Sequence != 4242 {
			continue
		}
		out = append(out, p)
		if !p.More {
			return out
		}
	}
}

func TestRealNtpdErrors(t *testing.T) {
	sess := realSession(t, realNtpd(t))
	ctx := context.Background()
	var se *ntp.ServerError
	if _, _, err := sess.ReadVar(ctx, 0, "stratum", "refid", "bogus"); !errors.As(err, &se) || se.Code != ntp.CodeUnknownVar {
		t.Errorf("unknown variable: %v", err)
	}
	if _, _, err := sess.ReadVar(ctx, 999); !errors.As(err, &se) || se.Code != ntp.CodeUnknownAssoc {
		t.Errorf("unknown association: %v", err)
	}
	_, vars, err := sess.ReadVar(ctx, 0, "stratum", "refid")
	if err != nil || len(vars) != 2 || vars[0].Name != "stratum" || vars[1].Name != "refid" {
		t.Errorf("named read: %v %v", vars, err)
	}
}

// TestRealNtpdTarget polls the real daemon. It has LOCAL(0) as system peer
// but, with "disable ntp", never clears its leap alarm: the server is
// reported Alert "unsynchronised", which is what ntpd itself says.
func TestRealNtpdTarget(t *testing.T) {
	d := realNtpd(t)
	host, _, _ := net.SplitHostPort(d.Addr)
	tg, err := ntp.NewTarget(config.NTPTarget{Name: "real", Address: host}, ntp.TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := pollOnce(t, tg)
	s, _ := statusOf(r, "ntp")
	if s.Status == status.Down || s.Status == status.Unknown {
		t.Fatalf("ntp status %s %q", s.Status, s.Reason)
	}
	t.Logf("ntp status: %s %q", s.Status, s.Reason)
	if s, _ := statusOf(r, "ntp-peer:127.127.1.0"); s.Status != status.Up {
		t.Errorf("LOCAL(0): %s %q", s.Status, s.Reason)
	}
	if s, _ := statusOf(r, "ntp-peer:127.127.28.0"); s.Status != status.Down {
		t.Errorf("SHM(0): %s %q", s.Status, s.Reason)
	}
	if r.Inventory == nil || len(r.Inventory.Attrs) != 3 || r.Inventory.Attrs[1].Props["remote"] != "LOCAL(0)" || r.Inventory.Attrs[1].Props["tally"] != "*" {
		t.Errorf("inventory %+v", r.Inventory)
	}
}

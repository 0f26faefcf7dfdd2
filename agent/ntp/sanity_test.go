package ntp

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

func TestQuantityRead(t *testing.T) {
	cases := []struct {
		q    quantity
		vars string
		want float64 // NaN: unknown
		bad  string
	}{
		{qOffset, "offset=1.5", 1.5, ""},
		{qOffset, "offset=-2147483647000", -2147483647000, ""},
		{qOffset, "other=1", math.NaN(), ""},
		{qOffset, "offset=-100000000000000000000.000000", math.NaN(), "server reported offset -1e+20 ms, not a valid offset"},
		{qOffset, "offset=-1e20", math.NaN(), "server reported offset -1e+20 ms, not a valid offset"},
		{qOffset, "offset=2147483648001", math.NaN(), "offset 2.147483648001e+12 ms"},
		{qOffset, "offset=NaN", math.NaN(), "server reported offset NaN ms, not a valid offset"},
		{qOffset, "offset=inf", math.NaN(), "server reported offset +Inf ms"},
		{qOffset, "offset=12ms\x1b[2J", math.NaN(), `server reported offset 12ms\x1b[2J, not a number`},
		{qDelay, "delay=0", 0, ""},
		{qDelay, "delay=-5.000000", math.NaN(), "server reported delay -5 ms, not a valid delay"},
		{qDelay, "delay=65536001", math.NaN(), "not a valid delay"},
		{qJitter, "jitter=-Inf", math.NaN(), "server reported jitter -Inf ms"},
		{qJitter, "jitter=0.25", 0.25, ""},
	}
	for _, c := range cases {
		got, bad := c.q.read(ParseVarList([]byte(c.vars)), c.q.name)
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) || (c.bad == "") != (bad == "") || !strings.Contains(bad, c.bad) {
			t.Errorf("%s from %q = %v %q, want %v %q", c.q.name, c.vars, got, bad, c.want, c.bad)
		}
	}
}

func TestStratumAndReach(t *testing.T) {
	strata := []struct {
		vars string
		want float64
		bad  string
	}{
		{"stratum=0", 0, ""}, {"stratum=16", 16, ""}, {"stratum=2", 2, ""}, {"x=1", math.NaN(), ""},
		{"stratum=17", math.NaN(), "server reported stratum 17, not a valid stratum (0..16)"},
		{"stratum=99", math.NaN(), "stratum 99"}, {"stratum=-1", math.NaN(), "stratum -1"},
		{"stratum=2.5", math.NaN(), "stratum 2.5"}, {"stratum=two", math.NaN(), "stratum two, not a number"},
	}
	for _, c := range strata {
		got, bad := readStratum(ParseVarList([]byte(c.vars)))
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) || (c.bad == "") != (bad == "") || !strings.Contains(bad, c.bad) {
			t.Errorf("stratum from %q = %v %q, want %v %q", c.vars, got, bad, c.want, c.bad)
		}
	}
	reaches := []struct {
		vars string
		want float64
		bad  string
	}{
		{"reach=0xff", 255, ""}, {"reach=0", 0, ""}, {"x=1", 0, ""},
		{"reach=0x1ff", math.NaN(), "server reported reach 0x1ff, not a valid reach register (0..0377)"},
		{"reach=-1", math.NaN(), "reach -1"}, {"reach=abc", math.NaN(), "reach abc, not a number"},
	}
	for _, c := range reaches {
		got, bad := readReach(ParseVarList([]byte(c.vars)))
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) || (c.bad == "") != (bad == "") || !strings.Contains(bad, c.bad) {
			t.Errorf("reach from %q = %v %q, want %v %q", c.vars, got, bad, c.want, c.bad)
		}
	}
}

// TestPeerKeyStable: clean addresses keep the key they always had; others
// are cleaned and bounded.
func TestPeerKeyStable(t *testing.T) {
	long := strings.Repeat("a", 300)
	cases := []struct{ addr, remote, want string }{
		{"192.0.2.10", "192.0.2.10", "ntp-peer:192.0.2.10"},
		{"2001:db8::1", "2001:db8::1", "ntp-peer:2001:db8::1"},
		{"0.0.0.0", "pool.ntp.org", "ntp-peer:pool.ntp.org"},
		{"", "LOCAL(0)", "ntp-peer:LOCAL(0)"},
		{"192.0.2.1\x1b[2J", "", `ntp-peer:192.0.2.1\x1b[2J`},
		{long, "", "ntp-peer:" + long[:maxPeerAddress-len(safetext.Ellipsis)] + safetext.Ellipsis},
	}
	for _, c := range cases {
		if got := PeerKey(c.addr, c.remote); got != c.want {
			t.Errorf("PeerKey(%q, %q) = %q, want %q", c.addr, c.remote, got, c.want)
		}
		if got := PeerKey(c.addr, c.remote); len(got)+len("#99") > safetext.MaxName {
			t.Errorf("PeerKey(%q) leaves no room for a duplicate suffix: %d bytes", c.addr, len(got))
		}
	}
}

// FuzzEvaluate: whatever variables a server answers, Evaluate does not
// panic, every string of the report is clean, and every sample is either
// within the bounds of its quantity or unknown (NaN) with an Alert or
// Down status naming why.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte("stratum=2, offset=1.5, sys_jitter=0.3, version=\"ntpd \x1b[2J\"\r\n"), []byte("srcadr=192.0.2.1, offset=-1e20, delay=-5, jitter=inf, reach=0x1ff, stratum=99"), uint16(0x9614))
	f.Add([]byte("stratum=99, offset=NaN, refid=<script>"), []byte("srcadr=\"\xff\x00\", srchost=\"LOCAL(0)\", offset=abc, delay=1e400"), uint16(0x9614))
	f.Add([]byte(""), []byte(""), uint16(0))
	tg, err := NewTarget(config.NTPTarget{Name: "fz", Address: "192.0.2.1"}, TargetOptions{})
	if err != nil {
		f.Fatal(err)
	}
	codec, err := wire.NewCodec()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sysText, peerText []byte, peerStatus uint16) {
		sysVars := ParseVarList(sysText)
		snap := &Snapshot{Time: time.Unix(1_800_000_000, 0), System: systemFromVars(SystemStatus(0), sysVars),
			Peers: []Peer{{AssocID: 1, Status: PeerStatus(peerStatus), Vars: ParseVarList(peerText)}, {AssocID: 2, Status: PeerStatus(peerStatus), Vars: ParseVarList(peerText)}}}
		r := tg.Evaluate(snap)
		bounds := map[string][2]float64{"offset": {-maxOffsetMS / 1e3, maxOffsetMS / 1e3}, "delay": {0, maxSpreadMS / 1e3},
			"jitter": {0, maxSpreadMS / 1e3}, "stratum": {0, MaxStratum}, "reach": {0, maxReach}, "synced": {0, 1}}
		st := map[string]wire.AttrStatus{}
		for _, s := range r.Statuses {
			st[s.Attr] = s
			if !safetext.IsLine(s.Attr, safetext.MaxName) || !safetext.IsLine(s.Reason, safetext.MaxText) {
				t.Fatalf("status not clean: %+v", s)
			}
		}
		for _, p := range r.Points {
			if !safetext.IsLine(p.Key.Attr, safetext.MaxName) {
				t.Fatalf("key not clean: %q", p.Key.Attr)
			}
			b := bounds[p.Key.DS]
			if math.IsNaN(p.Float) {
				if s := st[p.Key.Attr]; s.Status != status.Alert && s.Status != status.Down {
					t.Fatalf("%s/%s unknown with status %v %q", p.Key.Attr, p.Key.DS, s.Status, s.Reason)
				}
				continue
			}
			if p.Float < b[0] || p.Float > b[1] {
				t.Fatalf("%s/%s = %v outside %v", p.Key.Attr, p.Key.DS, p.Float, b)
			}
		}
		enc, err := codec.Marshal(&wire.Batch{Seq: 1, Statuses: r.Statuses, Hosts: []wire.Host{*r.Inventory}})
		if err != nil {
			t.Fatal(err)
		}
		if err := codec.Unmarshal(enc, new(wire.Batch)); err != nil {
			t.Fatalf("the collector's codec refuses the report: %v", err)
		}
		for _, row := range snap.Rows() {
			if line := row.Format(); !safetext.IsLine(line, 4096) {
				t.Fatalf("table line not clean: %q", line)
			}
		}
	})
}

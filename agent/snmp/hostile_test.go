package snmp

import (
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/wire"
)

// checkReportClean fails the test for any string of rep that is not clean
// as the wire contract (and the batcher's guard) wants it: keys, names and
// properties one line of at most MaxName bytes, sysDescr and descriptions
// text of at most MaxText. It also encodes the report as a batch and
// decodes it with the collector's strict codec.
func checkReportClean(t *testing.T, rep poll.Report) {
	t.Helper()
	line := func(what, s string) {
		if !safetext.IsLine(s, safetext.MaxName) {
			t.Errorf("%s not a clean line: %q", what, s)
		}
	}
	for _, p := range rep.Points {
		line("series host", p.Key.Host)
		line("series attribute", p.Key.Attr)
		line("series data source", p.Key.DS)
	}
	for _, s := range rep.Statuses {
		line("status attribute", s.Attr)
		line("status reason", s.Reason)
	}
	if h := rep.Inventory; h != nil {
		for what, s := range map[string]string{"name": h.Name, "address": h.Address, "sysName": h.SysName, "sysObjectID": h.SysObjectID,
			"location": h.Location, "contact": h.Contact} {
			line(what, s)
		}
		if !safetext.IsText(h.SysDescr, safetext.MaxText) {
			t.Errorf("sysDescr not clean text: %q", h.SysDescr)
		}
		for _, a := range h.Attrs {
			line("attribute key", a.Key)
			line("attribute name", a.Name)
			if !safetext.IsText(a.Descr, safetext.MaxText) {
				t.Errorf("attribute %q: description not clean: %q", a.Key, a.Descr)
			}
			for k, v := range a.Props {
				line("property name", k)
				line("property "+k, v)
			}
		}
	}
	codec, err := wire.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	b := &wire.Batch{Seq: 1, Statuses: rep.Statuses}
	if rep.Inventory != nil {
		b.Hosts = []wire.Host{*rep.Inventory}
	}
	enc, err := codec.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := codec.Unmarshal(enc, new(wire.Batch)); err != nil {
		t.Errorf("the collector's codec refuses the report: %v", err)
	}
}

// TestHostileDevice polls a simulated device whose every string is
// hostile (snmpsim.Hostile): what the poller reports is clean, hostile
// bytes show as escapes, identities stay unique and stable, and the
// counters still flow.
func TestHostileDevice(t *testing.T) {
	cat := snmpsim.HostileStrings()
	cfg := snmpsim.Hostile(snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(len(cat)+3, 11), Seed: 11})
	b := startSim(t, cfg)
	tg := b.target(t, func(tc *config.SNMPTarget) { tc.HostResources = true })
	rep := pollOnce(t, tg)
	checkReportClean(t, rep)
	dev := tg.Device()

	sys := dev.System
	if !strings.HasPrefix(sys.Descr, "<script>window.__outpostXSS=1</script>\nsecond line \\x1b[2J\\xff\nLLLL") ||
		!strings.HasSuffix(sys.Descr, safetext.Ellipsis) || len(sys.Descr) > safetext.MaxText {
		t.Errorf("sysDescr %q", sys.Descr[:min(len(sys.Descr), 120)])
	}
	if sys.Location != `B\xfcro 2.OG ../../etc` || sys.Contact != `\x00noc\x1b]0;title\x07@example.net` || !strings.HasPrefix(sys.Name, `sw\xc3(<b>`) {
		t.Errorf("system %+v", sys)
	}

	byName := map[string]Interface{}
	ids := map[string]bool{}
	for _, r := range dev.Interfaces {
		byName[r.Name] = r
		if ids[r.Identity] {
			t.Errorf("identity %q twice", r.Identity)
		}
		ids[r.Identity] = true
		if len(keyPrefixInterface+r.Identity) > safetext.MaxName {
			t.Errorf("key of %q is %d bytes", r.Identity, len(r.Identity))
		}
	}
	want := map[string]string{ // raw ifName -> the cleaned name
		"port\xff1":           `port\xff1`,
		"bad\xc3\x28seq":      `bad\xc3(seq`,
		"euro\xe2\x82":        `euro\xe2\x82`,
		"nul\x00byte":         `nul\x00byte`,
		"over\rwritten":       `over\x0dwritten`,
		"csi\xc2\x9b31m":      `csi\u009b31m`,
		"abc\u202edcba\u2066": `abc\u202edcba\u2066`,
	}
	for raw, clean := range want {
		r, ok := byName[clean]
		if !ok {
			t.Errorf("no interface named %q (from %q)", clean, raw)
			continue
		}
		// Its identity is the clean name, unless an earlier interface took
		// that text as its own (falling back from a duplicate name to its
		// ifDescr, which the catalogue shares): identities never repeat.
		if r.Identity != clean && !ids[clean] {
			t.Errorf("%q: identity %q, and no interface has its clean name as identity", clean, r.Identity)
		}
	}
	// Two raw names that clean to the same text, and two long names with
	// the same prefix up to the cut, are duplicates: their identities
	// fall back to the next key (ifDescr), like any duplicate name.
	for _, name := range []string{`B\xfcro 2.OG`, strings.Repeat("x", safetext.MaxName-len(safetext.Ellipsis)) + safetext.Ellipsis} {
		n := 0
		for _, r := range dev.Interfaces {
			if r.Name == name {
				n++
				if r.Identity == safetext.Line(name, maxIdentity) {
					t.Errorf("duplicate name %q kept as identity", name)
				}
			}
		}
		if n != 2 {
			t.Errorf("%d interfaces named %q, want 2", n, name)
		}
	}
	if r := dev.Interfaces[1]; len(r.PhysAddress) > safetext.MaxName || !strings.HasSuffix(r.PhysAddress, safetext.Ellipsis) ||
		!strings.HasPrefix(r.PhysAddress, "00:01:02:03") {
		t.Errorf("300-byte ifPhysAddress as %q", r.PhysAddress)
	}
	if len(dev.Storage) != 3 || dev.Storage[0].Descr != "../../../../tmp/outpost-escape" || dev.Storage[2].Descr != `C:\ Label:\xff Serial Number 1f2e\x1b[0m` {
		t.Errorf("storage %+v", dev.Storage)
	}

	// Data flows: the second poll has every counter of every interface,
	// under the same keys.
	b.clock.Advance(time.Minute)
	rep2 := pollOnce(t, tg)
	checkReportClean(t, rep2)
	pts := pointMap(rep2)
	for _, r := range tg.Device().Interfaces {
		if _, ok := pts[keyPrefixInterface+r.Identity+"/in_octets"]; !ok {
			t.Errorf("no in_octets for %q on the second poll", r.Identity)
		}
		if !ids[r.Identity] {
			t.Errorf("identity %q changed between polls", r.Identity)
		}
	}
}

// TestIdentityStable: names that are already clean keep the key they had
// before cleaning existed (identity = the name); names that need cleaning
// get their cleaned text; duplicates after cleaning fall back.
func TestIdentityStable(t *testing.T) {
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	cases := []struct {
		name string
		ifs  []Interface
		want []string
	}{
		{"clean names unchanged", []Interface{{Index: 1, Name: "ge-0/0/1"}, {Index: 2, Name: "Gi1/0/10"}, {Index: 3, Name: "Ethernet 1 (Intel® PRO/1000) → core"}},
			[]string{"ge-0/0/1", "Gi1/0/10", "Ethernet 1 (Intel® PRO/1000) → core"}},
		{"longest clean name unchanged", []Interface{{Index: 1, Name: long("n", maxIdentity)}}, []string{long("n", maxIdentity)}},
		{"longer name cut", []Interface{{Index: 1, Name: long("n", maxIdentity+1)}}, []string{long("n", maxIdentity-len(safetext.Ellipsis)) + safetext.Ellipsis}},
		{"escaped", []Interface{{Index: 1, Name: "B\xfcro"}, {Index: 2, Name: "a\x1b[2Jb"}}, []string{`B\xfcro`, `a\x1b[2Jb`}},
		{"same after cleaning", []Interface{{Index: 1, Name: "B\xfcro", Descr: "one"}, {Index: 2, Name: `B\xfcro`, Descr: "two"}}, []string{"one", "two"}},
		{"same prefix up to the cut", []Interface{{Index: 1, Name: long("p", 300) + "1", Descr: "d1"}, {Index: 2, Name: long("p", 300) + "2", Descr: "d2"}},
			[]string{"d1", "d2"}},
		{"everything duplicate: ifIndex", []Interface{{Index: 4, Name: long("p", 300) + "1", Descr: long("q", 300) + "1"}, {Index: 9, Name: long("p", 300) + "2", Descr: long("q", 300) + "2"}},
			[]string{"ifIndex.4", "ifIndex.9"}},
	}
	for _, c := range cases {
		AssignIdentities(c.ifs, nil)
		for i, r := range c.ifs {
			if r.Identity != c.want[i] {
				t.Errorf("%s: ifIndex %d identity %q, want %q", c.name, r.Index, r.Identity, c.want[i])
			}
			if !safetext.IsLine(keyPrefixInterface+r.Identity, safetext.MaxName) {
				t.Errorf("%s: key %q not a clean MaxName line", c.name, r.Identity)
			}
		}
	}
}

package snmp

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/testbed"
)

func intp(v int) *int { return &v }

func v2cTarget(d *testpeer.SNMPD, community string) config.SNMPTarget {
	return config.SNMPTarget{Name: "dev", Address: d.Host, SNMPSettings: config.SNMPSettings{
		Port: d.Port, Version: "2c", Community: secret.New(community),
		Timeout: configfile.Duration(2 * time.Second), Retries: intp(1),
	}}
}

// failFast shortens the timeouts of a target that is expected to fail.
func failFast(tc config.SNMPTarget) config.SNMPTarget {
	tc.Timeout, tc.Retries = configfile.Duration(500*time.Millisecond), intp(0)
	return tc
}

func v3Target(d *testpeer.SNMPD, auth, authPass, priv, privPass string) config.SNMPTarget {
	return config.SNMPTarget{Name: "dev", Address: d.Host, SNMPSettings: config.SNMPSettings{
		Port: d.Port, Version: "3",
		V3: &config.SNMPv3{User: d.User, Level: "authPriv", AuthProtocol: auth, AuthPassphrase: secret.New(authPass),
			PrivProtocol: priv, PrivPassphrase: secret.New(privPass)},
		Timeout: configfile.Duration(2 * time.Second), Retries: intp(1),
	}}
}

// snmpwalkDescrs lists ifIndex -> ifDescr as net-snmp's snmpwalk sees them.
func snmpwalkDescrs(t *testing.T, d *testpeer.SNMPD) map[uint32]string {
	t.Helper()
	walk := testbed.RequireTool(t, "snmpwalk")
	out, err := exec.Command(walk, "-v2c", "-c", d.Community, "-On", "-Oq", d.Addr(), "1.3.6.1.2.1.2.2.1.2").CombinedOutput()
	if err != nil {
		t.Fatalf("snmpwalk: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`^\.1\.3\.6\.1\.2\.1\.2\.2\.1\.2\.(\d+) (.*)$`)
	got := map[uint32]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected snmpwalk line %q", line)
		}
		idx, _ := strconv.Atoi(m[1])
		got[uint32(idx)] = strings.Trim(m[2], `"`)
	}
	if len(got) == 0 {
		t.Fatal("snmpwalk listed no interfaces")
	}
	return got
}

func TestSNMPDDiscoverAndPoll(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	d := testpeer.StartSNMPD(t, testpeer.SNMPDConfig{SysName: "outpost-sim"})
	want := snmpwalkDescrs(t, d)
	cases := []struct {
		name string
		tc   config.SNMPTarget
	}{
		{"v2c", v2cTarget(d, d.Community)},
		{"v3 authPriv SHA/AES", v3Target(d, "SHA", d.AuthPass, "AES", d.PrivPass)},
		{"v3 authPriv spelled SHA-1/AES-128", v3Target(d, "sha-1", d.AuthPass, "AES-128", d.PrivPass)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.tc.OIDs = []config.OIDSpec{{Name: "uptime", OID: "SNMPv2-MIB::sysUpTime.0"}, {Name: "ifs", OID: "IF-MIB::ifNumber"}}
			c.tc.HostResources = true
			tg, err := New(c.tc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			var reps []poll.Report
			sink := poll.SinkFunc(func(r poll.Report) { reps = append(reps, r) })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for i := 0; i < 2; i++ {
				if err := tg.Poll(ctx, sink); err != nil {
					t.Fatalf("poll %d: %v", i, err)
				}
			}
			if reps[0].Inventory == nil || reps[1].Inventory != nil {
				t.Fatalf("inventory on first poll only: got %v, %v", reps[0].Inventory != nil, reps[1].Inventory != nil)
			}
			inv := reps[0].Inventory
			if inv.SysName != "outpost-sim" || !inv.Complete {
				t.Errorf("inventory sysName %q complete %v", inv.SysName, inv.Complete)
			}
			got := map[uint32]string{}
			for _, r := range tg.Device().Interfaces {
				got[r.Index] = r.Descr
			}
			if !equalMaps(got, want) {
				t.Fatalf("discovered interfaces %v, snmpwalk lists %v", got, want)
			}
			// Every interface has points for its counters with the right width and one time.
			byKey := map[string]sample.Point{}
			for _, p := range reps[1].Points {
				byKey[p.Key.Attr+"/"+p.Key.DS] = p
				if p.Reset {
					t.Errorf("%s flagged Reset without a discontinuity", p.Key)
				}
			}
			for _, r := range tg.Device().Interfaces {
				p, ok := byKey["if:"+r.Identity+"/in_octets"]
				if !ok {
					t.Fatalf("no in_octets for %s", r.Identity)
				}
				wantKind := sample.Counter32
				if r.HC {
					wantKind = sample.Counter64
				}
				if p.Kind != wantKind {
					t.Errorf("%s in_octets kind %v, want %v", r.Identity, p.Kind, wantKind)
				}
				if _, ok := byKey["if:"+r.Identity+"/in_errors"]; !ok {
					t.Errorf("no in_errors for %s", r.Identity)
				}
			}
			if !tg.Device().Interfaces[0].HC {
				t.Errorf("snmpd serves ifHCInOctets; interface %s not HC", tg.Device().Interfaces[0].Identity)
			}
			if p := byKey["host/reachable"]; p.Float != 1 {
				t.Errorf("host reachable %v", p.Float)
			}
			if p := byKey["oid:ifs/value"]; int(p.Float) != len(want) {
				t.Errorf("oid:ifs = %v, want %d", p.Float, len(want))
			}
			if _, ok := byKey["oid:uptime/value"]; !ok {
				t.Error("no oid:uptime sample")
			}
			if len(tg.Device().Storage) == 0 {
				t.Error("no hrStorage discovered")
			}
			sts := map[string]status.Status{}
			for _, s := range reps[1].Statuses {
				sts[s.Attr] = s.Status
			}
			if sts["host"] != status.Up {
				t.Errorf("host status %v", sts["host"])
			}
			for _, r := range tg.Device().Interfaces {
				if r.Descr == "lo" && sts["if:lo"] != status.Up {
					t.Errorf("if:lo status %v (admin %d oper %d)", sts["if:lo"], r.AdminStatus, r.OperStatus)
				}
			}
			// Requests: one Get for scalars, bulk over the columns (a handful).
			if n := tg.Requests(); n < 2 || n > 6 {
				t.Errorf("second poll sent %d requests, want 2..6", n)
			}
		})
	}
}

func equalMaps(a, b map[uint32]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSNMPDErrorsAreClearAndSecretFree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	d := testpeer.StartSNMPD(t, testpeer.SNMPDConfig{})
	cases := []struct {
		name     string
		tc       config.SNMPTarget
		sentinel error
		want     string
		secrets  []string
	}{
		{"wrong community", v2cTarget(d, "wrong-community-xyz"), ErrNoResponse,
			"no response from " + d.Addr() + " (wrong community, ACL, or host down)", []string{"wrong-community-xyz"}},
		{"wrong auth passphrase", v3Target(d, "SHA", "not-the-auth-pass", "AES", d.PrivPass), ErrWrongAuth,
			`wrong authentication passphrase for user "` + d.User + `"`, []string{"not-the-auth-pass", d.PrivPass}},
		{"wrong auth protocol", v3Target(d, "SHA-256", d.AuthPass, "AES", d.PrivPass), ErrWrongAuth,
			"wrong authentication passphrase", []string{d.AuthPass, d.PrivPass}},
		{"wrong priv passphrase", v3Target(d, "SHA", d.AuthPass, "AES", "not-the-priv-pass"), ErrWrongPriv,
			`wrong privacy passphrase for user "` + d.User + `"`, []string{d.AuthPass, "not-the-priv-pass"}},
	}
	noPriv := v3Target(d, "SHA", d.AuthPass, "", "")
	noPriv.V3.Level = "authNoPriv"
	cases = append(cases, struct {
		name     string
		tc       config.SNMPTarget
		sentinel error
		want     string
		secrets  []string
	}{"level below rouser priv", noPriv, ErrAccessDenied, `access denied for user "` + d.User + `" at security level authNoPriv`, []string{d.AuthPass}})
	unknown := v3Target(d, "SHA", d.AuthPass, "AES", d.PrivPass)
	unknown.V3.User = "nobody-here"
	cases = append(cases, struct {
		name     string
		tc       config.SNMPTarget
		sentinel error
		want     string
		secrets  []string
	}{"unknown user", unknown, ErrUnknownUser, `unknown SNMPv3 user "nobody-here"`, []string{d.AuthPass, d.PrivPass}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg, err := New(failFast(c.tc), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			var got []poll.Report
			err = tg.Poll(context.Background(), poll.SinkFunc(func(r poll.Report) { got = append(got, r) }))
			if err == nil {
				t.Fatal("poll succeeded")
			}
			if !errors.Is(err, c.sentinel) {
				t.Errorf("error %q is not %v", err, c.sentinel)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			for _, s := range c.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains a secret", err)
				}
			}
			if len(got) != 1 || len(got[0].Statuses) == 0 || got[0].Statuses[0].Attr != "host" || got[0].Statuses[0].Status != status.Down {
				t.Fatalf("unreachable device not reported as host Down: %+v", got)
			}
			for _, s := range got[0].Statuses {
				for _, sec := range c.secrets {
					if strings.Contains(s.Reason, sec) {
						t.Errorf("status reason %q contains a secret", s.Reason)
					}
				}
			}
		})
	}
}

func TestSNMPDPortMatchIdentities(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	d := testpeer.StartSNMPD(t, testpeer.SNMPDConfig{})
	tc := v2cTarget(d, d.Community)
	tc.PortMatch = []string{"ifIndex"}
	tg, err := New(tc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	dev, err := tg.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range dev.Interfaces {
		ids = append(ids, r.Identity)
		if r.Identity != "ifIndex."+strconv.Itoa(int(r.Index)) {
			t.Errorf("port_match ifIndex: identity %q for index %d", r.Identity, r.Index)
		}
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		t.Fatal("no interfaces")
	}
}

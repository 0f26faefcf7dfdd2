package config

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/testbed/golden"
)

// TestBadConfigs loads every file in testdata/bad and compares its error
// with the line of the same name in testdata/errors.golden.
func TestBadConfigs(t *testing.T) {
	t.Setenv(MIBHelperEnv, testbed.GoBuild(t, "github.com/outpost-nms/outpost/agent/cmd/outpost-agent-mibs"))
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("testdata/bad: %d files, %v", len(files), err)
	}
	sort.Strings(files)
	var got strings.Builder
	for _, f := range files {
		_, err := Load(f)
		if err == nil {
			t.Errorf("%s: loaded without error", f)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error is not one line: %q", f, msg)
		}
		// Every message names the file and, except for an empty file, a line.
		if !regexp.MustCompile(`^`+regexp.QuoteMeta(f)+`:\d+(:\d+)?: `).MatchString(msg) && filepath.Base(f) != "empty.yaml" {
			t.Errorf("%s: error does not start with file:line: %q", f, msg)
		}
		for _, s := range []string{"secret-auth-pass", "secret-priv-pass", "s3cr3t", "public"} {
			if strings.Contains(msg, s) {
				t.Errorf("%s: error reveals a secret: %q", f, msg)
			}
		}
		got.WriteString(msg + "\n")
	}
	goldenPath := filepath.Join("testdata", "errors.golden")
	if golden.Update() {
		if err := os.WriteFile(goldenPath, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
}

func TestExample(t *testing.T) {
	c, err := Load("../../configs/agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "site-paris" || len(c.SNMP) != 2 || len(c.NTP) != 3 {
		t.Fatalf("loaded %+v", c)
	}
	for i, want := range []struct {
		protocol         string
		port, chronyPort int
	}{{"auto", 123, 323}, {"chrony", 123, 323}, {"sntp", 123, 323}} {
		if n := c.NTP[i]; n.Protocol != want.protocol || n.Port != want.port || n.ChronyPort != want.chronyPort {
			t.Errorf("ntp[%d] = %+v", i, n)
		}
	}
	if tr := c.Traps; tr == nil || tr.Listen != ":162" || len(tr.Communities) != 1 || len(tr.V3Users) != 1 ||
		tr.V3Users[0].AuthProtocol != "SHA256" || tr.RatePerSource != 100 || tr.Burst != 200 || tr.QueueSize != 10000 ||
		len(c.SNMP[0].TrapSources) != 1 {
		t.Errorf("traps = %+v", tr)
	}
	if id := c.EffectiveEngineID(); string(id) != "\x80\x00\x1f\x88\x04outpost:site-paris" {
		t.Errorf("engine ID %x", id)
	}
	sw1, sw2 := c.SNMP[0], c.SNMP[1]
	if sw1.Version != "2c" || sw1.Community.Reveal() != "public" || sw1.Port != 161 || sw1.Interval.D() != time.Minute ||
		sw1.Timeout.D() != 2*time.Second || *sw1.Retries != 1 || sw1.OIDs[0].Type != "gauge" {
		t.Errorf("sw1 = %+v", sw1.SNMPSettings)
	}
	if sw2.Version != "3" || sw2.V3.Level != "authPriv" || sw2.V3.AuthProtocol != "SHA256" || sw2.V3.PrivProtocol != "AES" ||
		sw2.Interval.D() != 5*time.Minute || sw2.Timeout.D() != 5*time.Second || sw2.Rediscover.D() != time.Hour {
		t.Errorf("sw2 = %+v %+v", sw2.SNMPSettings, sw2.V3)
	}
	if c.Collector.ServerName != "collector.example.net" || c.Spool.SegmentBytes != 16<<20 || c.Collector.ReconnectMax.D() != 2*time.Minute {
		t.Errorf("collector/spool defaults: %+v %+v", c.Collector, c.Spool)
	}
	n := c.NTP[0]
	if n.Port != 123 || *n.Retries != 2 || n.OffsetThreshold.D() != 100*time.Millisecond || n.Timeout.D() != 2*time.Second {
		t.Errorf("ntp = %+v", n)
	}
}

func TestMinimalDefaults(t *testing.T) {
	c, err := Parse("min.yaml", []byte("name: a\ncollector: {address: \"[::1]:4700\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Spool.Dir != DefaultSpoolDir || c.Spool.MaxBytes != DefaultSpoolMaxBytes || c.Spool.MaxAge.D() != DefaultSpoolMaxAge ||
		c.Scheduler.MaxConcurrent != 64 || c.Collector.CA != DefaultPKIDir+"/ca.pem" || c.Collector.ServerName != "::1" ||
		c.Log.Level != "info" || c.Log.Format != "text" || c.EffectiveMemoryLimit() != MemoryLimitBase {
		t.Errorf("defaults: %+v", c)
	}
}

// TestMemoryLimit: memory_limit as written, or the default for the number
// of targets (SNMP and NTP) when it is 0 or absent.
func TestMemoryLimit(t *testing.T) {
	targets := "snmp:\n  - {name: s1, address: x, community: c}\n  - {name: s2, address: y, community: c}\nntp:\n  - {name: n1, address: z}\n"
	tests := []struct {
		name, src string
		want      int64
	}{
		{"absent, no targets", "", MemoryLimitBase},
		{"absent, three targets", targets, MemoryLimitBase + 3*MemoryLimitPerTarget},
		{"zero", "memory_limit: 0\n" + targets, MemoryLimitBase + 3*MemoryLimitPerTarget},
		{"set", "memory_limit: 200MiB\n" + targets, 200 << 20},
		{"smallest", "memory_limit: 8MiB\n", MinMemoryLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("m.yaml", []byte("name: a\ncollector: {address: \"c:4700\"}\n"+tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.EffectiveMemoryLimit(); got != tc.want {
				t.Errorf("EffectiveMemoryLimit %d, want %d", got, tc.want)
			}
		})
	}
	if got := DefaultMemoryLimit(1000); got != 16<<20+1000*10<<10 {
		t.Errorf("DefaultMemoryLimit(1000) = %d", got)
	}
}

// TestSettingsPrecedence: target over snmp_defaults over built-in defaults.
func TestSettingsPrecedence(t *testing.T) {
	src := `name: a
collector: {address: "c:4700"}
snmp_defaults:
  community: def
  interval: 30s
  retries: 3
  port_match: [ifdescr]
  v3: {user: du, level: authNoPriv, auth_protocol: sha-512, auth_passphrase: "12345678"}
snmp:
  - {name: a1, address: x, interval: 10s, retries: 0}
  - {name: a2, address: y, community: own, port: 1161, max_oids: 10, port_match: [ifIndex]}
  - {name: a3, address: z, version: v3}
  - {name: a4, address: w, version: "3", v3: {user: own, level: noAuthNoPriv}}
`
	c, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a1, a2, a3, a4 := c.SNMP[0], c.SNMP[1], c.SNMP[2], c.SNMP[3]
	if a1.Interval.D() != 10*time.Second || *a1.Retries != 0 || a1.Community.Reveal() != "def" || a1.Port != 161 ||
		a1.MaxOIDs != DefaultMaxOIDs || strings.Join(a1.PortMatch, ",") != "ifDescr" || a1.Timeout.D() != DefaultTimeout {
		t.Errorf("a1 = %+v", a1.SNMPSettings)
	}
	if a2.Interval.D() != 30*time.Second || *a2.Retries != 3 || a2.Community.Reveal() != "own" || a2.Port != 1161 ||
		a2.MaxOIDs != 10 || strings.Join(a2.PortMatch, ",") != "ifIndex" {
		t.Errorf("a2 = %+v", a2.SNMPSettings)
	}
	if a3.Version != "3" || a3.V3.User != "du" || a3.V3.AuthProtocol != "SHA512" || a3.V3.Level != "authNoPriv" {
		t.Errorf("a3 = %+v %+v", a3.SNMPSettings, a3.V3)
	}
	if a4.V3.User != "own" || a4.V3.AuthProtocol != "" {
		t.Errorf("a4 v3 = %+v", a4.V3)
	}
	// The resolved copies share nothing with the defaults.
	a3.V3.User = "changed"
	if c.Defaults.V3.User != "du" || c.SNMP[0].V3.User != "du" {
		t.Error("resolved v3 aliases the defaults")
	}
	// SNMPTargetSettings on a config built in code.
	built := &Config{Defaults: SNMPDefaults{SNMPSettings{Version: "1"}}, SNMP: []SNMPTarget{{Name: "b"}}}
	s := built.SNMPTargetSettings(0)
	if s.Version != "1" || s.Port != 161 || s.Interval.D() != DefaultInterval || *s.Retries != 1 || len(s.PortMatch) != 4 {
		t.Errorf("built = %+v", s)
	}
}

func TestProtocolSpellings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"md5", "MD5"}, {"SHA", "SHA"}, {"sha1", "SHA"}, {"SHA-224", "SHA224"}, {"SHA256", "SHA256"},
		{"sha-384", "SHA384"}, {"SHA_512", "SHA512"},
	} {
		if got, ok := canonicalProtocol(tc.in, authProtocols); !ok || got != tc.want {
			t.Errorf("auth %q = %q %v", tc.in, got, ok)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"des", "DES"}, {"AES", "AES"}, {"AES-128", "AES"}, {"AES-192", "AES192"}, {"AES256", "AES256"},
		{"AES-192-C", "AES192C"}, {"aes256c", "AES256C"}, {"AES-256-C", "AES256C"},
	} {
		if got, ok := canonicalProtocol(tc.in, privProtocols); !ok || got != tc.want {
			t.Errorf("priv %q = %q %v", tc.in, got, ok)
		}
	}
	for _, bad := range []string{"SHA3", "3DES", "AES-512", ""} {
		if _, ok := canonicalProtocol(bad, append(authProtocols, privProtocols...)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestMIBNames: oids entries by name resolve at load, built-in names and
// numbers without MIB files, others with mib_dirs (searched before
// net-snmp's directories) and Debian's net-snmp MIBs.
func TestMIBNames(t *testing.T) {
	t.Setenv(MIBHelperEnv, testbed.GoBuild(t, "github.com/outpost-nms/outpost/agent/cmd/outpost-agent-mibs"))
	dir := t.TempDir()
	f := filepath.Join(dir, "agent.yaml")
	body := `name: site1
collector:
  address: collector.example.net:4700
mib_dirs: [testdata/mibs]
snmp:
  - name: sw1
    address: 192.0.2.1
    community: public
    oids:
      - {name: errors, oid: IF-MIB::ifInErrors.3, type: counter32}
      - {name: num, oid: .1.3.6.1.2.1.1.3.0}
      - {name: temp, oid: OUTPOST-SITE-MIB::outpostSiteTemperature}
      - {name: charge, oid: outpostSiteUpsCharge.2}
`
	if _, err := os.Stat("/usr/share/snmp/mibs/UCD-SNMP-MIB.txt"); err == nil {
		body += "      - {name: mem, oid: UCD-SNMP-MIB::memTotalReal}\n"
	} else {
		t.Log("no Debian net-snmp MIBs (libsnmp-base): UCD-SNMP-MIB not tried")
	}
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	// Without the helper, a name that needs MIBs is a clear error; built-in
	// names and numbers never need it.
	t.Setenv(MIBHelperEnv, filepath.Join(dir, "no-such-helper"))
	if _, err := Load(f); err == nil || !strings.Contains(err.Error(), "snmp[0].oids[2].oid: OUTPOST-SITE-MIB::outpostSiteTemperature: ") {
		t.Errorf("without the helper: %v", err)
	}
	want := map[string]string{
		"errors": "", "num": "",
		"temp":   "1.3.6.1.4.1.99997.1.0",
		"charge": "1.3.6.1.4.1.99997.2.1.2.2",
		"mem":    "1.3.6.1.4.1.2021.4.5.0",
	}
	for _, o := range c.SNMP[0].OIDs {
		if o.Resolved != want[o.Name] {
			t.Errorf("%s (%s): resolved %q, want %q", o.Name, o.OID, o.Resolved, want[o.Name])
		}
	}
}

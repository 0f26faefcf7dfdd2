package snmp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestSNMPDNamedUserOIDs: user OIDs written by name in an agent config
// file, resolved at load with Debian's net-snmp MIBs (UCD-SNMP-MIB) and a
// mib_dirs directory, are polled from a real snmpd and read the values
// snmpget reads.
func TestSNMPDNamedUserOIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	if _, err := os.Stat("/usr/share/snmp/mibs/UCD-SNMP-MIB.txt"); err != nil {
		testbed.Missing(t, "no /usr/share/snmp/mibs/UCD-SNMP-MIB.txt (Debian's libsnmp-base)")
	}
	t.Setenv(config.MIBHelperEnv, testbed.GoBuild(t, "github.com/outpost-nms/outpost/agent/cmd/outpost-agent-mibs"))
	d := testpeer.StartSNMPD(t, testpeer.SNMPDConfig{SysName: "outpost-mib"})
	// testdata/mibs holds only the SNMPv2-SMI registration roots, which
	// Debian does not ship (they come with snmp-mibs-downloader).
	mibDir, err := filepath.Abs("testdata/mibs")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "agent.yaml")
	body := fmt.Sprintf(`name: site1
collector:
  address: 127.0.0.1:4700
mib_dirs: [%s]
snmp:
  - name: dev
    address: %s
    port: %d
    community: %s
    oids:
      - {name: memtotal, oid: UCD-SNMP-MIB::memTotalReal}
      - {name: swaptotal, oid: memTotalSwap.0}
      - {name: ifs, oid: IF-MIB::ifNumber}
`, mibDir, d.Host, d.Port, d.Community)
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := New(cfg.SNMP[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	var reps []poll.Report
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tg.Poll(ctx, poll.SinkFunc(func(r poll.Report) { reps = append(reps, r) })); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range reps {
		for _, p := range r.Points {
			got[p.Key.Attr] = p.Float
		}
	}
	get := testbed.RequireTool(t, "snmpget")
	for attr, oid := range map[string]string{
		"oid:memtotal":  "1.3.6.1.4.1.2021.4.5.0",
		"oid:swaptotal": "1.3.6.1.4.1.2021.4.3.0",
		"oid:ifs":       "1.3.6.1.2.1.2.1.0",
	} {
		out, err := exec.Command(get, "-v2c", "-c", d.Community, "-On", "-Oqv", d.Addr(), oid).CombinedOutput()
		if err != nil {
			t.Fatalf("snmpget %s: %v\n%s", oid, err, out)
		}
		want, err := strconv.ParseFloat(strings.Fields(string(out))[0], 64)
		if err != nil {
			t.Fatalf("snmpget %s: %q", oid, out)
		}
		v, ok := got[attr]
		if !ok {
			t.Errorf("%s: not polled (points %v)", attr, got)
		} else if v != want {
			t.Errorf("%s = %v, snmpget reads %v", attr, v, want)
		}
	}
}

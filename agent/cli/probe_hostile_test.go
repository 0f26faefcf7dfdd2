package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed/golden"

	"github.com/outpost-nms/outpost/agent/sim/ntpsim"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/shared/safetext"
)

// checkTerminalSafe fails for anything in out a terminal would obey or
// mis-measure: control characters other than line feed, invalid UTF-8,
// bidi controls.
func checkTerminalSafe(t *testing.T, out string) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if !safetext.IsLine(line, len(line)+1) {
			t.Errorf("line %d is not terminal-safe: %q", i+1, line)
		}
	}
}

// serveHostileDevice runs a hostile simulated device (snmpsim.Hostile) with
// a fixed clock, so its output is the same on every run.
func serveHostileDevice(t *testing.T) string {
	t.Helper()
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	cfg := snmpsim.Hostile(snmpsim.Config{Community: "public", Interfaces: snmpsim.GenerateInterfaces(len(snmpsim.HostileStrings())+2, 5),
		Clock: clock, Start: at.Add(-time.Hour), Seed: 5})
	dev, err := snmpsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, err := dev.ListenAndServe(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return addr.String()
}

// TestProbeSNMPHostileTable: the table of a device whose every string is
// hostile escapes what a terminal would obey, stays aligned (long names
// cut with an ellipsis to the column, wide characters counted as two
// columns), and matches the golden file.
func TestProbeSNMPHostileTable(t *testing.T) {
	addr := serveHostileDevice(t)
	code, out, errOut := runProbeSNMP("probe", "snmp", "-c", "public", "-t", "2", "-r", "1", addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	checkTerminalSafe(t, out)
	golden.Check(t, filepath.Join("testdata", "probe_snmp_hostile.golden"), []byte(out))
	// Aligned: every row of the table starts its STATUS column at the same
	// display column as the header.
	lines := strings.Split(out, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "INDEX") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatal("no table header")
	}
	col := safetext.Width(lines[start][:strings.Index(lines[start], "STATUS")])
	for _, l := range lines[start+1:] {
		if l == "" {
			break
		}
		f := strings.Fields(l)
		st := f[len(f)-2] // STATUS, then HC
		idx := strings.LastIndex(l, " "+st+" ") + 1
		if w := safetext.Width(l[:idx]); w != col {
			t.Errorf("row %q: STATUS at column %d, header at %d", l, w, col)
		}
	}
}

// TestProbeSNMPHostileJSON: --json carries the whole cleaned text, not
// the table's cut.
func TestProbeSNMPHostileJSON(t *testing.T) {
	addr := serveHostileDevice(t)
	code, out, errOut := runProbeSNMP("probe", "snmp", "-c", "public", "-t", "2", "-r", "1", "--json", addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		System     struct{ Descr, Location, Contact string }
		Interfaces []struct{ Name, Descr, Alias, Key string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.System.Descr) < safetext.MaxText-8 || !strings.HasPrefix(got.System.Descr, "<script>") || !strings.Contains(got.System.Descr, `\x1b[2J\xff`) {
		t.Errorf("sysDescr %q…", got.System.Descr[:min(80, len(got.System.Descr))])
	}
	if got.System.Location != `B\xfcro 2.OG ../../etc` || got.System.Contact != `\x00noc\x1b]0;title\x07@example.net` {
		t.Errorf("system %+v", got.System)
	}
	long := 0
	for _, r := range got.Interfaces {
		for _, s := range []string{r.Name, r.Descr, r.Alias, r.Key} {
			if !safetext.IsLine(s, safetext.MaxName) {
				t.Errorf("not clean: %q", s)
			}
			if len(s) > probeAliasWidth+8 {
				long++
			}
		}
	}
	if long == 0 {
		t.Error("--json cut the long names to the table's columns")
	}
}

// TestProbeNTPHostileTable: the ntpq -pn table of a hostile server shows
// escapes, keeps its columns, and matches the golden file; --json holds
// the cleaned values and null for numbers that are not finite.
func TestProbeNTPHostileTable(t *testing.T) {
	peers := []ntpsim.Peer{
		{Address: "192.0.2.10", Stratum: 1, RefID: "GPS", Offset: 1500 * time.Microsecond, Delay: 12 * time.Millisecond, Jitter: 300 * time.Microsecond, Reach: 0377, Selection: 6},
		{Address: "192.0.2.11", Stratum: 2, RefID: "192.0.2.1", Offset: -2 * time.Millisecond, Delay: 20 * time.Millisecond, Jitter: time.Millisecond, Reach: 0376, Selection: 4},
		{Address: "192.0.2.12", Stratum: 2, RefID: "192.0.2.1", Reach: 0, Selection: 0},
		{Address: "192.0.2.13", Stratum: 3, RefID: "192.0.2.2", Offset: 3 * time.Millisecond, Delay: 9 * time.Millisecond, Jitter: time.Millisecond, Reach: 0377, Selection: 4},
	}
	srv := ntpsim.New(ntpsim.Config{Peers: ntpsim.HostilePeers(peers), System: ntpsim.HostileSystem(ntpsim.System{}),
		Now: func() time.Time { return time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC) }})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := pc.LocalAddr().String()

	out, errOut, code := runAgent(t, "probe", "ntp", "-t", "1s", addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	checkTerminalSafe(t, out)
	golden.Check(t, filepath.Join("testdata", "probe_ntp_hostile.golden"), []byte(out))
	// Every row keeps ntpq's fixed columns up to reach (an absurd number
	// widens its own column as ntpq's %8d does, and nothing before it).
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if i > 1 && (len(l) < 79 || l[53] != ' ' || strings.TrimSpace(l[48:53]) == "") {
			t.Errorf("line %d is out of ntpq's columns: %q", i+1, l)
		}
	}

	out, errOut, code = runAgent(t, "probe", "ntp", "--json", "-t", "1s", addr)
	if code != 0 {
		t.Fatalf("--json exit %d: %s", code, errOut)
	}
	var got struct {
		System struct {
			Version  string
			RefID    string
			JitterMS *float64 `json:"sys_jitter_ms"`
		}
		Peers []struct {
			Remote string
			RefID  string
			Offset string
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(got.System.Version, `\x1b[2J\x1b]0;owned\x07<script>`) || got.System.JitterMS != nil {
		t.Errorf("system %+v", got.System)
	}
	if len(got.Peers) != 4 || got.Peers[0].Remote != `192.0.2.66"><script>window.__outpostXSS=1</script>` || got.Peers[1].RefID != `.\x1b[31mRED\x1b[0m.` {
		t.Errorf("peers %+v", got.Peers)
	}
	if !bytes.Contains([]byte(out), []byte(strconv.Quote("-100000000000000000000")[1:])) {
		t.Errorf("the absurd offset is not shown as sent:\n%s", out)
	}
}

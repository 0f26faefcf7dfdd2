package cli

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/internal/testpeer"
)

// agreeWith runs probe and chronyc until their outputs agree (chronyd takes
// a sample every second: two runs a few milliseconds apart normally see
// the same state), comparing them after norm.
func agreeWith(t *testing.T, what string, probe func() string, chronyc func() string, norm func(string) string) {
	t.Helper()
	var o, c string
	for i := 0; i < 20; i++ {
		o, c = norm(probe()), norm(chronyc())
		if o == c {
			return
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Errorf("%s: probe and chronyc differ:\n--- probe\n%s--- chronyc\n%s", what, o, c)
}

// movingLines are the lines of tracking that change between two runs a
// few milliseconds apart: the root dispersion grows every microsecond and
// the system time follows chronyd's slew. They are compared to 10 us.
var movingLines = regexp.MustCompile(`(?m)^((?:Root dispersion|System time    ) : )([0-9.]+)( seconds.*)$`)

func roundDispersion(s string) string {
	return movingLines.ReplaceAllStringFunc(s, func(line string) string {
		m := movingLines.FindStringSubmatch(line)
		f, _ := strconv.ParseFloat(m[2], 64)
		return m[1] + strconv.FormatFloat(f, 'f', 5, 64) + m[3] + " (to 10 us)"
	})
}

// TestProbeChronyAgainstChronyc runs `probe ntp --protocol chrony` and
// chronyc -n against the same real chronyd: sources and sourcestats
// identical, tracking identical but for the growing root dispersion.
func TestProbeChronyAgainstChronyc(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chronyd")
	}
	c := testpeer.StartChrony(t)
	probe := func(args ...string) func() string {
		return func() string {
			out, stderr, code := runAgent(t, append([]string{"probe", "ntp", "--protocol", "chrony"}, append(args, c.CmdAddr)...)...)
			if code != 0 {
				t.Fatalf("probe exited %d: %s", code, stderr)
			}
			return out
		}
	}
	chronyc := func(cmd string) func() string {
		return func() string {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := c.Chronyc(ctx, cmd)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	same := func(s string) string { return s }
	agreeWith(t, "sources", probe(), chronyc("sources"), same)
	agreeWith(t, "sourcestats", probe("--report", "sourcestats"), chronyc("sourcestats"), same)
	agreeWith(t, "tracking", probe("--report", "tracking"), chronyc("tracking"), roundDispersion)

	out := probe("--json")()
	var j struct {
		Protocol string `json:"protocol"`
		Tracking struct {
			Stratum int  `json:"stratum"`
			Synced  bool `json:"synced"`
		} `json:"tracking"`
		Sources []struct {
			Name, MS, Line string
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if j.Protocol != "chrony" || j.Tracking.Stratum != 9 || !j.Tracking.Synced || len(j.Sources) != 3 {
		t.Errorf("json %+v", j)
	}

	// sntp against A, auto against A (no command port there: mode 3) and
	// against B's command port.
	out, stderr, code := runAgent(t, "probe", "ntp", "--protocol", "sntp", "--samples", "3", c.NTPAddr)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "   sample  offset(ms)  delay(ms)  st  refid") ||
		strings.Count(out, "*") != 1 || !strings.Contains(out, "  8  127.127.1.1") || !strings.HasPrefix(lines[4], "offset: "+c.NTPAddr+"'s clock minus this machine's clock") {
		t.Errorf("sntp: exit %d %s\n%s", code, stderr, out)
	}
	_, ntpPort, _ := net.SplitHostPort(c.NTPAddr)
	out, stderr, code = runAgent(t, "probe", "ntp", "--protocol", "auto", "-t", "300ms", "--chrony-port", "1", "--json", "127.0.0.1:"+ntpPort)
	if code != 0 || !strings.Contains(stderr, "protocol: sntp") || !strings.Contains(out, `"protocol": "sntp"`) {
		t.Errorf("auto against A: exit %d %s\n%s", code, stderr, out)
	}
	_, cmdPort, _ := net.SplitHostPort(c.CmdAddr)
	out, stderr, code = runAgent(t, "probe", "ntp", "--protocol", "auto", "-t", "300ms", "--chrony-port", cmdPort, "127.0.0.1:"+ntpPort)
	if code != 0 || !strings.Contains(stderr, "protocol: chrony") || !strings.HasPrefix(out, "MS Name/IP address") {
		t.Errorf("auto against B: exit %d %s\n%s", code, stderr, out)
	}
}

func TestProbeTimeErrors(t *testing.T) {
	closed := func() string {
		l, _ := net.ListenPacket("udp", "127.0.0.1:0")
		defer l.Close()
		return l.LocalAddr().String()
	}()
	silent, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer silent.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--protocol", "chrony", closed}, exitNTPRefused, "nothing listens on the chrony command port"},
		{[]string{"--protocol", "chrony", "-t", "200ms", "-r", "0", silent.LocalAddr().String()}, exitNTPTimeout, "chronyd drops command requests from addresses that cmdallow does not allow: add `cmdallow 127.0.0.1` to chrony.conf"},
		{[]string{"--protocol", "sntp", closed}, exitNTPRefused, "no NTP server listening"},
		{[]string{"--protocol", "sntp", "-t", "100ms", "--samples", "2", silent.LocalAddr().String()}, exitNTPTimeout, "no answer to NTP client requests"},
		{[]string{"--protocol", "auto", "-t", "100ms", "--chrony-port", "1", closed}, exitNTPRefused, "no answer by any protocol: mode6: "},
		{[]string{"--protocol", "ntpq", "127.0.0.1"}, 2, "unknown --protocol"},
		{[]string{"--protocol", "chrony", "--report", "clients", "127.0.0.1"}, 2, "unknown --report"},
	} {
		_, stderr, code := runAgent(t, append([]string{"probe", "ntp"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

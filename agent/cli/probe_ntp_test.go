package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/agent/sim/ntpsim"
)

func runAgent(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = Main(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// ntpqColumns splits a peer line of the 80-column layout: the fixed-width
// tally+remote+refid prefix, then st t when poll reach delay offset jitter.
func ntpqColumns(line string) (prefix string, fields []string) {
	if len(line) < 33 {
		return line, nil
	}
	return line[:33], strings.Fields(line[33:])
}

// lostSrchost: a refclock row that shows its address instead of its name.
func lostSrchost(prefix string) bool {
	return len(prefix) > 1 && strings.HasPrefix(prefix[1:], "127.127.")
}

// stable reports whether two ntpq outputs agree on every column but when,
// delay, offset and jitter (reach shifts every poll while ntpd warms up).
func stable(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		return false
	}
	for i := range la {
		pa, fa := ntpqColumns(la[i])
		pb, fb := ntpqColumns(lb[i])
		if pa != pb || len(fa) != len(fb) {
			return false
		}
		if len(fa) == 8 && (fa[0] != fb[0] || fa[1] != fb[1] || fa[3] != fb[3] || fa[4] != fb[4]) {
			return false
		}
		if lostSrchost(pa) {
			return false // look again: ntpq may read a clean reply next time
		}
	}
	return true
}

// compareTables checks probe output against ntpq's: header and rule lines
// equal; per row, tally, remote, refid, st, t, poll, reach equal; when
// within 2 s; delay, offset, jitter within 0.5 ms.
func compareTables(t *testing.T, ours, ntpq string) {
	t.Helper()
	lo, ln := strings.Split(strings.TrimRight(ours, "\n"), "\n"), strings.Split(strings.TrimRight(ntpq, "\n"), "\n")
	if len(lo) != len(ln) {
		t.Fatalf("probe printed %d lines, ntpq %d:\n%s\n---\n%s", len(lo), len(ln), ours, ntpq)
	}
	for i := range lo {
		if i < 2 {
			if lo[i] != ln[i] {
				t.Errorf("line %d:\n probe %q\n ntpq  %q", i, lo[i], ln[i])
			}
			continue
		}
		po, fo := ntpqColumns(lo[i])
		pn, fn := ntpqColumns(ln[i])
		cols := []int{0, 1, 3, 4} // st t poll reach
		if lostSrchost(pn) && !lostSrchost(po) {
			// ntpd's garbage had a quote and ntpq lost srchost (see
			// ntp.ParseVarList): compare all but remote and type.
			t.Logf("row %d: ntpq lost the refclock name to ntpd's garbage bytes: %q", i, ln[i])
			po, pn = po[:1]+po[17:], pn[:1]+pn[17:]
			cols = []int{0, 3, 4}
		}
		if po != pn || len(fo) != 8 || len(fn) != 8 {
			t.Errorf("row %d differs in tally/remote/refid:\n probe %q\n ntpq  %q", i, lo[i], ln[i])
			continue
		}
		for _, c := range cols {
			if fo[c] != fn[c] {
				t.Errorf("row %d column %d: probe %q, ntpq %q", i, c, fo[c], fn[c])
			}
		}
		if fo[2] != fn[2] {
			wo, err1 := strconv.Atoi(fo[2])
			wn, err2 := strconv.Atoi(fn[2])
			if err1 != nil || err2 != nil || wo-wn > 2 || wn-wo > 2 {
				t.Errorf("row %d when: probe %q, ntpq %q", i, fo[2], fn[2])
			}
		}
		for _, c := range []int{5, 6, 7} {
			vo, err1 := strconv.ParseFloat(fo[c], 64)
			vn, err2 := strconv.ParseFloat(fn[c], 64)
			if err1 != nil || err2 != nil || math.Abs(vo-vn) > 0.5 {
				t.Errorf("row %d column %d: probe %q, ntpq %q", i, c, fo[c], fn[c])
			}
		}
	}
}

// TestProbeNTPMatchesNtpq compares `probe ntp` with `ntpq -pn` against a
// real ntpsec ntpd.
func TestProbeNTPMatchesNtpq(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real ntpd")
	}
	d := testpeer.StartNTPD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for attempt := 1; ; attempt++ {
		before, err := d.Ntpqpn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ours, stderr, code := runAgent(t, "probe", "ntp", "127.0.0.1")
		if code != 0 {
			t.Fatalf("probe ntp exited %d: %s", code, stderr)
		}
		after, err := d.Ntpqpn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !stable(before, after) && attempt < 6 {
			continue // ntpd polled its clocks in between; look again
		}
		t.Logf("probe ntp 127.0.0.1:\n%s\nntpq -pn 127.0.0.1:\n%s", ours, after)
		compareTables(t, ours, after)
		return
	}
}

func TestProbeNTPRefused(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	_, stderr, code := runAgent(t, "probe", "ntp", "-t", "300ms", addr)
	if code != exitNTPRefused || !strings.Contains(stderr, "no NTP daemon listening (ICMP port unreachable)") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestProbeNTPTimeout(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	start := time.Now()
	_, stderr, code := runAgent(t, "probe", "ntp", "-t", "200ms", "-r", "1", pc.LocalAddr().String())
	if code != exitNTPTimeout || !strings.Contains(stderr, "request timed out after 2 attempts") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
}

// TestProbeNTPSimulatedJSON: the JSON rows of a simulated server.
func TestProbeNTPSimulatedJSON(t *testing.T) {
	now := time.Now()
	srv := ntpsim.New(ntpsim.Config{Peers: []ntpsim.Peer{
		{Address: "192.0.2.10", Stratum: 1, RefID: "GPS", Offset: 1500 * time.Microsecond, Delay: 12 * time.Millisecond,
			Jitter: 300 * time.Microsecond, Reach: 0377, Selection: 6, LastReceived: now.Add(-5 * time.Second)},
	}})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc) }()
	defer func() { cancel(); <-done }()

	out, stderr, code := runAgent(t, "probe", "ntp", "--json", pc.LocalAddr().String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		System struct {
			Stratum int  `json:"stratum"`
			Synced  bool `json:"synced"`
		} `json:"system"`
		Peers []map[string]any `json:"peers"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.System.Stratum != 2 || !got.System.Synced || len(got.Peers) != 1 {
		t.Fatalf("%+v", got)
	}
	p := got.Peers[0]
	for k, v := range map[string]any{"tally": "*", "remote": "192.0.2.10", "refid": ".GPS.", "t": "u", "reach": "377", "poll": "64", "offset": "  1.5000"} {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	if o, _ := p["offset_ms"].(float64); o != 1.5 {
		t.Errorf("offset_ms = %v", p["offset_ms"])
	}
	if w, _ := p["when_s"].(float64); w < 5 || w > 7 {
		t.Errorf("when_s = %v", p["when_s"])
	}
	_, stderr, code = runAgent(t, "probe", "ntp", "host:notaport")
	if code != 2 {
		t.Errorf("bad address: exit %d %s", code, stderr)
	}
}

package ntpsim

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/internal/testpeer"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestRealNtpqReadsSimulator serves the simulator on 127.0.0.1:123 (ntpq
// talks to no other port) and requires the real `ntpq -pn` to print the
// same table as package ntp computes from the same replies: ntpq accepts
// the simulator's packets, fragments and variable text as ntpd's.
func TestRealNtpqReadsSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("binds port 123 and runs ntpq")
	}
	ntpq := testbed.RequireTool(t, "ntpq")
	addr := testpeer.ClaimNTPPort(t)
	now := time.Now()
	srv := New(Config{
		System: System{Offset: 800 * time.Microsecond, Jitter: 250 * time.Microsecond},
		Peers: []Peer{
			{Address: "192.0.2.10", Stratum: 1, RefID: "GPS", Offset: 812 * time.Microsecond, Delay: 12345 * time.Microsecond,
				Jitter: 310 * time.Microsecond, Reach: 0377, Selection: 6, PPoll: 6, HPoll: 6, LastReceived: now.Add(-17 * time.Second)},
			{Address: "198.51.100.7", Stratum: 2, RefID: "192.0.2.99", Offset: -3456789 * time.Nanosecond, Delay: 48 * time.Millisecond,
				Jitter: 2 * time.Millisecond, Reach: 0376, Selection: 4, PPoll: 10, HPoll: 10, LastReceived: now.Add(-3000 * time.Second)},
			{Address: "2001:db8::123", Stratum: 3, RefID: "203.0.113.5", Offset: 250 * time.Millisecond, Delay: 90 * time.Millisecond,
				Jitter: 40 * time.Millisecond, Reach: 0017, Selection: 1, PPoll: 6, HPoll: 6, LastReceived: now.Add(-90 * time.Second)},
			{Address: "127.127.28.0", RefClock: "SHM(0)", RefID: "PPS", Reach: 0, Selection: 0, PPoll: 3, HPoll: 3},
			{Address: "192.0.2.12", Stratum: 16, RefID: "INIT", Reach: 0, Selection: 0},
			{Address: "0.0.0.0", RefClock: "pool.example.org", Pool: true, Stratum: 16, Reach: 0},
		},
	})
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc) }()
	defer func() { cancel(); <-done }()

	out, err := exec.CommandContext(ctx, ntpq, "-pn", "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("ntpq -pn: %v\n%s", err, out)
	}
	sess, err := ntp.Client{Addr: addr, Timeout: time.Second}.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	snap, err := ntp.Fetch(ctx, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ours strings.Builder
	if err := ntp.WriteTable(&ours, snap.Rows()); err != nil {
		t.Fatal(err)
	}
	t.Logf("ntpq -pn against the simulator:\n%s\npackage ntp:\n%s", out, ours.String())

	lt := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	lo := strings.Split(strings.TrimRight(ours.String(), "\n"), "\n")
	if len(lt) != len(lo) || len(lo) != 2+6 {
		t.Fatalf("ntpq printed %d lines, package ntp %d", len(lt), len(lo))
	}
	for i := range lo {
		if lo[i] == lt[i] {
			continue
		}
		// Only "when" may differ, by the second between the two reads.
		fo, ft := strings.Fields(lo[i][33:]), strings.Fields(lt[i][33:])
		if lo[i][:33] != lt[i][:33] || len(fo) != 8 || len(ft) != 8 {
			t.Errorf("line %d:\n ours %q\n ntpq %q", i, lo[i], lt[i])
			continue
		}
		for c := range fo {
			if c == 2 {
				wo, e1 := strconv.Atoi(fo[c])
				wt, e2 := strconv.Atoi(ft[c])
				if e1 == nil && e2 == nil && wt-wo >= 0 && wt-wo <= 2 {
					continue
				}
			}
			if fo[c] != ft[c] {
				t.Errorf("line %d column %d: ours %q, ntpq %q", i, c, fo[c], ft[c])
			}
		}
	}
}

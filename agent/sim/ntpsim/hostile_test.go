package ntpsim

import (
	"context"
	"testing"
	"time"
)

// TestHostileVars: raw Vars replace or add variables exactly as given, and
// HostileSystem/HostilePeers answer their hostile values through a real
// mode 6 exchange (as the client's parser leaves them: NUL and bytes
// above 126 dropped, escape sequences and markup kept).
func TestHostileVars(t *testing.T) {
	s := New(Config{Peers: HostilePeers(demoPeers()), System: HostileSystem(System{}), Now: func() time.Time { return t0 }})
	sess := dial(t, start(t, s), -1)
	ctx := context.Background()
	_, sys, err := sess.ReadVar(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"version":    "ntpd \x1b[2J\x1b]0;owned\x07<script>window.__outpostXSS=1</script> ",
		"refid":      "<img src=x onerror=window.__outpostXSS=1>",
		"sys_jitter": "nan",
		"processor":  "x86_64\rover",
		"stratum":    "2", // not overridden
	} {
		if got, _ := sys.Get(name); got != want {
			t.Errorf("system %s = %q, want %q", name, got, want)
		}
	}
	want := []map[string]string{
		{"srcadr": "192.0.2.66\"><script>window.__outpostXSS=1</script>", "offset": "-100000000000000000000.000000", "delay": "12.000000"},
		{"srcadr": "../../../../tmp/outpost-escape", "refid": "\x1b[31mRED\x1b[0m", "delay": "-5.000000", "jitter": "inf", "stratum": "99"},
		{"srcadr": "0.0.0.0", "srchost": "NULBro<b>", "offset": "NaN", "reach": "0x1ff"},
	}
	for i, w := range want {
		_, vars, err := sess.ReadVar(ctx, uint16(17767+i))
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range w {
			if got, _ := vars.Get(name); got != v {
				t.Errorf("peer %d %s = %q, want %q", i, name, got, v)
			}
		}
	}
}

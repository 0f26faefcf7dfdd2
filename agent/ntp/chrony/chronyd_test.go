package chrony

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/internal/testpeer"
)

var daemons testpeer.SharedChrony

func TestMain(m *testing.M) {
	code := m.Run()
	daemons.Stop()
	os.Exit(code)
}

func fetchFrom(t *testing.T, addr string) *Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Client{Addr: addr, Timeout: time.Second}.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := Fetch(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// agree runs ours and chronyc's report a few times until they agree: the
// daemon takes a sample every second, so two runs a few milliseconds apart
// normally see the same state. It fails with the last pair.
func agree(t *testing.T, what string, ours func() string, theirs func() string) {
	t.Helper()
	var o, c string
	for i := 0; i < 20; i++ {
		o = ours()
		c = theirs()
		if o == c {
			return
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Errorf("%s: outpost and chronyc differ:\n--- outpost\n%s--- chronyc\n%s", what, o, c)
}

// TestAgainstChronyc compares the three reports with chronyc's own, run
// against the same chronyd in the same test: same columns, same rounding.
func TestAgainstChronyc(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chronyd")
	}
	d := daemons.Get(t)
	chronyc := func(cmd string) func() string {
		return func() string {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := d.Chronyc(ctx, cmd)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	report := func(write func(*strings.Builder, *Snapshot) error) func() string {
		return func() string {
			var b strings.Builder
			if err := write(&b, fetchFrom(t, d.CmdAddr)); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
	}
	agree(t, "sources", report(func(b *strings.Builder, s *Snapshot) error { return WriteSources(b, s.Sources) }), chronyc("sources"))
	agree(t, "sourcestats", report(func(b *strings.Builder, s *Snapshot) error { return WriteSourceStats(b, s.Sources) }), chronyc("sourcestats"))
	// Root dispersion grows every microsecond since the last update, and
	// the system time follows chronyd's slew: they are compared as numbers
	// (to 10 us), every other line as text.
	dispersion := func(f func() string) func() string {
		return func() string {
			var out []string
			for _, line := range strings.SplitAfter(f(), "\n") {
				for _, prefix := range []string{"Root dispersion : ", "System time     : "} {
					if v, ok := strings.CutPrefix(line, prefix); ok {
						num, rest, _ := strings.Cut(v, " ")
						x, err := strconv.ParseFloat(num, 64)
						if err != nil || x < 0 || x > 16 { // 16 s: NTP's maximum dispersion; a fresh chronyd reports over 1 s
							t.Fatalf("line %q", line)
						}
						line = fmt.Sprintf("%s%.5f %s", prefix, x, rest)
					}
				}
				out = append(out, line)
			}
			return strings.Join(out, "")
		}
	}
	agree(t, "tracking", dispersion(report(func(b *strings.Builder, s *Snapshot) error { return WriteTracking(b, s.Tracking) })), dispersion(chronyc("tracking")))

	snap := fetchFrom(t, d.CmdAddr)
	if ok, why := snap.Tracking.Synced(); !ok || snap.Tracking.Stratum != 9 || snap.Tracking.RefName != "127.0.0.1" {
		t.Errorf("tracking %+v: synced %v %s", snap.Tracking, ok, why)
	}
	sel, ok := snap.SelectedSource()
	if !ok || sel.Name != "127.0.0.1" || sel.Stratum != 8 || sel.Reach == 0 || sel.Mode != ModeClient {
		t.Errorf("selected source %+v, %v", sel, ok)
	}
	names := map[string]Source{}
	for _, s := range snap.Sources {
		names[s.Name] = s
	}
	if s := names["127.0.0.3"]; s.Reach != 0 || s.LastRx != NoSample || s.State != StateNonselectable {
		t.Errorf("silent source %+v", s)
	}
	if s := names["GPS"]; s.Mode != ModeRef || s.Stats.Name != "GPS" {
		t.Errorf("refclock %+v", s)
	}
}

// TestRefusedByCmdallow: chronyd always answers 127.0.0.1, and drops
// commands from any other address its cmdallow does not allow, without a
// word. The error must say so and name the address to allow.
func TestRefusedByCmdallow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chronyd")
	}
	d := daemons.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Client{Addr: d.CmdAddr, LocalAddr: "127.0.0.2", Timeout: 300 * time.Millisecond, Retries: 1}.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Fetch(ctx, s, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	for _, want := range []string{d.CmdAddr, "cmdallow 127.0.0.2", "chrony.conf", "nothing received"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

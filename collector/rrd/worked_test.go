package rrd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed/golden"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// workedUpdates is the worked example: a COUNTER that wraps at 2^32 and a
// GAUGE over its max, an unknown value and a gap beyond the heartbeat, at a
// 300 s step with AVERAGE and MAX archives.
var workedUpdates = []string{"1000000300:1000:10", "1000000600:4000:20", "1000000750:4294966296:30",
	"1000001200:704:200", "1000001500:3704:U", "1000002400:9704:50"}

func workedSpec() Spec {
	return Spec{Step: 300, Start: time.Unix(1000000200, 0),
		DS: []DS{{Name: "in", Type: Counter, Heartbeat: 600, Min: 0, Max: nan()},
			{Name: "g", Type: Gauge, Heartbeat: 600, Min: nan(), Max: 100}},
		RRAs: []RRA{{CF: Average, XFF: 0.5, Steps: 1, Rows: 10}, {CF: Max, XFF: 0.5, Steps: 3, Rows: 5}}}
}

func nan() float64 { return unknownValue }

// parseUpdates turns rrdtool update arguments "T:v:v" into Updates.
func parseUpdates(t testing.TB, args []string) []Update {
	t.Helper()
	var out []Update
	for _, a := range args {
		parts := strings.Split(a, ":")
		tm, err := ParseUpdateTime(parts[0], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		u := Update{Time: tm}
		for _, p := range parts[1:] {
			v, err := ParseValue(p)
			if err != nil {
				t.Fatal(err)
			}
			u.Values = append(u.Values, v)
		}
		out = append(out, u)
	}
	return out
}

func fetchText(t testing.TB, path, cf string, start, end int64) string {
	t.Helper()
	r, err := Fetch(path, cf, time.Unix(start, 0), time.Unix(end, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	r.WriteText(&b)
	return b.String()
}

func checkGolden(t *testing.T, name string, produce func() string, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if golden.Update() {
		os.WriteFile(p, []byte(produce()), 0o644)
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got\n%s\n--- want (rrdtool)\n%s", name, got, want)
	}
}

func rrdtoolOut(args ...string) func() string {
	return func() string {
		out, _ := exec.Command("rrdtool", args...).Output()
		return string(out)
	}
}

// TestWorkedExample runs the worked example and compares it with
// rrdtool 1.7.2's own output stored in testdata.
func TestWorkedExample(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.rrd")
	if err := Create(p, workedSpec()); err != nil {
		t.Fatal(err)
	}
	if err := UpdateFile(p, parseUpdates(t, workedUpdates)); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join("testdata", "worked_rrdtool.rrd")
	if golden.Update() {
		os.Remove(ref)
		exec.Command("rrdtool", "create", ref, "--start", "1000000200", "--step", "300", "DS:in:COUNTER:600:0:U",
			"DS:g:GAUGE:600:U:100", "RRA:AVERAGE:0.5:1:10", "RRA:MAX:0.5:3:5").Run()
		exec.Command("rrdtool", append([]string{"update", ref}, workedUpdates...)...).Run()
	}
	for _, c := range []struct {
		golden, cf string
		start, end int64
	}{
		{"worked_average.golden", "AVERAGE", 1000000200, 1000002700},
		{"worked_max.golden", "MAX", 1000000200, 1000002700},
		{"worked_max_long.golden", "MAX", 999990000, 1000002700},
	} {
		checkGolden(t, c.golden, rrdtoolOut("fetch", ref, c.cf, "--start", itoa(c.start), "--end", itoa(c.end)),
			fetchText(t, p, c.cf, c.start, c.end))
		// And Outpost reads rrdtool's file the same way.
		if got := fetchText(t, ref, c.cf, c.start, c.end); !golden.Update() {
			want, _ := os.ReadFile(filepath.Join("testdata", c.golden))
			if got != string(want) {
				t.Errorf("Outpost fetch of rrdtool's file differs:\n%s\nwant\n%s", got, want)
			}
		}
	}
	in, err := ReadInfo(p)
	if err != nil {
		t.Fatal(err)
	}
	in.Filename = "w.rrd"
	var b bytes.Buffer
	in.WriteText(&b)
	got := dropLines(b.String(), "cur_row")
	checkGolden(t, "worked_info.golden", func() string {
		out := rrdtoolOut("info", ref)()
		return dropLines(strings.ReplaceAll(out, ref, "w.rrd"), "cur_row")
	}, got)

	// An update not newer than the last is refused with rrdtool's message,
	// and ErrNotNewer.
	err = UpdateFile(p, parseUpdates(t, []string{"1000002400:1:1"}))
	if err == nil || !strings.HasSuffix(err.Error(), "illegal attempt to update using time 1000002400 when last update time is 1000002400 (minimum one second step)") {
		t.Fatalf("got %v", err)
	}
	if !errorsIs(err, ErrNotNewer) {
		t.Fatalf("%v is not ErrNotNewer", err)
	}
}

func TestFetchOfRRDtoolFileNeedsNoTool(t *testing.T) {
	// The committed rrdtool-made file reads without rrdtool installed.
	if _, err := ReadInfo(filepath.Join("testdata", "worked_rrdtool.rrd")); err != nil {
		t.Fatal(err)
	}
}

func requireRRDtool(t *testing.T) {
	t.Helper()
	testbed.RequireTool(t, "rrdtool")
}

func dropLines(s, substr string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }

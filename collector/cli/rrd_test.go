package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/shared/testbed"
)

func rrdCollector(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func rrdtoolCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("rrdtool", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestRRDCommandsMatchRRDtool runs the same command lines through
// `outpost-collector rrd` and `rrdtool`, each on its own file, and compares
// the output byte for byte (info without cur_row, which create picks at
// random; filenames are the same relative names).
func TestRRDCommandsMatchRRDtool(t *testing.T) {
	testbed.RequireTool(t, "rrdtool")
	dir := t.TempDir()
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	ours, theirs := filepath.Join(dir, "ours"), filepath.Join(dir, "theirs")
	os.Mkdir(ours, 0o755)
	os.Mkdir(theirs, 0o755)
	steps := [][]string{
		{"create", "w.rrd", "--start", "1000000200", "--step", "300", "DS:in:COUNTER:600:0:U", "DS:g:GAUGE:600:U:100",
			"DS:d:DERIVE:600:U:U", "RRA:AVERAGE:0.5:1:10", "RRA:MAX:0.5:3:5", "RRA:MIN:0.5:3:5", "RRA:LAST:0.5:2:8"},
		{"update", "w.rrd", "1000000300:1000:10:5", "1000000600:4000:20:-5", "1000000750:4294966296:30:-50",
			"1000001200:704:200:-20", "1000001500:3704:U:7", "1000002400:9704:50:9"},
		{"update", "w.rrd", "--template", "g:in", "1000002700:70:10000", "1000002800.5:U:10300"},
		{"fetch", "w.rrd", "AVERAGE", "--start", "1000000200", "--end", "1000003000"},
		{"fetch", "w.rrd", "MAX", "--start", "1000000200", "--end", "1000003000"},
		{"fetch", "w.rrd", "MIN", "-s", "1000000000", "-e", "1000003300", "-r", "900"},
		{"fetch", "w.rrd", "LAST", "--start", "end-1h", "--end", "1000003000"},
		{"fetch", "w.rrd", "AVERAGE", "--start", "1000001000", "--end", "start+2h", "--resolution", "600"},
		{"info", "w.rrd"},
		{"last", "w.rrd"},
		{"first", "w.rrd"},
		{"first", "w.rrd", "--rraindex", "2"},
		{"xport", "--json", "--start", "1000000200", "--end", "1000003000", "DEF:a=w.rrd:in:AVERAGE", "DEF:b=w.rrd:g:MAX", "XPORT:a:in bytes", "XPORT:b"},
		{"xport", "--start", "1000000200", "--end", "1000003000", "--step", "900", "DEF:a=w.rrd:d:AVERAGE", "XPORT:a:derive"},
		{"xport", "--json", "--start", "999990000", "--end", "1000003000", "--maxrows", "12", "DEF:a=w.rrd:in:AVERAGE", "XPORT:a"},
	}
	for _, s := range steps {
		os.Chdir(ours)
		got, _, gcode := rrdCollector(t, append([]string{"rrd"}, s...)...)
		os.Chdir(theirs)
		want, _, wcode := rrdtoolCLI(t, s...)
		if gcode != wcode {
			t.Fatalf("%v: exit %d, rrdtool %d", s, gcode, wcode)
		}
		if s[0] == "info" {
			got, want = dropCurRow(got), dropCurRow(want)
		}
		if got != want {
			t.Errorf("%v: output differs\n--- outpost\n%s--- rrdtool\n%s", s, got, want)
		}
	}
	// Each reads the other's file the same way.
	for _, s := range steps[3:8] {
		os.Chdir(dir)
		a := append([]string{}, s...)
		a[1] = "theirs/w.rrd"
		got, _, _ := rrdCollector(t, append([]string{"rrd"}, a...)...)
		b := append([]string{}, s...)
		b[1] = "ours/w.rrd"
		want, _, _ := rrdtoolCLI(t, b...)
		if got != want {
			t.Errorf("%v across files: outpost on rrdtool's file differs from rrdtool on Outpost's\n%s\n%s", s, got, want)
		}
	}
}

func dropCurRow(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.Contains(l, "cur_row") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// TestRRDErrorsMatchRRDtool compares error texts: rrdtool prints
// "ERROR: msg" and exits 1; Outpost returns the same text after its prefix.
func TestRRDErrorsMatchRRDtool(t *testing.T) {
	testbed.RequireTool(t, "rrdtool")
	dir := t.TempDir()
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	create := []string{"create", "e.rrd", "--start", "1000000200", "--step", "300", "DS:in:COUNTER:600:0:U", "RRA:AVERAGE:0.5:1:10"}
	if _, e, c := rrdtoolCLI(t, create...); c != 0 {
		t.Fatal(e)
	}
	os.Rename("e.rrd", "theirs.rrd")
	if _, e, c := rrdCollector(t, append([]string{"rrd"}, create...)...); c != 0 {
		t.Fatal(e)
	}
	for _, s := range [][]string{
		{"update", "F", "1000000300:5", "1000000300:6"},
		{"update", "F", "1000000400:1.5"},
		{"update", "F", "1000000500:1:2"},
		{"fetch", "F", "AVERAGE", "--start", "1000000000", "--end", "999999000"},
		{"fetch", "F", "HWPREDICT", "--start", "1000000000", "--end", "1000001000"},
		{"update", "F", "1000000600"},
		{"update", "F", "1000000600:1:2:3"},
		{"update", "F", "1000000600:x"},
		{"fetch", "missing.rrd", "AVERAGE", "--start", "1000000000", "--end", "1000001000"},
		{"info", "missing.rrd"},
	} {
		a := append([]string{}, s...)
		if a[1] == "F" {
			a[1] = "e.rrd"
		}
		_, gerr, gcode := rrdCollector(t, append([]string{"rrd"}, a...)...)
		b := append([]string{}, s...)
		if b[1] == "F" {
			b[1] = "theirs.rrd"
		}
		_, werr, wcode := rrdtoolCLI(t, b...)
		want := strings.ReplaceAll(strings.TrimSpace(werr), "theirs.rrd", "e.rrd")
		got := strings.TrimPrefix(strings.TrimSpace(gerr), "outpost-collector: ")
		if gcode != 1 || wcode != 1 || got != want {
			t.Errorf("%v: exit %d %q, rrdtool exit %d %q", s, gcode, got, wcode, want)
		}
	}
}

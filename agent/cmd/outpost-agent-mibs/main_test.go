package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := "../../../shared/mibs/testdata/site"
	roots := "../../../shared/mibs/testdata/smi-roots"
	cases := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		stderr  string
		results []Result
	}{
		{name: "text", args: []string{"-M", roots, "-M", dir, "OUTPOST-SITE-MIB::outpostSiteTemperature"}, code: 0,
			stdout: "OUTPOST-SITE-MIB::outpostSiteTemperature\t1.3.6.1.4.1.99997.1.0\n"},
		{name: "json with a bad name", args: []string{"--json", "-M", roots, "-M", dir, "--", "outpostSiteUpsCharge.4", "OUTPOST-SITE-MIB::nope"}, code: 1,
			results: []Result{{Name: "outpostSiteUpsCharge.4", OID: "1.3.6.1.4.1.99997.2.1.2.4"},
				{Name: "OUTPOST-SITE-MIB::nope", Error: "OUTPOST-SITE-MIB::nope: MIB OUTPOST-SITE-MIB defines no object nope"}}},
		{name: "text error on stderr", args: []string{"-M", roots, "-M", dir, "NO-MIB::x.1"}, code: 1, stderr: "NO-MIB::x.1: NO-MIB::x: MIB NO-MIB not found"},
		{name: "no names", args: []string{"-M", dir}, code: 2, stderr: "usage: outpost-agent-mibs"},
		{name: "bad flag", args: []string{"--nope"}, code: 2, stderr: "flag provided but not defined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(c.args, &out, &errb); code != c.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, c.code, errb.String())
			}
			if c.stdout != "" && out.String() != c.stdout {
				t.Errorf("stdout %q, want %q", out.String(), c.stdout)
			}
			if c.stderr != "" && !strings.Contains(errb.String(), c.stderr) {
				t.Errorf("stderr %q, want %q in it", errb.String(), c.stderr)
			}
			if c.results != nil {
				var got []Result
				if err := json.Unmarshal(out.Bytes(), &got); err != nil {
					t.Fatalf("%v: %s", err, out.String())
				}
				if len(got) != len(c.results) {
					t.Fatalf("results %+v, want %+v", got, c.results)
				}
				for i := range got {
					if got[i] != c.results[i] {
						t.Errorf("result %d: %+v, want %+v", i, got[i], c.results[i])
					}
				}
			}
		})
	}
}

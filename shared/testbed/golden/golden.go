// Package golden compares test output with files in testdata/ and rewrites
// them when the test binary runs with -update (one flag for every package:
// `go test ./... -update`, or a -run pattern to rewrite a few). Test
// support only: importing it registers the -update flag.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/ instead of comparing with them")

// Update reports whether the golden files are being rewritten.
func Update() bool { return *update }

// Check compares got with the file at path; with -update it writes got
// there instead (creating the directory). A mismatch names the first line
// that differs and shows both versions.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
		return
	}
	if bytes.Equal(got, want) {
		return
	}
	t.Errorf("%s differs (run the test with -update if the change is intended): %s\n--- got\n%s\n--- want\n%s", path, firstDiff(got, want), got, want)
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w || i >= len(gl) || i >= len(wl) {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, g, w)
		}
	}
	return "same lines, different bytes"
}

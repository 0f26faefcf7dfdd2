package testbed

import (
	"os/exec"
	"strings"
	"testing"
)

// ForbidDeps fails the test for every package the package in the current
// directory links (go list -deps) that starts with one of the prefixes:
// the shipped binaries' tests use it to keep each side to itself.
func ForbidDeps(t testing.TB, binary string, prefixes ...string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps gave %d packages", len(deps))
	}
	for _, d := range deps {
		for _, p := range prefixes {
			if strings.HasPrefix(d, p) {
				t.Errorf("%s links %s", binary, d)
			}
		}
	}
}

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: the agent binary links no collector package, no SQLite and no
// simulator (the demo and the simulators live in outpost-demo).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps gave %d packages", len(deps))
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/outpost-nms/outpost/collector/") || strings.HasPrefix(d, "github.com/outpost-nms/outpost/demo") ||
			strings.HasPrefix(d, "github.com/outpost-nms/outpost/agent/sim/") || strings.HasPrefix(d, "modernc.org/sqlite") {
			t.Errorf("outpost-agent links %s", d)
		}
	}
}

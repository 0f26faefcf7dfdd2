package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: the collector binary links no agent package and no SNMP
// library (the demo and the simulators live in outpost-demo).
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
		if strings.HasPrefix(d, "github.com/outpost-nms/outpost/agent/") || strings.HasPrefix(d, "github.com/outpost-nms/outpost/demo") ||
			strings.HasPrefix(d, "github.com/gosnmp/gosnmp") {
			t.Errorf("outpost-collector links %s", d)
		}
	}
}

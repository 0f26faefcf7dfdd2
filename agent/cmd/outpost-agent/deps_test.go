package main

import (
	"testing"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestDeps: the agent binary links no collector package, no SQLite and no
// simulator (the demo and the simulators live in outpost-demo) and no MIB
// parser (outpost-agent-mibs has it), on each
// operating system it ships for (packaging: Linux packages, the Windows zip).
func TestDeps(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		t.Run(goos, func(t *testing.T) {
			t.Setenv("GOOS", goos)
			testbed.ForbidDeps(t, "outpost-agent", "github.com/outpost-nms/outpost/collector/", "github.com/outpost-nms/outpost/demo",
				"github.com/outpost-nms/outpost/agent/sim/", "modernc.org/sqlite",
				"github.com/sleepinggenius2/gosmi", "github.com/alecthomas/participle")
		})
	}
}

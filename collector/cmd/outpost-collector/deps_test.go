package main

import (
	"testing"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestDeps: the collector binary links no agent package and no SNMP
// library (the demo and the simulators live in outpost-demo).
func TestDeps(t *testing.T) {
	testbed.ForbidDeps(t, "outpost-collector", "github.com/outpost-nms/outpost/agent/", "github.com/outpost-nms/outpost/demo",
		"github.com/gosnmp/gosnmp")
}

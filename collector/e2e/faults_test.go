package e2e

import (
	"testing"
)

// TestEndToEnd: one simulated device, one agent, the collector, all up:
// every polled sample lands exactly once.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{Devices: 2})
	r.startCollector()
	r.startAgent()
	r.waitPolls(8)
	requireExact(t, r.finish())
}

package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestMain runs this test binary as the collector when a test re-executes
// it as a child (testbed.CrashChild, with the configuration's path as the
// argument), through Main exactly as main.go does: the kill -9, limits,
// forwarding and capacity tests stop and kill real collector processes.
func TestMain(m *testing.M) {
	if cfg, child := testbed.CrashChildArg(); child {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		code := Main(ctx, []string{"run", "-c", cfg}, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

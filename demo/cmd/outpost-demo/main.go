// Command outpost-demo runs the whole Outpost system on loopback with a
// simulated site, and runs simulated devices. See demo/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/outpost-nms/outpost/demo/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

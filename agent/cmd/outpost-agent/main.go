// Command outpost-agent is the Outpost edge agent. See agent/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/outpost-nms/outpost/agent/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

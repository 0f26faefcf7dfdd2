// Command outpost-collector is the Outpost collector. See collector/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/outpost-nms/outpost/collector/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

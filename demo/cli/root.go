// Package cli is the outpost-demo command tree: `run` (the default), the
// whole system on loopback, and `simulate`, simulated devices and sites.
// They live in a binary of their own so that the shipped agent and
// collector link only their own side (demo/deps_test.go).
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/shared/cmdmain"
)

// ExitError carries a specific exit code out of a command.
type ExitError = cmdmain.ExitError

// Main runs the command line and returns the process exit code. Without a
// subcommand it runs the demo.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdmain.Run(ctx, NewRoot(stdout, stderr), args, stderr)
}

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := cmdmain.NewRoot("outpost-demo",
		"Outpost demo: the whole system on loopback, and simulated devices",
		`outpost-demo shows Outpost without any device or network: "run" (the
default) starts a collector and an agent (the outpost-collector and
outpost-agent binaries beside this one) and a simulated site they poll;
"simulate" runs simulated SNMP devices or a whole site for your own agent.`, stdout, stderr)
	run := newRunCmd()
	root.AddCommand(run, newSimulateCmd())
	// `outpost-demo` alone, or with only flags, runs the demo.
	root.Args = cobra.NoArgs
	root.Flags().AddFlagSet(run.Flags())
	root.RunE = run.RunE
	return root
}

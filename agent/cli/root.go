// Package cli is the outpost-agent command tree (cobra). Each subcommand
// lives in its own file and only parses flags and wires packages together;
// the work is done by the packages it calls.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/shared/buildinfo"
	"github.com/outpost-nms/outpost/shared/svc"
)

// DefaultConfigPath is where packages install the agent's configuration.
const DefaultConfigPath = "/etc/outpost/agent.yaml"

// ExitError carries a specific exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "outpost-agent:", err)
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			return coded.ExitCode()
		}
		return 1
	}
	return 0
}

// NewRoot builds the whole command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "outpost-agent",
		Short: "Outpost edge agent: polls SNMP devices and NTP servers, spools samples, streams them to the collector",
		Long: `outpost-agent runs at a remote site, next to the devices it watches.

It polls SNMP devices (IF-MIB interfaces and chosen OIDs; v1, v2c, v3) and
NTP servers (mode 6 control queries, what ntpq -pn shows), keeps every sample
in an on-disk spool, and streams the spool to the collector over QUIC with
mutual TLS. The agent always dials out; nothing connects to it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.CompletionOptions.HiddenDefaultCmd = true
	for _, c := range []*cobra.Command{
		newVersionCmd(),
		newProbeCmd(),
		newCheckConfigCmd(),
		newSimulateCmd(),
		newRunCmd(),
		newEnrollCmd(),
	} {
		root.AddCommand(c)
	}
	root.AddCommand(svc.Commands(serviceSpec(), DefaultConfigPath)...)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), buildinfo.String("outpost-agent"))
			return nil
		},
	}
}

// Package cli is the outpost-collector command tree (cobra). Each subcommand
// lives in its own file and only parses flags and wires packages together.
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

// DefaultConfigPath is where packages install the collector's configuration.
const DefaultConfigPath = "/etc/outpost/collector.yaml"

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
		fmt.Fprintln(stderr, "outpost-collector:", err)
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
		Use:   "outpost-collector",
		Short: "Outpost collector: receives agents' samples, keeps round-robin archives, serves the web UI",
		Long: `outpost-collector is the central side of Outpost.

It accepts enrolled agents over QUIC (mutual TLS, or TLS over TCP where UDP
is blocked), journals every batch before acknowledging it, writes
round-robin archives with rrdtool's semantics and file format, keeps the
inventory of hosts and attributes, and serves the web UI, the JSON API and
graph exports.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.CompletionOptions.HiddenDefaultCmd = true
	for _, c := range []*cobra.Command{
		newVersionCmd(),
		newDemoCmd(),
		newRunCmd(),
		newCACmd(),
		newAgentCmd(),
		newCheckConfigCmd(),
		newRRDCmd(),
		newUserCmd(),
		newExportCmd(),
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
			fmt.Fprintln(cmd.OutOrStdout(), buildinfo.String("outpost-collector"))
			return nil
		},
	}
}

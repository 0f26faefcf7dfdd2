// Package cmdmain is what both binaries' command trees share: the root
// command's conventions (cobra, errors printed once by Run, a version
// subcommand) and the mapping from a command's error to the process exit
// code.
package cmdmain

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/shared/buildinfo"
)

// ExitConfigInvalid is the exit code for a configuration file that does not
// load (unreadable, not YAML, or invalid).
const ExitConfigInvalid = 2

// ExitError carries a specific exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// NewRoot returns a root command named name that prints errors only once
// (through Run), never prints usage on a failed run, writes to stdout and
// stderr, and has a `version` subcommand.
func NewRoot(name, short, long string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           name,
		Short:         short,
		Long:          long,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), buildinfo.String(name))
			return nil
		},
	})
	return root
}

// Run executes root with args and returns the process exit code: 0, the
// code of an error that carries one (ExitCode() int anywhere in its chain),
// or 1. The error is printed once on stderr, prefixed with the root's name.
func Run(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, root.Name()+":", err)
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			return coded.ExitCode()
		}
		return 1
	}
	return 0
}

// Package cli is the outpost-collector command tree (cobra). Each subcommand
// lives in its own file and only parses flags and wires packages together.
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/shared/cmdmain"
	"github.com/outpost-nms/outpost/shared/svc"
)

// DefaultConfigPath is where packages install the collector's configuration.
const DefaultConfigPath = "/etc/outpost/collector.yaml"

// ExitError carries a specific exit code out of a command.
type ExitError = cmdmain.ExitError

// ExitConfigInvalid is the exit code for a configuration file that does not load.
const ExitConfigInvalid = cmdmain.ExitConfigInvalid

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdmain.Run(ctx, NewRoot(stdout, stderr), args, stderr)
}

// commandGroups sorts the subcommands in --help.
func commandGroups() []*cobra.Group {
	return []*cobra.Group{
		{ID: "run", Title: "Running:"},
		{ID: "setup", Title: "Setting up:"},
		{ID: "tools", Title: "Tools:"},
		{ID: "service", Title: "System service:"},
	}
}

// NewRoot builds the whole command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := cmdmain.NewRoot("outpost-collector",
		"Outpost collector: receives agents' samples, keeps round-robin archives, serves the web UI",
		`outpost-collector is the central side of Outpost.

It accepts enrolled agents over QUIC (mutual TLS, or TLS over TCP where UDP
is blocked), journals every batch before acknowledging it, writes
round-robin archives with rrdtool's semantics and file format, keeps the
inventory of hosts and attributes, and serves the web UI, the JSON API and
graph exports.`, stdout, stderr)
	root.AddGroup(commandGroups()...)
	for _, c := range []*cobra.Command{
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
	for _, c := range svc.Commands(serviceSpec(), DefaultConfigPath) {
		c.GroupID = "service"
		root.AddCommand(c)
	}
	for _, c := range root.Commands() {
		if c.GroupID == "" {
			c.GroupID = groupOf(c.Name())
		}
	}
	return root
}

// groupOf places each subcommand in a help group.
func groupOf(name string) string {
	return map[string]string{
		"run":          "run",
		"check-config": "setup", "ca": "setup", "agent": "setup", "user": "setup",
		"rrd": "tools", "export": "tools", "version": "tools",
	}[name]
}

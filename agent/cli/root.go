// Package cli is the outpost-agent command tree (cobra). Each subcommand
// lives in its own file and only parses flags and wires packages together;
// the work is done by the packages it calls.
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/shared/cmdmain"
	"github.com/outpost-nms/outpost/shared/svc"
)

// DefaultConfigPath is where packages install the agent's configuration.
const DefaultConfigPath = "/etc/outpost/agent.yaml"

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
	root := cmdmain.NewRoot("outpost-agent",
		"Outpost edge agent: polls SNMP devices and NTP servers, spools samples, streams them to the collector",
		`outpost-agent runs at a remote site, next to the devices it watches.

It polls SNMP devices (IF-MIB interfaces and chosen OIDs; v1, v2c, v3) and
NTP servers (mode 6 control queries, what ntpq -pn shows), keeps every sample
in an on-disk spool, and streams the spool to the collector over QUIC with
mutual TLS. The agent always dials out; nothing connects to it.`, stdout, stderr)
	root.AddGroup(commandGroups()...)
	for _, c := range []*cobra.Command{
		newProbeCmd(),
		newCheckConfigCmd(),
		newRunCmd(),
		newEnrollCmd(),
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
		"run": "run", "check-config": "setup", "enroll": "setup",
		"probe": "tools", "version": "tools",
	}[name]
}

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/agent/config"
)

// newCheckConfigCmd loads the agent configuration the way `run` does and
// reports the first problem, or a one-line summary.
func newCheckConfigCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Check the configuration file and print a summary or the first error",
		Long: `check-config reads the configuration strictly, the way the agent does at
start: an unknown key, a wrong type, a bad duration or size, or an invalid
setting is reported with the file, line and field. Exit status 0 means the
agent would start with this file; 2 means it would not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := config.Load(path)
			if err != nil {
				return &ExitError{Code: ExitConfigInvalid, Err: err}
			}
			traps := ""
			if t := c.Traps; t != nil {
				traps = fmt.Sprintf(", traps on %s (%d %s, %d v3 %s)", t.Listen,
					len(t.Communities), plural(len(t.Communities), "community", "communities"),
					len(t.V3Users), plural(len(t.V3Users), "user", "users"))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (agent %s, collector %s, %d SNMP %s, %d NTP %s%s, spool %s up to %s)\n",
				path, c.Name, c.Collector.Address,
				len(c.SNMP), plural(len(c.SNMP), "target", "targets"),
				len(c.NTP), plural(len(c.NTP), "server", "servers"), traps,
				c.Spool.Dir, c.Spool.MaxBytes)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfigPath, "configuration file")
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/collector/config"
)

// newCheckConfigCmd loads the collector configuration the way `run` does
// and reports the first problem, or a one-line summary.
func newCheckConfigCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Check the configuration file and print a summary or the first error",
		Long: `check-config reads the configuration strictly, the way the collector does at
start: an unknown key, a wrong type, a bad duration or size, or an invalid
setting is reported with the file, line and field. Exit status 0 means the
collector would start with this file; 2 means it would not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := config.Load(path)
			if err != nil {
				return &ExitError{Code: ExitConfigInvalid, Err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (collector %s, data %s, agents on quic %s tcp %s, web %s, metrics %s)\n",
				path, c.Name, c.DataDir, c.Listen.QUIC, c.Listen.TCP, c.Web.Listen, c.Metrics.Listen)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfigPath, "configuration file")
	return cmd
}

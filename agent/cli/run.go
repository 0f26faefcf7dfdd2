package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/run"
	"github.com/outpost-nms/outpost/shared/logging"
	"github.com/outpost-nms/outpost/shared/svc"
)

// newRunCmd is `outpost-agent run`: the agent in the foreground, or under
// the service manager that started it.
func newRunCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: poll the targets, spool the samples, stream them to the collector",
		Long: `run starts the agent until SIGTERM or SIGINT (or the service manager stops it).

Every poll result goes into the on-disk spool first; the uplink streams the
spool to the collector and deletes what the collector acknowledged. On stop
the agent finishes the polls in flight, writes the last batch and fsyncs the
spool; what was not acknowledged is sent after the next start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := config.Load(path)
			if err != nil {
				return &ExitError{Code: ExitConfigInvalid, Err: err}
			}
			log, err := logging.New(cmd.ErrOrStderr(), c.Log.Level, c.Log.Format)
			if err != nil {
				return err
			}
			return svc.Run(cmd.Context(), serviceSpec(), func(ctx context.Context) error {
				return run.Run(ctx, c, log)
			})
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfigPath, "configuration file")
	return cmd
}

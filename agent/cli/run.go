package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

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

SIGHUP re-reads the configuration: targets are added, removed or changed
without a restart (unchanged ones keep their state); an invalid file is
logged and the running configuration stays.

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
			log, err := logging.New(svc.LogOutput(serviceSpec(), cmd.ErrOrStderr()), c.Log.Level, c.Log.Format)
			if err != nil {
				return err
			}
			return svc.Run(cmd.Context(), serviceSpec(), func(ctx context.Context) error {
				return run.RunWith(ctx, c, log, run.Options{Reload: reloadOnHangup(ctx, path, log)})
			})
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfigPath, "configuration file")
	return cmd
}

// reloadOnHangup re-reads the configuration file on every SIGHUP and
// delivers it; a file that does not load is logged and skipped.
func reloadOnHangup(ctx context.Context, path string, log *slog.Logger) <-chan *config.Config {
	out := make(chan *config.Config)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			c, err := config.Load(path)
			if err != nil {
				log.Error("reload: the configuration does not load; keeping the running one", "err", err)
				continue
			}
			log.Info("reload: configuration re-read", "path", path)
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

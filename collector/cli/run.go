package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/run"
	"github.com/outpost-nms/outpost/shared/logging"
	"github.com/outpost-nms/outpost/shared/svc"
)

// reloadOnHangup re-reads the configuration file on every SIGHUP and
// delivers it, or why it does not load.
func reloadOnHangup(ctx context.Context, path string) <-chan run.Reload {
	out := make(chan run.Reload)
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
			select {
			case out <- run.Reload{Config: c, Err: err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// newRunCmd is `outpost-collector run`: the collector in the foreground.
func newRunCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the collector: agent listeners, journal, archives, web UI, metrics",
		Long: `run starts the collector in the foreground until SIGTERM or SIGINT.

On start it replays the ingest journal from its last checkpoint, so every
batch acknowledged before a crash reaches the archives. On SIGTERM it stops
accepting agents, applies what is queued, flushes the archive cache and
checkpoints the journal before it exits.

SIGHUP (systemctl reload) re-reads the configuration file's alert rules
(alerting.rules); a file that does not load keeps the running rules, and
the error is logged and shown on the Rules page. Other settings take
effect at the next restart.`,
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
				return run.ServeReloading(ctx, c, reloadOnHangup(ctx, path), log)
			})
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfigPath, "configuration file")
	return cmd
}

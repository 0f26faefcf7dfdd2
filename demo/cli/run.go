package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/demo"
)

// newRunCmd runs a whole installation on loopback (see package demo).
func newRunCmd() *cobra.Command {
	var (
		dir, web, agentBin, collectorBin, am, rw string
		interval, backfill                       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a demo on loopback: a collector, an enrolled agent and a simulated site",
		Long: `Run a whole Outpost installation on this machine, on loopback only:
a collector with its own CA, an admin user, an agent enrolled with
"agent add", and a simulated site (SNMP switches and routers whose traffic
follows a daily curve with bursts, a restarting switch, a flapping port,
an admin-down port, NTP servers with peers) that the agent polls.

Before going live it backfills --backfill of history: the agent's own
pollers poll the simulators at past times (the simulators run on a virtual
clock), and the agent streams that spool through the real ingest path, so
graphs have data at once.

It prints the web address and the login. Ctrl-C stops everything.
State (configs, PKI, archives, logs) is kept in --dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			for _, b := range []struct {
				path *string
				name string
			}{{&agentBin, "outpost-agent"}, {&collectorBin, "outpost-collector"}} {
				if *b.path == "" {
					*b.path = filepath.Join(filepath.Dir(self), b.name)
				}
				if _, err := os.Stat(*b.path); err != nil {
					return fmt.Errorf("%s is needed beside outpost-demo (or --%s-bin): %w", b.name, b.name[len("outpost-"):], err)
				}
			}
			return demo.Run(cmd.Context(), demo.Options{
				Dir: dir, CollectorBin: collectorBin, AgentBin: agentBin, WebListen: web, PollInterval: interval,
				Backfill: backfill, Alertmanager: am, RemoteWrite: rw,
			}, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".demo", "state directory (configs, PKI, archives, logs)")
	cmd.Flags().StringVar(&web, "web", "", "web UI address (default 127.0.0.1:8080, or a free port when taken)")
	cmd.Flags().StringVar(&agentBin, "agent-bin", "", "path of outpost-agent (default: beside this binary)")
	cmd.Flags().StringVar(&am, "alertmanager", "", "send the demo's alerts to this Alertmanager (base URL, e.g. http://127.0.0.1:9093)")
	cmd.Flags().StringVar(&rw, "remote-write", "", "forward every sample to this Prometheus remote-write URL (e.g. http://127.0.0.1:9090/api/v1/write)")
	cmd.Flags().StringVar(&collectorBin, "collector-bin", "", "path of outpost-collector (default: beside this binary)")
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Second, "poll interval of the simulated devices")
	cmd.Flags().DurationVar(&backfill, "backfill", time.Hour, "history to pre-load through the agent's spool and the real ingest path before going live (0: none)")
	return cmd
}

package run

import (
	"context"
	"log/slog"

	"github.com/outpost-nms/outpost/agent/batch"
	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/agent/trap"
)

// startTraps opens the trap receiver's socket when the configuration has
// a traps section (nil, nil when not). Traps go to the batcher, informs
// are answered after the spool has them and has synced them.
func startTraps(ctx context.Context, cfg *config.Config, b *batch.Batcher, sp *spool.Spool, m *metrics.Agent, log *slog.Logger) (*trap.Listener, error) {
	tc := cfg.Traps
	if tc == nil {
		return nil, nil
	}
	targets, unresolved := trap.NewTargets(ctx, cfg.SNMP)
	if len(unresolved) > 0 {
		log.Warn("traps: target names that did not resolve; their traps are attributed by trap_sources only", "targets", unresolved)
	}
	communities := make([]string, len(tc.Communities))
	for i, c := range tc.Communities {
		communities[i] = c.Reveal()
	}
	l, err := trap.Listen(tc.Listen, trap.Options{
		Communities: communities, Users: tc.V3Users, EngineID: cfg.EffectiveEngineID(),
		RatePerSource: tc.RatePerSource, Burst: tc.Burst, QueueSize: tc.QueueSize,
		Targets: targets, Sink: b, Sync: sp.Sync, Registerer: m.Registerer(), Logger: log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("traps: receiving", "listen", l.Addr().String(), "communities", len(communities), "v3_users", len(tc.V3Users))
	return l, nil
}

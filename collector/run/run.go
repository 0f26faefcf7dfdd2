// Package run is the collector process: it wires the collector's parts
// from a loaded configuration and runs them until the context ends, as
// agent/run does for the agent. collector/cli only parses flags and calls
// Serve.
package run

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/outpost-nms/outpost/shared/dirlock"

	"github.com/outpost-nms/outpost/collector/alerting"
	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/fdlimit"
	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/collector/latest"
	"github.com/outpost-nms/outpost/collector/metrics"
	"github.com/outpost-nms/outpost/collector/pki"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/collector/web"
	"github.com/outpost-nms/outpost/shared/buildinfo"
	"github.com/outpost-nms/outpost/shared/lifecycle"
	"github.com/outpost-nms/outpost/shared/mibs"
	"github.com/outpost-nms/outpost/shared/snmpname"
)

// Reload is a re-read of the configuration file (SIGHUP): the
// configuration, or why it does not load.
type Reload struct {
	Config *config.Config
	Err    error
}

// Serve wires the collector's parts (inventory, journal, applier, archive
// cache, ingest listeners, web UI, metrics) and runs them until ctx ends,
// then stops them in order: agents first, then the applier, then the
// archive cache and the journal checkpoint, then the side listeners.
func Serve(ctx context.Context, c *config.Config, log *slog.Logger) error {
	return ServeReloading(ctx, c, nil, log)
}

// ServeReloading is Serve that applies the configurations reloads
// delivers: the alert rules (alerting.rules) change at once; a file that
// does not load keeps the running rules, and why is logged and shown on
// the rules page. Other settings need a restart.
func ServeReloading(ctx context.Context, c *config.Config, reloads <-chan Reload, log *slog.Logger) (err error) {
	webConns := openFileLimit(c, log)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	lock, err := dirlock.Acquire(c.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir: %w (is another outpost-collector running with this data directory?)", err)
	}
	defer lock.Release()
	db, err := inventory.Open(ctx, filepath.Join(c.DataDir, inventory.DefaultFile))
	if err != nil {
		return err
	}
	defer db.Close()
	ca, err := pki.Load(pki.Paths{CACert: c.TLS.CACert, CAKey: c.TLS.CAKey, Cert: c.TLS.Cert, Key: c.TLS.Key})
	if err != nil {
		return err
	}
	fwds, err := newForwarders(c, db, log)
	if err != nil {
		return err
	}
	j, err := journal.Open(filepath.Join(c.DataDir, "journal"), journal.Options{SegmentBytes: int64(c.Journal.SegmentBytes), Retain: retainFor(fwds)})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := j.Close(); err == nil {
			err = cerr
		}
	}()
	// Forward-only (rrd.enabled: false): no archive cache; the applier
	// gets nil Archives and the web UI says graphs come from the store.
	var cache *rrd.Cache
	var archives ingest.Archives
	source := graph.Engine{}
	graphsRemote := ""
	if c.RRD.On() {
		cache = rrd.NewCache(rrd.CacheOptions{FlushInterval: c.RRD.FlushInterval.D(), Workers: c.RRD.FlushWorkers, Logger: log})
		archives, source.Cache = cache, cache
	} else {
		graphsRemote = remoteStores(c)
		log.Info("forward-only: rrd.enabled is false, no archives are written", "remote_write", graphsRemote)
	}
	m := metrics.New()
	names := snmpname.New()
	mibDirs := c.Inventory.MIBDirs
	if mibDirs == nil {
		mibDirs = mibs.DefaultDirs
	}
	mibs.Load(mibDirs, names, log)
	rules, err := alerting.CompileRules(c.Alerting.Rules, c.Alerting.For.D())
	if err != nil {
		return fmt.Errorf("alerting.rules: %w", err)
	}
	latestValues := latest.New(0)
	// The engine is made after the ingest server it reads; the applier,
	// made before, wakes it through this.
	var wakeAlerts, inventoryChanged func()
	app, err := ingest.NewApplier(ingest.ApplierConfig{DataDir: c.DataDir, CheckpointInterval: c.RRD.FlushInterval.D(), TrapNames: names, Latest: latestValues,
		StatusChanged: func() {
			if wakeAlerts != nil {
				wakeAlerts()
			}
		},
		InventoryChanged: func() {
			if inventoryChanged != nil {
				inventoryChanged()
			}
		},
		Quotas: ingest.Quotas{HostsPerAgent: c.Quotas.HostsPerAgent, AttributesPerHost: c.Quotas.AttributesPerHost,
			DataSourcesPerAttribute: c.Quotas.DataSourcesPerAttribute, ArchiveBytesPerAttr: int64(c.Quotas.ArchiveBytesPerAttr),
			ArchiveBytesPerAgent: int64(c.Quotas.ArchiveBytesPerAgent),
			EntitiesPerHost:      c.Quotas.EntitiesPerHost, NeighborsPerHost: c.Quotas.NeighborsPerHost}}, j, db, archives, m, log)
	if err != nil {
		return err
	}
	streams, err := app.Recover(ctx)
	if err != nil {
		return err
	}
	enr := &pki.Enroller{CA: ca, Store: db, Log: log}
	srv, err := ingest.New(ingest.Config{Name: c.Name, Software: buildinfo.Version(), MaxFrame: int(c.Listen.MaxFrame),
		MaxClockSkew: c.Listen.MaxClockSkew.D(), MaxSeries: c.Quotas.SeriesPerConnection, MaxSeriesBytes: int(c.Quotas.SeriesBytesPerConn)},
		ca, db, j, app, streams, m, enr, log)
	if err != nil {
		return err
	}
	// The alerting engine always runs: user rules set statuses (Alert,
	// Unknown) even where no Alertmanager or webhook is configured.
	var hooks []alerting.Webhook
	for _, w := range c.Alerting.Webhooks {
		hooks = append(hooks, alerting.Webhook{Name: w.Name, URL: w.URL, Secret: w.Secret.Reveal()})
	}
	var ams []string
	for _, am := range c.Alerting.Alertmanagers {
		ams = append(ams, am.URL)
	}
	eng := alerting.New(alerting.Config{Alertmanagers: ams, Interval: c.Alerting.Interval.D(), For: c.Alerting.For.D(),
		AgentSilence: c.Alerting.AgentSilence.D(), ExternalURL: c.Alerting.ExternalURL, Webhooks: hooks,
		Rules: rules, Store: db, Latest: latestValues}, db, srv, db, m, log)
	wakeAlerts, inventoryChanged = eng.Wake, eng.InventoryChanged
	webSrv, err := web.New(web.Options{AlertRules: eng, DB: db, DataDir: c.DataDir, Source: source, Logger: log, GraphsRemote: graphsRemote,
		SessionTTL: c.Web.SessionTTL.D(), MaxClockSkew: c.Listen.MaxClockSkew.D(), TLSCert: c.Web.TLSCert, TLSKey: c.Web.TLSKey, MaxConnections: webConns,
		Warnings: forwardWarnings(fwds)})
	if err != nil {
		return err
	}

	udp, err := net.ListenPacket("udp", c.Listen.QUIC)
	if err != nil {
		return fmt.Errorf("listen.quic %s: %w", c.Listen.QUIC, err)
	}
	defer udp.Close()
	var tcp net.Listener
	if c.Listen.TCP != config.Off {
		if tcp, err = net.Listen("tcp", c.Listen.TCP); err != nil {
			return fmt.Errorf("listen.tcp %s: %w", c.Listen.TCP, err)
		}
	}

	// Three stages, stopped in order: the agent listeners, then the
	// applier (which applies what they queued) with the checkpoint and the
	// archives' flush, then the rest.
	g := lifecycle.New()
	defer g.Stop(context.WithoutCancel(ctx))
	agents, apply, side := g.Stage("agents"), g.Stage("apply"), g.Stage("side")
	agents.Go("quic listener", func(ctx context.Context) error { return srv.ServeQUIC(ctx, udp) })
	if tcp != nil {
		agents.Go("tcp listener", func(ctx context.Context) error { return srv.ServeTCP(ctx, tcp) })
	}
	apply.Go("applier", app.Run)
	apply.Then(app.Checkpoint)
	if cache != nil {
		apply.Then(func(ctx context.Context) error {
			if err := cache.Close(ctx); err != nil {
				return fmt.Errorf("close archives: %w", err)
			}
			return nil
		})
	}
	startForwarders(side, fwds, j, m, log)
	side.Go("web", func(ctx context.Context) error { return webSrv.Run(ctx, c.Web.Listen) })
	side.Go("alerting", eng.Run)
	if reloads != nil {
		side.Go("reload", func(ctx context.Context) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case r := <-reloads:
					reloadRules(eng, r, log)
				}
			}
		})
	}
	side.Go("status history", func(ctx context.Context) error {
		return db.KeepStatusHistory(ctx, c.Inventory.StatusHistory.D(), nil, log)
	})
	side.Go("trap history", func(ctx context.Context) error {
		return db.KeepTraps(ctx, c.Inventory.Traps.D(), nil, log)
	})
	if c.Metrics.Listen != config.Off {
		side.Go("metrics", func(ctx context.Context) error { return m.Serve(ctx, c.Metrics.Listen, log) })
	}
	log.Info("collector running", "name", c.Name, "version", buildinfo.Version(), "data_dir", c.DataDir,
		"ca_fingerprint", "sha256:"+ca.Fingerprint())

	select {
	case <-ctx.Done():
		log.Info("collector stopping")
	case <-g.Failed():
		log.Error("collector stopping after a failure", "err", g.Err())
	}
	runErr := g.Stop(context.WithoutCancel(ctx))
	if runErr == nil {
		log.Info("collector stopped cleanly", "journal_end", j.End())
	}
	return runErr
}

// reloadRules applies a reloaded configuration's alert rules.
func reloadRules(eng *alerting.Engine, r Reload, log *slog.Logger) {
	if r.Err != nil {
		log.Error("reload: the configuration does not load; keeping the running alert rules", "err", r.Err)
		eng.RulesFailed(r.Err)
		return
	}
	rs, err := alerting.CompileRules(r.Config.Alerting.Rules, r.Config.Alerting.For.D())
	if err != nil {
		log.Error("reload: keeping the running alert rules", "err", err)
		eng.RulesFailed(err)
		return
	}
	eng.SetRules(rs)
	log.Info("reload: alert rules re-read (other settings take effect at the next restart)", "rules", len(r.Config.Alerting.Rules))
}

// openFileLimit raises the open file limit to its hard limit (fdlimit),
// logs it, and returns how many web connections to allow: web.max_connections,
// but at most half the limit, so web clients alone cannot use up the
// descriptors agents and archives need.
func openFileLimit(c *config.Config, log *slog.Logger) int {
	l, err := fdlimit.Raise()
	if err != nil {
		log.Warn("open file limit", "err", err)
	}
	if l.Soft == 0 {
		return c.Web.MaxConnections
	}
	log.Info("open file limit", "soft", l.Soft, "hard", l.Hard)
	if l.Soft < fdlimit.Low {
		log.Warn("the open file limit is low: agents on TCP, web clients and archives each need one (the systemd unit sets LimitNOFILE=524288)", "limit", l.Soft, "want_at_least", fdlimit.Low)
	}
	conns := c.Web.MaxConnections
	if half := int(min(l.Soft/2, 1<<20)); conns > half {
		log.Warn("web.max_connections is more than half the open file limit; lowered", "max_connections", c.Web.MaxConnections, "limit", l.Soft, "using", max(half, 1))
		conns = max(half, 1)
	}
	return conns
}

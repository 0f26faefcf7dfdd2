package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/collector/latest"
	"github.com/outpost-nms/outpost/collector/metrics"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/snmpname"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Archives is the archive store the Applier writes through: *rrd.Cache.
type Archives interface {
	// Update queues one update; an error wrapping rrd.ErrNotNewer means the
	// archive already holds that time.
	Update(path string, t time.Time, values []rrd.Value) error
	// FlushAll makes every update accepted before the call durable.
	FlushAll(ctx context.Context) error
}

// ApplierConfig tunes an Applier.
type ApplierConfig struct {
	DataDir string // archives live under DataDir/rrd
	// CheckpointInterval is how often Run flushes the archives and
	// checkpoints the journal; default 1 minute.
	CheckpointInterval time.Duration
	// QueueLen bounds the records waiting to be applied (default 4096);
	// Enqueue blocks when it is full.
	QueueLen int
	// DefaultInterval is the archive step for samples of an attribute the
	// agent never described; default 60 s.
	DefaultInterval time.Duration
	Now             func() time.Time
	// TrapNames names trap and varbind OIDs (default: the built-in names
	// of shared/snmpname; the collector adds names from MIB files).
	TrapNames *snmpname.Table
	// Quotas bound what each agent can create (quota.go); zero fields
	// take DefaultQuotas.
	Quotas Quotas
	// Latest, when set, receives every applied attribute update: the
	// latest values alert rules compare with their thresholds.
	Latest *latest.Table
	// StatusChanged, when set, is called (without blocking for long)
	// after an update that changed an attribute's status, so alerts go
	// out without waiting for the next evaluation.
	StatusChanged func()
	// InventoryChanged, when set, is called after an update that created
	// or redescribed attributes (alert rules select again).
	InventoryChanged func()
}

// Applier applies journaled records: inventory (hosts, attributes,
// statuses, events) and archive updates, then checkpoints the journal once
// the archives are flushed.
//
// Forward-only: with nil Archives (rrd.enabled: false) the Applier applies
// the inventory, statuses and events alone; it creates no archive, skips
// every sample (the forwarders read them from the journal, whose Retain
// keeps what they have not sent; the latest-value table for alert rules
// still gets them), applies no archive-bytes quota, and checkpoints the
// journal as before.
//
// Exactly once: a record is applied when it is journaled (Enqueue) and,
// after a restart, again if it lies after the last checkpoint (Recover).
// Applying twice is harmless: inventory writes are idempotent upserts, a
// repeated status is no change, events are inserted only if absent, and an
// archive refuses a time it already holds (rrd.ErrNotNewer, counted as
// skipped). The checkpoint position only advances over a contiguous prefix
// of the journal whose records are all applied, and the delivery state
// (agent_streams) is stored with it, so the dedupe watermark never runs
// behind the journal after a restart.
type Applier struct {
	cfg      ApplierConfig
	j        *journal.Journal
	db       *inventory.DB
	archives Archives
	m        *metrics.Collector
	log      *slog.Logger
	rc       *recordCodec
	queue    chan queued

	mu       sync.Mutex // guards the fields below
	streams  map[string]inventory.Stream
	frontier journal.Pos
	pending  map[journal.Pos]journal.Pos
	specs    map[[2]string]*archiveState
	limits   map[string]dsLimits // archive path -> its DS limits, as last read or tuned (limits.go)
	// restarts is the latest coldStart/warmStart time of each host (Unix
	// ms); restartSeen the restart each attribute's counters were reset
	// for (traps.go).
	restarts    map[string]int64
	restartSeen map[[2]string]int64
	// parts tracks host inventories arriving in parts (parts.go); only
	// the applying goroutine uses it.
	parts map[string]partState
	// quota is each agent's usage (quota.go); quotaLog rate-limits its log.
	quota    map[string]*quotaState
	quotaLog *rejectLog

	names *snmpname.Table
	// latestBuf is reused by observe (only the applying goroutine uses it).
	latestBuf []latest.Value
}

type queued struct {
	start, end journal.Pos
	rec        *Record
}

type archiveState struct {
	path string // absolute
	ds   []wire.DSDef
	idx  map[string]int
	have bool // the file exists
	step time.Duration
}

// NewApplier builds an applier. Call Recover before serving agents, then
// Run. archives nil runs it forward-only (see Applier).
func NewApplier(cfg ApplierConfig, j *journal.Journal, db *inventory.DB, archives Archives, m *metrics.Collector, log *slog.Logger) (*Applier, error) {
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = time.Minute
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 4096
	}
	if cfg.DefaultInterval <= 0 {
		cfg.DefaultInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Quotas.fill()
	if cfg.TrapNames == nil {
		cfg.TrapNames = snmpname.New()
	}
	if log == nil {
		log = slog.Default()
	}
	if m == nil {
		m = metrics.New()
	}
	rc, err := newRecordCodec()
	if err != nil {
		return nil, err
	}
	return &Applier{cfg: cfg, j: j, db: db, archives: archives, m: m, log: log, rc: rc,
		queue: make(chan queued, cfg.QueueLen), streams: map[string]inventory.Stream{}, parts: map[string]partState{},
		quota: map[string]*quotaState{}, quotaLog: newRejectLog(rejectLogEvery),
		pending: map[journal.Pos]journal.Pos{}, specs: map[[2]string]*archiveState{}, limits: map[string]dsLimits{},
		restarts: map[string]int64{}, restartSeen: map[[2]string]int64{}, names: cfg.TrapNames}, nil
}

// Recover loads the stored delivery state, replays the journal from its
// checkpoint (applying every record again, idempotently) and returns the
// delivery state per agent as of the journal's end: the dedupe watermark
// the ingest server starts from.
func (a *Applier) Recover(ctx context.Context) (map[string]inventory.Stream, error) {
	streams, err := a.db.LoadStreams(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.streams = streams
	a.mu.Unlock()
	n := 0
	from := a.j.Checkpointed()
	err = a.j.Replay(from, func(e journal.Entry) error {
		rec, err := a.rc.unmarshal(e.Data)
		if err != nil {
			a.m.ApplyErrors.Inc()
			a.log.Error("journal record unreadable, skipped", "pos", e.Pos, "err", err)
			return nil
		}
		n++
		a.apply(ctx, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay journal: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.frontier = a.j.End()
	out := make(map[string]inventory.Stream, len(a.streams))
	for k, v := range a.streams {
		out[k] = v
	}
	a.log.Info("journal replayed", "from", from, "to", a.frontier, "records", n, "corrupt", a.j.Stats().Corrupt)
	return out, nil
}

// Enqueue hands a journaled record to Run; it blocks while the queue is full.
func (a *Applier) Enqueue(ctx context.Context, start, end journal.Pos, rec *Record) error {
	select {
	case a.queue <- queued{start, end, rec}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("apply queue: %w", ctx.Err())
	}
}

// Run applies enqueued records and checkpoints every CheckpointInterval
// until ctx ends; then it applies what is still queued and returns. Call
// Checkpoint after it returns for the final flush.
func (a *Applier) Run(ctx context.Context) error {
	t := time.NewTicker(a.cfg.CheckpointInterval)
	defer t.Stop()
	work := context.WithoutCancel(ctx)
	for {
		select {
		case q := <-a.queue:
			a.applyQueued(work, q)
		case <-t.C:
			if err := a.Checkpoint(work); err != nil {
				a.log.Error("checkpoint failed", "err", err)
			}
		case <-ctx.Done():
			for {
				select {
				case q := <-a.queue:
					a.applyQueued(work, q)
				default:
					return nil
				}
			}
		}
	}
}

func (a *Applier) applyQueued(ctx context.Context, q queued) {
	a.apply(ctx, q.rec)
	a.mu.Lock()
	a.pending[q.start] = q.end
	for {
		end, ok := a.pending[a.frontier]
		if !ok {
			break
		}
		delete(a.pending, a.frontier)
		a.frontier = end
	}
	a.mu.Unlock()
	a.m.JournalLag.Set(float64(a.j.End() - a.j.Checkpointed()))
}

// Checkpoint makes everything applied so far durable in the archives,
// stores the delivery state, and checkpoints the journal.
func (a *Applier) Checkpoint(ctx context.Context) error {
	start := time.Now()
	a.mu.Lock()
	pos := a.frontier
	a.mu.Unlock()
	if a.archives != nil {
		if err := a.archives.FlushAll(ctx); err != nil {
			return fmt.Errorf("checkpoint: flush archives: %w", err)
		}
	}
	a.mu.Lock()
	streams := make([]inventory.Stream, 0, len(a.streams))
	for _, s := range a.streams {
		streams = append(streams, s)
	}
	a.mu.Unlock()
	if err := a.db.SaveStreams(ctx, streams, a.cfg.Now()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := a.j.Checkpoint(pos); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	a.m.FlushSeconds.Observe(time.Since(start).Seconds())
	a.m.JournalLag.Set(float64(a.j.End() - pos))
	return nil
}

// apply writes one record. Called from Recover and Run only (one goroutine).
// Failures are logged and counted (ApplyErrors), never returned: a record
// that cannot be applied must not stop the journal from being checkpointed
// or the collector from starting.
func (a *Applier) apply(ctx context.Context, rec *Record) {
	now := a.cfg.Now()
	if rec.Kind == RecordBatch {
		a.screenQuotas(ctx, rec)
	}
	var events []inventory.Event
	if rec.Gap > 0 {
		events = append(events, inventory.Event{At: time.UnixMilli(rec.Received), Kind: inventory.EventAgentDropped, Agent: rec.Agent,
			Message: fmt.Sprintf("agent %s dropped %d batches (epoch %x, up to seq %d; spool totals: %d batches, %d samples dropped, %d corrupt)",
				rec.Agent, rec.Gap, rec.Epoch, rec.Seq-boolToUint(rec.Kind == RecordBatch), rec.Dropped.Batches, rec.Dropped.Samples, rec.Dropped.Corrupt)})
	}
	var traps []inventory.TrapInsert
	statuses := rec.Statuses
	if len(rec.Traps) > 0 {
		traps = a.trapInserts(rec)
		if linked := a.trapEffects(ctx, rec); len(linked) > 0 {
			statuses = append(append([]wire.AttrStatus(nil), rec.Statuses...), linked...)
		}
	}
	hosts, sweep, now := a.hostParts(rec, now)
	if len(hosts) > 0 || len(statuses) > 0 || len(events) > 0 || len(traps) > 0 || len(rec.Devices) > 0 {
		u := inventory.IngestUpdate{Agent: rec.Agent, Now: now, Hosts: hosts, Statuses: statuses, Events: events, Traps: traps, Devices: rec.Devices,
			Archive: ArchivePath, SweepSince: sweep}
		res, err := a.db.ApplyIngest(ctx, u)
		for try := 1; err != nil && try < 3 && ctx.Err() == nil; try++ {
			time.Sleep(time.Duration(try) * 100 * time.Millisecond)
			res, err = a.db.ApplyIngest(ctx, u)
		}
		if err != nil {
			// Samples still go to the archives; the inventory part of this
			// record is lost (the next discovery of the host repeats it).
			a.m.ApplyErrors.Inc()
			a.log.Error("inventory update failed, skipped", "agent", rec.Agent, "seq", rec.Seq, "err", err)
		}
		if res.StatusChanges > 0 && a.cfg.StatusChanged != nil {
			a.cfg.StatusChanged()
		}
		if len(res.Specs) > 0 && a.cfg.InventoryChanged != nil {
			a.cfg.InventoryChanged()
		}
		if res.TrapsStored > 0 {
			for i := range rec.Traps {
				a.m.Traps.WithLabelValues(rec.Traps[i].Host).Inc()
			}
		}
		first := a.firstTime(rec)
		for _, sp := range res.Specs {
			if a.archives == nil {
				break // forward-only: no archives to create or tune
			}
			st := a.setSpec(sp)
			if a.ensureArchive(st, first) {
				a.tuneLimits(st, sp.Host, sp.Key, sp.DS)
			}
		}
	}
	for i := range rec.Updates {
		if a.archives == nil {
			// Forward-only: no archive, but the latest values alert
			// rules compare with still follow the samples.
			a.markRestart(&rec.Updates[i])
			a.observe(&rec.Updates[i])
			continue
		}
		a.update(ctx, &rec.Updates[i])
	}
	a.recordRefusals(ctx, rec)
	a.mu.Lock()
	st := a.streams[rec.Agent]
	st.Agent = rec.Agent
	if st.Epoch == rec.Epoch && rec.Seq < st.AckedSeq {
		// Already past this record (a replay of an older one): keep the newer state.
	} else {
		d := rec.Dropped
		if st.Epoch == rec.Epoch {
			d = d.Max(wire.Drops{Batches: st.DroppedBatches, Samples: st.DroppedSamples, Corrupt: st.Corrupt})
		}
		st.Epoch, st.AckedSeq = rec.Epoch, rec.Seq
		st.DroppedBatches, st.DroppedSamples, st.Corrupt = d.Batches, d.Samples, d.Corrupt
	}
	a.streams[rec.Agent] = st
	a.mu.Unlock()
}

// recordRefusals counts what the session refused from the record's batch
// in the inventory (the Agents page shows it), and an agent's clock found
// ahead. A record replayed after a crash before its checkpoint counts its
// refusals again: the counts are for operators, not for accounting.
func (a *Applier) recordRefusals(ctx context.Context, rec *Record) {
	at := time.UnixMilli(rec.Received)
	for _, r := range rec.Refusals {
		if err := a.db.RecordRefusal(ctx, rec.Agent, inventoryKind(r.Kind), int64(min(r.Count, math.MaxInt64)), r.Reason, at); err != nil {
			a.log.Warn("record refusal", "agent", rec.Agent, "err", err)
		}
		if r.Kind == wire.RejectClockSkew && r.Ahead > 0 {
			if err := a.db.SetClockSkew(ctx, rec.Agent, -time.Duration(r.Ahead)*time.Millisecond); err != nil {
				a.log.Warn("record clock skew", "agent", rec.Agent, "err", err)
			}
		}
	}
}

func boolToUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// firstTime is the earliest time a record writes (or its receive time).
func (a *Applier) firstTime(rec *Record) time.Time {
	first := rec.Received
	for i := range rec.Updates {
		if rec.Updates[i].Time < first {
			first = rec.Updates[i].Time
		}
	}
	return time.UnixMilli(first)
}

func (a *Applier) setSpec(sp inventory.ArchiveSpec) *archiveState {
	k := [2]string{sp.Host, sp.Key}
	st := a.specs[k]
	path := filepath.Join(a.cfg.DataDir, filepath.FromSlash(sp.Archive))
	if st == nil {
		st = &archiveState{path: path}
		a.specs[k] = st
	}
	if len(sp.DS) > 0 && !st.have {
		st.ds = sp.DS
		st.step = sp.Interval
	}
	st.idx = map[string]int{}
	for i, d := range st.ds {
		st.idx[d.Name] = i
	}
	return st
}

// ensureArchive creates the attribute's archive if it does not exist. Its
// notional last update is just before first, so a backlog the agent
// spooled while the collector was away still fits.
func (a *Applier) ensureArchive(st *archiveState, first time.Time) bool {
	if st.have {
		return true
	}
	if info, err := rrd.ReadInfo(st.path); err == nil {
		// The file decides the data sources and their order: the agent's
		// description may have changed since it was created.
		kinds := map[string]wire.DSDef{}
		for _, d := range st.ds {
			kinds[d.Name] = d
		}
		st.ds = st.ds[:0:0]
		st.idx = map[string]int{}
		for i, d := range info.DS {
			def, ok := kinds[d.Name]
			if !ok {
				def = wire.DSDef{Name: d.Name, Min: d.Min, Max: d.Max}
			}
			st.ds = append(st.ds, def)
			st.idx[d.Name] = i
		}
		st.have = true
		return true
	} else if !errors.Is(err, os.ErrNotExist) {
		a.m.ApplyErrors.Inc()
		a.log.Error("read archive", "path", st.path, "err", err)
		return false
	}
	if len(st.ds) == 0 {
		return false
	}
	step := st.step
	if step <= 0 {
		step = a.cfg.DefaultInterval
	}
	stepSec := int64(step / time.Second)
	if stepSec < 1 {
		stepSec = 1
	}
	spec := rrd.Spec{Step: stepSec, Start: first.Add(-time.Second).Truncate(time.Second), RRAs: rrd.DefaultLayout(time.Duration(stepSec) * time.Second)}
	for _, d := range st.ds {
		spec.DS = append(spec.DS, rrd.DS{Name: d.Name, Type: d.Kind.DST(), Heartbeat: 2 * stepSec, Min: d.Min, Max: d.Max})
	}
	if err := os.MkdirAll(filepath.Dir(st.path), 0o755); err != nil {
		a.m.ApplyErrors.Inc()
		a.log.Error("create archive directory", "path", st.path, "err", err)
		return false
	}
	if err := rrd.Create(st.path, spec); err != nil && !errors.Is(err, rrd.ErrExists) {
		a.m.ApplyErrors.Inc()
		a.log.Error("create archive", "path", st.path, "err", err)
		return false
	}
	st.have = true
	return true
}

// update writes one attribute's samples at one time as one archive update.
func (a *Applier) update(ctx context.Context, u *AttrUpdate) {
	a.markRestart(u)
	k := [2]string{u.Host, u.Attr}
	st := a.specs[k]
	if st == nil || len(st.ds) == 0 {
		sp, err := a.db.LookupArchiveSpec(ctx, u.Host, u.Attr)
		switch {
		case err == nil && len(sp.DS) > 0:
		case err == nil || errors.Is(err, inventory.ErrNotFound):
			// The agent never described this attribute: derive the data
			// sources from the samples themselves.
			sp = inventory.ArchiveSpec{Host: u.Host, Key: u.Attr, Archive: ArchivePath(u.Host, u.Attr)}
			for _, v := range u.Values {
				sp.DS = append(sp.DS, wire.DSDef{Name: v.DS, Kind: v.Kind, Min: math.NaN(), Max: math.NaN()})
			}
			a.log.Warn("samples for an attribute the agent never described; archive created from the samples",
				"host", u.Host, "attr", u.Attr, "step", a.cfg.DefaultInterval)
		default:
			a.m.ApplyErrors.Inc()
			a.log.Error("look up archive", "host", u.Host, "attr", u.Attr, "err", err)
			return
		}
		st = a.setSpec(sp)
	}
	if !a.ensureArchive(st, time.UnixMilli(u.Time)) {
		return
	}
	values := make([]rrd.Value, len(st.ds))
	for i := range values {
		values[i] = rrd.Unknown()
	}
	for _, v := range u.Values {
		i, ok := st.idx[v.DS]
		if !ok {
			continue // a data source the archive does not have
		}
		values[i] = rrdValue(v)
	}
	a.observe(u)
	err := a.archives.Update(st.path, time.UnixMilli(u.Time), values)
	switch {
	case err == nil:
		a.m.RRDUpdates.Inc()
	case errors.Is(err, rrd.ErrNotNewer):
		a.m.RRDSkipped.Inc()
	default:
		a.m.ApplyErrors.Inc()
		a.log.Warn("archive update refused", "host", u.Host, "attr", u.Attr, "err", err)
	}
}

// observe hands an update to the latest-value table.
func (a *Applier) observe(u *AttrUpdate) {
	if a.cfg.Latest == nil {
		return
	}
	vals := a.latestBuf[:0]
	for _, v := range u.Values {
		vals = append(vals, latest.Value{DS: v.DS, Kind: v.Kind, Uint: v.Uint, Float: v.Float, Reset: v.Reset})
	}
	a.latestBuf = vals
	a.cfg.Latest.Observe(u.Host, u.Attr, u.Time, vals)
}

// rrdValue converts a sample: a reset is unknown (the archive records
// unknown for the interval instead of a bogus rate).
func rrdValue(v DSValue) rrd.Value {
	if v.Reset {
		return rrd.Unknown()
	}
	switch v.Kind {
	case sample.Counter32, sample.Counter64, sample.Absolute:
		return rrd.Uint(v.Uint)
	case sample.Derive:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return rrd.Unknown()
		}
		return rrd.Int(int64(math.Round(v.Float)))
	default:
		return rrd.Float(v.Float)
	}
}

// Streams returns the applied delivery state (for tests and status pages).
func (a *Applier) Streams() map[string]inventory.Stream {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]inventory.Stream, len(a.streams))
	for k, v := range a.streams {
		out[k] = v
	}
	return out
}

package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Stream is an agent's delivery state (the agent_streams table): the
// highest sequence number of its current spool epoch that the collector
// stored, and the drop counters it reported last.
type Stream struct {
	Agent          string
	Epoch          uint64
	AckedSeq       uint64
	DroppedBatches uint64
	DroppedSamples uint64
	Corrupt        uint64
}

// LoadStreams returns every agent's stored delivery state by agent name.
func (db *DB) LoadStreams(ctx context.Context) (map[string]Stream, error) {
	rows, err := db.w.QueryContext(ctx, `SELECT agent, epoch, acked_seq, dropped_batches, dropped_samples, corrupt FROM agent_streams`)
	if err != nil {
		return nil, fmt.Errorf("load streams: %w", err)
	}
	defer rows.Close()
	out := map[string]Stream{}
	for rows.Next() {
		var s Stream
		var epoch, seq, db_, ds, c int64
		if err := rows.Scan(&s.Agent, &epoch, &seq, &db_, &ds, &c); err != nil {
			return nil, fmt.Errorf("load streams: %w", err)
		}
		// SQLite integers are signed: uint64 values travel bit for bit.
		s.Epoch, s.AckedSeq, s.DroppedBatches, s.DroppedSamples, s.Corrupt = uint64(epoch), uint64(seq), uint64(db_), uint64(ds), uint64(c)
		out[s.Agent] = s
	}
	return out, rows.Err()
}

// SaveStreams stores delivery states in one transaction. Streams of
// agents not in the agents table are skipped.
func (db *DB) SaveStreams(ctx context.Context, streams []Stream, now time.Time) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save streams: %w", err)
	}
	defer tx.Rollback()
	for _, s := range streams {
		if _, err := tx.ExecContext(ctx, `INSERT INTO agent_streams(agent, epoch, acked_seq, dropped_batches, dropped_samples, corrupt, updated_at)
			SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM agents WHERE name = ?)
			ON CONFLICT(agent) DO UPDATE SET epoch = excluded.epoch, acked_seq = excluded.acked_seq,
				dropped_batches = excluded.dropped_batches, dropped_samples = excluded.dropped_samples,
				corrupt = excluded.corrupt, updated_at = excluded.updated_at`,
			s.Agent, int64(s.Epoch), int64(s.AckedSeq), int64(s.DroppedBatches), int64(s.DroppedSamples), int64(s.Corrupt), now.UnixMilli(), s.Agent); err != nil {
			return fmt.Errorf("save stream %s: %w", s.Agent, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save streams: %w", err)
	}
	return nil
}

// ArchiveSpec is what the archive writer needs to know of an attribute.
type ArchiveSpec struct {
	Host     string
	Key      string
	Interval time.Duration // 0 when the agent never described the attribute
	DS       []wire.DSDef
	Archive  string // relative to the data directory
}

// IngestUpdate is the inventory part of one journaled batch.
type IngestUpdate struct {
	Agent    string
	Now      time.Time
	Hosts    []wire.Host
	Statuses []wire.AttrStatus
	Events   []Event
	// Traps are stored once each (TrapInsert's stream position is unique).
	Traps []TrapInsert
	// Archive returns an attribute's archive path relative to the data
	// directory; called for every attribute upserted.
	Archive func(host, key string) string
	// SweepSince holds, for a host whose inventory arrived in parts
	// (wire.HostPart), when its first part was applied: the last part,
	// Complete, marks gone every attribute not upserted since then,
	// instead of those not listed in the last part.
	SweepSince map[string]time.Time
	// Devices are hosts' hardware entities and neighbours (devices.go),
	// applied after Hosts.
	Devices []wire.DeviceFacts
}

// IngestResult lists the attributes an update created or redescribed.
type IngestResult struct {
	Specs         []ArchiveSpec
	StatusChanges int
	// TrapsStored counts the traps inserted (not already present).
	TrapsStored int
}

// ApplyIngest writes hosts, attributes, statuses (with a status_events row
// per change) and events in one transaction. It is idempotent: applying
// the same update twice leaves the same rows (a repeated status is not a
// change), which is what journal replay relies on.
func (db *DB) ApplyIngest(ctx context.Context, u IngestUpdate) (IngestResult, error) {
	var res IngestResult
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("ingest: %w", err)
	}
	defer tx.Rollback()
	now := u.Now.UnixMilli()
	for i := range u.Hosts {
		var since int64 = -1
		if t, ok := u.SweepSince[u.Hosts[i].Name]; ok {
			since = t.UnixMilli()
		}
		specs, err := upsertHost(ctx, tx, u.Agent, &u.Hosts[i], now, since, u.Archive)
		if err != nil {
			return res, err
		}
		res.Specs = append(res.Specs, specs...)
	}
	for _, s := range u.Statuses {
		changed, err := applyStatus(ctx, tx, u.Agent, s, now, u.Archive)
		if err != nil {
			return res, err
		}
		if changed {
			res.StatusChanges++
		}
	}
	for _, e := range u.Events {
		// Only if absent: a journal replay applies the same event again.
		if _, err := tx.ExecContext(ctx, `INSERT INTO events(at, kind, agent, host, message)
			SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM events WHERE at = ? AND kind = ? AND agent = ? AND message = ?)`,
			e.At.UnixMilli(), e.Kind, e.Agent, e.Host, e.Message, e.At.UnixMilli(), e.Kind, e.Agent, e.Message); err != nil {
			return res, fmt.Errorf("ingest event %s: %w", e.Kind, err)
		}
	}
	for i := range u.Devices {
		evs, err := applyDevices(ctx, tx, u.Agent, &u.Devices[i], now)
		if err != nil {
			return res, err
		}
		for _, e := range evs {
			if err := insertEvent(ctx, tx, e); err != nil {
				return res, err
			}
		}
	}
	n, err := insertTraps(ctx, tx, u.Agent, u.Traps)
	if err != nil {
		return res, err
	}
	res.TrapsStored = n
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("ingest: %w", err)
	}
	return res, nil
}

func hostID(ctx context.Context, tx *sql.Tx, agent, name string, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO hosts(name, agent, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET agent = excluded.agent RETURNING id`, name, agent, now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ingest host %s: %w", name, err)
	}
	return id, nil
}

func dsJSON(ds []wire.DSDef) string {
	out := make([]DSInfo, len(ds))
	for i, d := range ds {
		out[i] = DSInfo{Name: d.Name, Kind: d.Kind.String()}
		if !math.IsNaN(d.Min) && !math.IsInf(d.Min, 0) {
			v := d.Min
			out[i].Min = &v
		}
		if !math.IsNaN(d.Max) && !math.IsInf(d.Max, 0) {
			v := d.Max
			out[i].Max = &v
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// upsertHost writes a host and its attributes. When h is Complete, the
// host's other attributes are marked gone: those not in h.Attrs, or, when
// sweepSince >= 0 (the last part of an inventory split over batches),
// those not upserted since sweepSince (Unix ms).
func upsertHost(ctx context.Context, tx *sql.Tx, agent string, h *wire.Host, now, sweepSince int64, archive func(host, key string) string) ([]ArchiveSpec, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO hosts(name, agent, address, sys_name, sys_descr, sys_object_id, location, contact, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET agent = excluded.agent, address = excluded.address, sys_name = excluded.sys_name,
			sys_descr = excluded.sys_descr, sys_object_id = excluded.sys_object_id, location = excluded.location,
			contact = excluded.contact, updated_at = excluded.updated_at
		RETURNING id`,
		h.Name, agent, h.Address, h.SysName, h.SysDescr, h.SysObjectID, h.Location, h.Contact, now, now).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("ingest host %s: %w", h.Name, err)
	}
	var specs []ArchiveSpec
	keys := make([]any, 0, len(h.Attrs)+1)
	keys = append(keys, id)
	for _, a := range h.Attrs {
		props := "{}"
		if len(a.Props) > 0 {
			b, err := json.Marshal(a.Props)
			if err != nil {
				return nil, fmt.Errorf("ingest %s/%s props: %w", h.Name, a.Key, err)
			}
			props = string(b)
		}
		arch := archive(h.Name, a.Key)
		if _, err := tx.ExecContext(ctx, `INSERT INTO attributes(host_id, key, kind, name, descr, props, interval_s, ds, archive, gone, never_up, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
			ON CONFLICT(host_id, key) DO UPDATE SET kind = excluded.kind, name = excluded.name, descr = excluded.descr,
				props = excluded.props, interval_s = excluded.interval_s, ds = excluded.ds, archive = excluded.archive,
				gone = 0, updated_at = excluded.updated_at`,
			id, a.Key, a.Kind, a.Name, a.Descr, props, a.Interval, dsJSON(a.DS), arch, a.Kind == wire.KindInterface, now, now); err != nil {
			return nil, fmt.Errorf("ingest %s/%s: %w", h.Name, a.Key, err)
		}
		specs = append(specs, ArchiveSpec{Host: h.Name, Key: a.Key, Interval: time.Duration(a.Interval) * time.Second, DS: a.DS, Archive: arch})
		keys = append(keys, a.Key)
	}
	if h.Complete && sweepSince >= 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE attributes SET gone = 1, updated_at = ? WHERE host_id = ? AND gone = 0 AND updated_at < ?`,
			now, id, sweepSince); err != nil {
			return nil, fmt.Errorf("ingest %s: mark gone: %w", h.Name, err)
		}
	} else if h.Complete {
		q := `UPDATE attributes SET gone = 1, updated_at = ? WHERE host_id = ? AND gone = 0`
		args := []any{now, id}
		if len(h.Attrs) > 0 {
			// One bound JSON array, not a variable per key: a host's
			// attribute list is not limited by SQLite's 32,766 variables.
			listed, err := json.Marshal(keys[1:])
			if err != nil {
				return nil, fmt.Errorf("ingest %s: mark gone: %w", h.Name, err)
			}
			q += ` AND key NOT IN (SELECT value FROM json_each(?))`
			args = append(args, string(listed))
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return nil, fmt.Errorf("ingest %s: mark gone: %w", h.Name, err)
		}
	}
	return specs, nil
}

// KindOfKey guesses an attribute kind from its key's prefix (see the
// wire.Kind* conventions), for a status that arrives before its attribute.
func KindOfKey(key string) string {
	prefix, _, _ := strings.Cut(key, ":")
	switch prefix {
	case "host":
		return wire.KindHost
	case "if":
		return wire.KindInterface
	case "ntp":
		return wire.KindNTP
	case "ntp-peer":
		return wire.KindNTPPeer
	case "storage":
		return wire.KindStorage
	case "cpu":
		return wire.KindProcessor
	case "sensor":
		return wire.KindSensor
	case "mem":
		return wire.KindMemory
	case "load":
		return wire.KindLoad
	}
	return wire.KindOID
}

// UnusedPortReason starts the status reason of an interface that is Down
// and has never been Up since discovery: an unused port, which does not
// make its host Down (see Counted).
const UnusedPortReason = "never up since discovery (unused port)"

// Counted is the SQL condition, on attributes aliased a, for an attribute
// that counts in status roll-ups (a host's worst status, the totals): all
// but interfaces that are Down and have never been Up.
func Counted(a string) string {
	return fmt.Sprintf("NOT (%[1]s.never_up = 1 AND %[1]s.status = %[2]d)", a, int(status.Down))
}

func applyStatus(ctx context.Context, tx *sql.Tx, agent string, s wire.AttrStatus, now int64, archive func(host, key string) string) (bool, error) {
	var attrID int64
	var old int
	var kind, rule, ruleReason string
	var ruleStatus int
	var neverUp bool
	err := tx.QueryRowContext(ctx, `SELECT a.id, a.status, a.kind, a.never_up, a.rule_name, a.rule_status, a.rule_reason
		FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = ? AND a.key = ?`,
		s.Host, s.Attr).Scan(&attrID, &old, &kind, &neverUp, &rule, &ruleStatus, &ruleReason)
	if errors.Is(err, sql.ErrNoRows) {
		hid, err := hostID(ctx, tx, agent, s.Host, now)
		if err != nil {
			return false, err
		}
		kind = KindOfKey(s.Attr)
		neverUp = kind == wire.KindInterface
		if err := tx.QueryRowContext(ctx, `INSERT INTO attributes(host_id, key, kind, archive, status, never_up, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, hid, s.Attr, kind, archive(s.Host, s.Attr), int(status.Unknown), neverUp, now, now).Scan(&attrID); err != nil {
			return false, fmt.Errorf("ingest status %s/%s: %w", s.Host, s.Attr, err)
		}
		old = int(status.Unknown)
	} else if err != nil {
		return false, fmt.Errorf("ingest status %s/%s: %w", s.Host, s.Attr, err)
	}
	at := s.Time
	if at == 0 {
		at = now
	}
	if s.Status == status.Up {
		neverUp = false
	} else if s.Status == status.Down && neverUp {
		s.Reason = UnusedPortReason + ": " + s.Reason
	}
	// What the agent reports is kept; the status shown is a rule's while
	// one holds the attribute and the agent reports Up.
	st, reason := effectiveStatus(s.Status, s.Reason, rule, status.Status(ruleStatus), ruleReason)
	if status.Status(old) == st {
		_, err := tx.ExecContext(ctx, `UPDATE attributes SET status_reason = ?, never_up = ?, reported_status = ?, reported_reason = ? WHERE id = ?`,
			reason, neverUp, int(s.Status), s.Reason, attrID)
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE attributes SET status = ?, status_reason = ?, status_since = ?, updated_at = ?, never_up = ?,
		reported_status = ?, reported_reason = ? WHERE id = ?`,
		int(st), reason, at, now, neverUp, int(s.Status), s.Reason, attrID); err != nil {
		return false, fmt.Errorf("ingest status %s/%s: %w", s.Host, s.Attr, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO status_events(attr_id, at, old_status, new_status, reason) VALUES (?, ?, ?, ?, ?)`,
		attrID, at, old, int(st), reason); err != nil {
		return false, fmt.Errorf("ingest status event %s/%s: %w", s.Host, s.Attr, err)
	}
	return true, nil
}

// effectiveStatus is an attribute's status from what its agent reports
// and the rule that holds it, if any: the rule's status while the agent
// reports Up, the agent's otherwise.
func effectiveStatus(reported status.Status, reportedReason, rule string, ruleStatus status.Status, ruleReason string) (status.Status, string) {
	if rule != "" && reported == status.Up {
		return ruleStatus, ruleReason
	}
	return reported, reportedReason
}

// LookupArchiveSpec returns an attribute's archive description, or
// ErrNotFound.
func (db *DB) LookupArchiveSpec(ctx context.Context, host, key string) (ArchiveSpec, error) {
	var interval int64
	var ds string
	spec := ArchiveSpec{Host: host, Key: key}
	err := db.r.QueryRowContext(ctx, `SELECT a.interval_s, a.ds, a.archive FROM attributes a JOIN hosts h ON h.id = a.host_id WHERE h.name = ? AND a.key = ?`,
		host, key).Scan(&interval, &ds, &spec.Archive)
	if errors.Is(err, sql.ErrNoRows) {
		return spec, fmt.Errorf("attribute %s/%s: %w", host, key, ErrNotFound)
	}
	if err != nil {
		return spec, fmt.Errorf("attribute %s/%s: %w", host, key, err)
	}
	spec.Interval = time.Duration(interval) * time.Second
	var infos []DSInfo
	if ds != "" {
		if err := json.Unmarshal([]byte(ds), &infos); err != nil {
			return spec, fmt.Errorf("attribute %s/%s ds: %w", host, key, err)
		}
	}
	for _, d := range infos {
		k, err := sample.ParseKind(d.Kind)
		if err != nil {
			return spec, fmt.Errorf("attribute %s/%s ds %s: %w", host, key, d.Name, err)
		}
		def := wire.DSDef{Name: d.Name, Kind: k, Min: math.NaN(), Max: math.NaN()}
		if d.Min != nil {
			def.Min = *d.Min
		}
		if d.Max != nil {
			def.Max = *d.Max
		}
		spec.DS = append(spec.DS, def)
	}
	return spec, nil
}

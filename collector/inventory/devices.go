package inventory

// Device hardware, neighbours and the topology derived from them (issue
// 18): applied from ingest (ApplyIngest, IngestUpdate.Devices), read by
// the web UI and API.

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// EventHardware is the event kind of a hardware change: an entity added,
// removed, or replaced (its serial number changed).
const EventHardware = "hardware"

// maxHardwareEvents bounds the events one discovery records; the rest are
// summed up in one more.
const maxHardwareEvents = 20

// applyDevices stores one host's facts: entities replaced (events for the
// changes when the host had entities before), neighbours replaced (first
// seen kept), identities replaced. The host row exists already or is
// created. It returns the events to record.
func applyDevices(ctx context.Context, tx *sql.Tx, agent string, f *wire.DeviceFacts, now int64) ([]Event, error) {
	id, err := hostID(ctx, tx, agent, f.Host, now)
	if err != nil {
		return nil, err
	}
	var events []Event
	if f.HasEntities {
		if events, err = applyEntities(ctx, tx, id, agent, f, now); err != nil {
			return nil, err
		}
	}
	if f.HasNeighbors {
		if err := applyNeighbors(ctx, tx, id, f, now); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM host_identities WHERE host_id = ?`, id); err != nil {
		return nil, fmt.Errorf("device facts of %s: %w", f.Host, err)
	}
	for kind, vals := range map[string][]string{"chassis": f.ChassisIDs, "address": f.MgmtAddrs} {
		for _, v := range vals {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO host_identities(host_id, kind, value) VALUES (?, ?, ?)`, id, kind, v); err != nil {
				return nil, fmt.Errorf("device facts of %s: %w", f.Host, err)
			}
		}
	}
	return events, nil
}

func applyEntities(ctx context.Context, tx *sql.Tx, id int64, agent string, f *wire.DeviceFacts, now int64) ([]Event, error) {
	type old struct {
		class, name, model, serial string
		first                      int64
	}
	prev := map[uint32]old{}
	rows, err := tx.QueryContext(ctx, `SELECT idx, class, name, model, serial, first_seen FROM entities WHERE host_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("entities of %s: %w", f.Host, err)
	}
	for rows.Next() {
		var idx uint32
		var o old
		if err := rows.Scan(&idx, &o.class, &o.name, &o.model, &o.serial, &o.first); err != nil {
			rows.Close()
			return nil, fmt.Errorf("entities of %s: %w", f.Host, err)
		}
		prev[idx] = o
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("entities of %s: %w", f.Host, err)
	}
	var msgs []string
	label := func(class, name, model string) string {
		s := class + " " + strings.TrimSpace(name)
		if model != "" {
			s += " (" + model + ")"
		}
		return s
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM entities WHERE host_id = ?`, id); err != nil {
		return nil, fmt.Errorf("entities of %s: %w", f.Host, err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO entities(host_id, idx, class, descr, name, model, serial, hardware_rev, firmware_rev,
		software_rev, vendor, contained_in, position, fru, if_index, first_seen, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(host_id, idx) DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("entities of %s: %w", f.Host, err)
	}
	defer stmt.Close()
	seen := map[uint32]bool{}
	for _, e := range f.Entities {
		first := now
		if o, ok := prev[e.Index]; ok {
			switch {
			case o.serial != e.Serial && (o.serial != "" || e.Serial != ""):
				msgs = append(msgs, fmt.Sprintf("%s replaced: serial %q, was %q", label(e.Class, e.Name, e.Model), e.Serial, o.serial))
			case o.model != e.Model && o.model != "":
				msgs = append(msgs, fmt.Sprintf("%s changed model, was %q", label(e.Class, e.Name, e.Model), o.model))
			default:
				first = o.first
			}
		} else if len(prev) > 0 {
			msgs = append(msgs, fmt.Sprintf("%s added (serial %q)", label(e.Class, e.Name, e.Model), e.Serial))
		}
		seen[e.Index] = true
		if _, err := stmt.ExecContext(ctx, id, e.Index, e.Class, e.Descr, e.Name, e.Model, e.Serial, e.HardwareRev, e.FirmwareRev,
			e.SoftwareRev, e.Vendor, e.ContainedIn, e.Position, boolInt(e.FRU), e.IfIndex, first, now); err != nil {
			return nil, fmt.Errorf("entities of %s: %w", f.Host, err)
		}
	}
	var gone []uint32
	for idx := range prev {
		if !seen[idx] {
			gone = append(gone, idx)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	for _, idx := range gone {
		o := prev[idx]
		msgs = append(msgs, fmt.Sprintf("%s removed (serial %q)", label(o.class, o.name, o.model), o.serial))
	}
	var events []Event
	for i, m := range msgs {
		if i == maxHardwareEvents {
			m = fmt.Sprintf("%d more hardware changes", len(msgs)-i)
		}
		events = append(events, Event{At: time.UnixMilli(f.Time), Kind: EventHardware, Agent: agent, Host: f.Host, Message: f.Host + ": " + m})
		if i == maxHardwareEvents {
			break
		}
	}
	return events, nil
}

func applyNeighbors(ctx context.Context, tx *sql.Tx, id int64, f *wire.DeviceFacts, now int64) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO neighbors(host_id, protocol, local_ifindex, local_port, chassis_id, sys_name,
		port_id, port_descr, platform, mgmt_addr, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(host_id, protocol, local_ifindex, local_port, chassis_id, port_id) DO UPDATE SET
		sys_name = excluded.sys_name, port_descr = excluded.port_descr, platform = excluded.platform,
		mgmt_addr = excluded.mgmt_addr, last_seen = excluded.last_seen`)
	if err != nil {
		return fmt.Errorf("neighbours of %s: %w", f.Host, err)
	}
	defer stmt.Close()
	for _, n := range f.Neighbors {
		if _, err := stmt.ExecContext(ctx, id, n.Protocol, n.LocalIfIndex, n.LocalPort, n.ChassisID, n.SysName, n.PortID,
			n.PortDescr, n.Platform, n.MgmtAddr, now, now); err != nil {
			return fmt.Errorf("neighbours of %s: %w", f.Host, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM neighbors WHERE host_id = ? AND last_seen < ?`, id, now); err != nil {
		return fmt.Errorf("neighbours of %s: %w", f.Host, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Entity is one row of a host's hardware inventory.
type Entity struct {
	wire.Entity
	FirstSeen time.Time `json:"first_seen"`
}

// Entities returns host's hardware entities in index order.
func (db *DB) Entities(ctx context.Context, host string) ([]Entity, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT e.idx, e.class, e.descr, e.name, e.model, e.serial, e.hardware_rev, e.firmware_rev,
		e.software_rev, e.vendor, e.contained_in, e.position, e.fru, e.if_index, e.first_seen
		FROM entities e JOIN hosts h ON h.id = e.host_id WHERE h.name = ? ORDER BY e.idx`, host)
	if err != nil {
		return nil, fmt.Errorf("entities of %s: %w", host, err)
	}
	var out []Entity
	for rows.Next() {
		var e Entity
		var fru int
		var first int64
		if err := rows.Scan(&e.Index, &e.Class, &e.Descr, &e.Name, &e.Model, &e.Serial, &e.HardwareRev, &e.FirmwareRev,
			&e.SoftwareRev, &e.Vendor, &e.ContainedIn, &e.Position, &fru, &e.IfIndex, &first); err != nil {
			rows.Close()
			return nil, fmt.Errorf("entities of %s: %w", host, err)
		}
		e.FRU, e.FirstSeen = fru == 1, ms(first)
		out = append(out, e)
	}
	return out, closeRows(rows)
}

// Neighbor is one neighbour of a host, with the known host it matches.
type Neighbor struct {
	wire.Neighbor
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// RemoteHost is the Outpost host this neighbour is, "" if none matches.
	RemoteHost string `json:"remote_host,omitempty"`
}

// Neighbors returns host's neighbours by local interface.
func (db *DB) Neighbors(ctx context.Context, host string) ([]Neighbor, error) {
	all, err := db.neighborRows(ctx, host)
	if err != nil {
		return nil, err
	}
	m, err := db.matcher(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Neighbor, len(all))
	for i, r := range all {
		out[i] = r.Neighbor
		out[i].RemoteHost = m.match(&r.Neighbor.Neighbor, r.host)
	}
	return out, nil
}

type neighborRow struct {
	Neighbor
	host string
}

// neighborRows lists the neighbours of host ("" for every host).
func (db *DB) neighborRows(ctx context.Context, host string) ([]neighborRow, error) {
	q := `SELECT h.name, n.protocol, n.local_ifindex, n.local_port, n.chassis_id, n.sys_name, n.port_id, n.port_descr, n.platform,
		n.mgmt_addr, n.first_seen, n.last_seen FROM neighbors n JOIN hosts h ON h.id = n.host_id`
	var args []any
	if host != "" {
		q += ` WHERE h.name = ?`
		args = append(args, host)
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY h.name, n.local_ifindex, n.protocol, n.sys_name`, args...)
	if err != nil {
		return nil, fmt.Errorf("neighbours: %w", err)
	}
	var out []neighborRow
	for rows.Next() {
		var r neighborRow
		var first, last int64
		n := &r.Neighbor.Neighbor
		if err := rows.Scan(&r.host, &n.Protocol, &n.LocalIfIndex, &n.LocalPort, &n.ChassisID, &n.SysName, &n.PortID, &n.PortDescr,
			&n.Platform, &n.MgmtAddr, &first, &last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("neighbours: %w", err)
		}
		r.FirstSeen, r.LastSeen = ms(first), ms(last)
		out = append(out, r)
	}
	return out, closeRows(rows)
}

// hostMatcher finds the known host a neighbour is: by its chassis id (the
// host's own lldpLocChassisId), by its management address (the host's
// configured address or one it advertises), then by its system name
// (sysName or the target name, case-insensitive, also without the
// domain: CDP device ids are often "sw1.example.net").
type hostMatcher struct {
	chassis, addr, name map[string]string
}

func (db *DB) matcher(ctx context.Context) (*hostMatcher, error) {
	m := &hostMatcher{chassis: map[string]string{}, addr: map[string]string{}, name: map[string]string{}}
	rows, err := db.r.QueryContext(ctx, `SELECT name, address, sys_name FROM hosts`)
	if err != nil {
		return nil, fmt.Errorf("topology hosts: %w", err)
	}
	for rows.Next() {
		var name, addr, sys string
		if err := rows.Scan(&name, &addr, &sys); err != nil {
			rows.Close()
			return nil, fmt.Errorf("topology hosts: %w", err)
		}
		if addr != "" {
			m.addr[addr] = name
		}
		for _, s := range []string{name, sys} {
			if s != "" {
				m.name[strings.ToLower(s)] = name
			}
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("topology hosts: %w", err)
	}
	rows, err = db.r.QueryContext(ctx, `SELECT h.name, i.kind, i.value FROM host_identities i JOIN hosts h ON h.id = i.host_id`)
	if err != nil {
		return nil, fmt.Errorf("topology identities: %w", err)
	}
	for rows.Next() {
		var name, kind, value string
		if err := rows.Scan(&name, &kind, &value); err != nil {
			rows.Close()
			return nil, fmt.Errorf("topology identities: %w", err)
		}
		if kind == "chassis" {
			m.chassis[strings.ToLower(value)] = name
		} else {
			m.addr[value] = name
		}
	}
	return m, closeRows(rows)
}

func (m *hostMatcher) match(n *wire.Neighbor, self string) string {
	try := func(h string, ok bool) (string, bool) { return h, ok && h != "" && h != self }
	if h, ok := try(m.chassis[strings.ToLower(n.ChassisID)], n.ChassisID != ""); ok {
		return h
	}
	if h, ok := try(m.addr[n.MgmtAddr], n.MgmtAddr != ""); ok {
		return h
	}
	name := strings.ToLower(n.SysName)
	if h, ok := try(m.name[name], name != ""); ok {
		return h
	}
	if short, _, found := strings.Cut(name, "."); found {
		if h, ok := try(m.name[short], short != ""); ok {
			return h
		}
	}
	return ""
}

// TopologyNode is a host on the map.
type TopologyNode struct {
	Host   string        `json:"host"`
	Agent  string        `json:"agent"` // the site: nodes are grouped by agent
	Status status.Status `json:"-"`
	// StatusName is Status's name ("Up", "Down"...).
	StatusName string `json:"status"`
}

// TopologyEdge is a link between two known hosts; A sorts before B.
type TopologyEdge struct {
	A        string        `json:"a"`
	APort    string        `json:"a_port"`
	B        string        `json:"b"`
	BPort    string        `json:"b_port"`
	Protocol string        `json:"protocol"`
	Status   status.Status `json:"-"`
	// StatusName is the worse status of the two ports (of the one port
	// known when only one side reports the link).
	StatusName string `json:"status"`
	// SpeedBPS is the link's speed as the ports report it (the lower).
	SpeedBPS uint64 `json:"speed_bps,omitempty"`
	// Archive and Interval are those of one port's interface attribute
	// (A's when known, else B's), whose traffic labels the link; "" when
	// neither port is a known interface.
	Archive  string        `json:"-"`
	Interval time.Duration `json:"-"`
	// InBPS and OutBPS are that port's latest traffic (bits/s, as seen
	// from ArchiveHost), set by the web layer from the archive; nil unknown.
	ArchiveHost string   `json:"measured_at,omitempty"`
	InBPS       *float64 `json:"in_bps,omitempty"`
	OutBPS      *float64 `json:"out_bps,omitempty"`
}

// Topology is the map: hosts that take part in a link, and the links.
type Topology struct {
	Nodes []TopologyNode `json:"nodes"`
	Edges []TopologyEdge `json:"edges"`
}

// Topology matches every host's neighbours to known hosts and returns the
// links between them, each once (a link both ends report is one edge).
func (db *DB) Topology(ctx context.Context) (*Topology, error) {
	all, err := db.neighborRows(ctx, "")
	if err != nil {
		return nil, err
	}
	m, err := db.matcher(ctx)
	if err != nil {
		return nil, err
	}
	ports, err := db.portStates(ctx)
	if err != nil {
		return nil, err
	}
	type end struct{ host, port string }
	edges := map[[2]end]*TopologyEdge{}
	hosts := map[string]bool{}
	for _, r := range all {
		remote := m.match(&r.Neighbor.Neighbor, r.host)
		if remote == "" {
			continue
		}
		local := end{r.host, r.LocalPort}
		ps := ports[portKey{r.host, r.LocalIfIndex}]
		if ps.name != "" {
			local.port = ps.name
		}
		// The remote port as the remote host names it, when it reports
		// the same link (its own neighbour row pointing back) or when its
		// interface of that name is known.
		far := end{remote, r.PortID}
		a, b := local, far
		if b.host < a.host {
			a, b = b, a
		}
		k := [2]end{a, b}
		e := edges[k]
		if e == nil {
			// The same link reported by the other end with other port
			// names (CDP ifName vs LLDP port id): merge on hosts and one port.
			for kk, ee := range edges {
				if (kk[0].host == a.host && kk[1].host == b.host) && (kk[0].port == a.port || kk[1].port == b.port) {
					e = ee
					break
				}
			}
		}
		if e == nil {
			e = &TopologyEdge{A: a.host, APort: a.port, B: b.host, BPort: b.port, Protocol: r.Protocol, Status: status.Unknown}
			edges[k] = e
			if ps.name != "" {
				e.Status = ps.status
				e.Archive, e.Interval, e.ArchiveHost = ps.archive, ps.interval, r.host
			}
			e.SpeedBPS = ps.speed
		} else if ps.name != "" {
			if e.Status == status.Unknown || ps.status.Severity() < e.Status.Severity() {
				e.Status = ps.status
			}
			if ps.speed > 0 && (e.SpeedBPS == 0 || ps.speed < e.SpeedBPS) {
				e.SpeedBPS = ps.speed
			}
			if e.Archive == "" {
				e.Archive, e.Interval, e.ArchiveHost = ps.archive, ps.interval, r.host
			}
		}
		hosts[r.host], hosts[remote] = true, true
	}
	t := &Topology{Nodes: []TopologyNode{}, Edges: []TopologyEdge{}}
	for _, e := range edges {
		e.StatusName = e.Status.String()
		t.Edges = append(t.Edges, *e)
	}
	sort.Slice(t.Edges, func(i, j int) bool {
		x, y := t.Edges[i], t.Edges[j]
		if x.A != y.A {
			return x.A < y.A
		}
		if x.B != y.B {
			return x.B < y.B
		}
		return x.APort < y.APort
	})
	if len(hosts) == 0 {
		return t, nil
	}
	list, err := db.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range list {
		if hosts[h.Name] {
			st := h.Counts.Worst()
			t.Nodes = append(t.Nodes, TopologyNode{Host: h.Name, Agent: h.Agent, Status: st, StatusName: st.String()})
		}
	}
	return t, nil
}

type portKey struct {
	host    string
	ifIndex uint32
}

type portState struct {
	name     string
	status   status.Status
	speed    uint64
	archive  string
	interval time.Duration
}

// portStates returns every live interface's name, status and speed by host and ifIndex.
func (db *DB) portStates(ctx context.Context) (map[portKey]portState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT h.name, a.name, a.status, a.archive, a.interval_s, COALESCE(json_extract(a.props, '$.ifIndex'), ''),
		COALESCE(json_extract(a.props, '$.speed'), json_extract(a.props, '$.ifSpeed'), '') FROM attributes a JOIN hosts h ON h.id = a.host_id
		WHERE a.kind = 'interface' AND a.gone = 0`)
	if err != nil {
		return nil, fmt.Errorf("topology ports: %w", err)
	}
	out := map[portKey]portState{}
	for rows.Next() {
		var host, name, archive, idx, speed string
		var st int
		var interval int64
		if err := rows.Scan(&host, &name, &st, &archive, &interval, &idx, &speed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("topology ports: %w", err)
		}
		var i uint32
		var sp uint64
		_, _ = fmt.Sscan(idx, &i)
		_, _ = fmt.Sscan(speed, &sp)
		out[portKey{host, i}] = portState{name: name, status: status.Status(st), speed: sp, archive: archive, interval: time.Duration(interval) * time.Second}
	}
	return out, closeRows(rows)
}

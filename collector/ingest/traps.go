package ingest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/snmpname"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// What a record's traps do besides being stored (see trapEffects):
//
//   - linkDown and linkUp naming an ifIndex set that interface's status at
//     once, from the ifAdminStatus and ifOperStatus varbinds when present
//     (the next poll confirms or corrects it);
//   - coldStart and warmStart mark a counter discontinuity: the first
//     counter update of each of the host's attributes at or after the
//     trap's time is recorded as unknown (a reset), as the agent does when
//     it sees sysUpTime go back, so a restarted device's counters never
//     make a spike even when the trap arrives before the poll notices.

// trapInserts names a record's traps and places them in the agent's stream.
func (a *Applier) trapInserts(rec *Record) []inventory.TrapInsert {
	out := make([]inventory.TrapInsert, len(rec.Traps))
	for i := range rec.Traps {
		t := &rec.Traps[i]
		name, _ := a.names.Name(t.OID)
		it := inventory.Trap{At: time.UnixMilli(t.Time), Received: time.UnixMilli(rec.Received), Agent: rec.Agent, Host: t.Host,
			Source: t.Source, SourceFrom: t.SourceFrom.String(), From: t.From, Version: int(t.Version), Inform: t.Inform, User: t.User,
			OID: t.OID, Name: name, Uptime: t.Uptime, Enterprise: t.Enterprise, Generic: int(t.Generic), Specific: int(t.Specific),
			Truncated: int(t.Truncated)}
		it.VarBinds = make([]inventory.TrapVarBind, len(t.VarBinds))
		for j, v := range t.VarBinds {
			n, _ := a.names.Name(v.OID)
			it.VarBinds[j] = inventory.TrapVarBind{OID: v.OID, Name: n, Type: wire.VarBindTypeName(v.Type), Value: v.Value, Hex: v.Hex}
		}
		out[i] = inventory.TrapInsert{Epoch: rec.Epoch, Seq: rec.Seq, Index: i, Trap: it}
	}
	return out
}

// trapEffects returns the interface statuses that linkDown/linkUp traps
// set, and notes coldStart/warmStart restarts for update.
func (a *Applier) trapEffects(ctx context.Context, rec *Record) []wire.AttrStatus {
	var out []wire.AttrStatus
	for i := range rec.Traps {
		t := &rec.Traps[i]
		if t.Host == "" {
			continue
		}
		switch t.OID {
		case snmpname.ColdStart, snmpname.WarmStart:
			a.mu.Lock()
			if t.Time > a.restarts[t.Host] {
				a.restarts[t.Host] = t.Time
			}
			a.mu.Unlock()
		case snmpname.LinkDown, snmpname.LinkUp:
			st, ok := linkStatus(t)
			if !ok {
				continue
			}
			key, err := a.db.InterfaceByIndex(ctx, t.Host, st.index)
			if err != nil {
				a.log.Debug("link trap for an interface not in the inventory", "host", t.Host, "ifIndex", st.index, "err", err)
				continue
			}
			out = append(out, wire.AttrStatus{Host: t.Host, Attr: key, Status: st.status, Reason: st.reason, Time: t.Time})
		}
	}
	return out
}

type linkChange struct {
	index  uint32
	status status.Status
	reason string
}

// linkStatus reads a linkDown/linkUp trap: the ifIndex (from the ifIndex
// varbind, else the instance of ifAdminStatus/ifOperStatus) and the
// status its varbinds give, with the outpost mapping (admin down -> Admin
// Down; oper up -> Up; down, notPresent, lowerLayerDown -> Down; testing
// -> Testing; else Unknown). Without status varbinds linkDown means Down
// and linkUp Up.
func linkStatus(t *wire.Trap) (linkChange, bool) {
	var c linkChange
	admin, oper := -1, -1
	found := false
	for _, v := range t.VarBinds {
		col, inst, ok := column(v.OID)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v.Value)
		switch col {
		case snmpname.IfIndex:
			if err == nil && n > 0 {
				c.index, found = uint32(n), true
			}
			continue
		case snmpname.IfAdminStatus:
			if err == nil {
				admin = n
			}
		case snmpname.IfOperStatus:
			if err == nil {
				oper = n
			}
		default:
			continue
		}
		if !found && inst > 0 {
			c.index, found = inst, true
		}
	}
	if !found {
		return c, false
	}
	name := "linkDown"
	if t.OID == snmpname.LinkUp {
		name = "linkUp"
	}
	switch {
	case admin == 2:
		c.status = status.AdminDown
	case oper == 1:
		c.status = status.Up
	case oper == 2 || oper == 6 || oper == 7:
		c.status = status.Down
	case oper == 3:
		c.status = status.Testing
	case oper == 4 || oper == 5:
		c.status = status.Unknown
	case t.OID == snmpname.LinkUp:
		c.status = status.Up
	default:
		c.status = status.Down
	}
	c.reason = fmt.Sprintf("%s trap (ifAdminStatus %s, ifOperStatus %s); confirmed by the next poll", name, ifStatusName(admin, true), ifStatusName(oper, false))
	return c, true
}

// column splits an IF-MIB ifTable column instance OID into the column and
// the ifIndex.
func column(oid string) (string, uint32, bool) {
	i := strings.LastIndexByte(oid, '.')
	if i < 0 {
		return "", 0, false
	}
	col := oid[:i]
	if col != snmpname.IfIndex && col != snmpname.IfAdminStatus && col != snmpname.IfOperStatus {
		return "", 0, false
	}
	n, err := strconv.ParseUint(oid[i+1:], 10, 32)
	if err != nil {
		return "", 0, false
	}
	return col, uint32(n), true
}

func ifStatusName(v int, admin bool) string {
	names := []string{"", "up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"}
	if v < 0 {
		return "absent"
	}
	if v < len(names) && v > 0 && (!admin || v <= 3) {
		return names[v]
	}
	return strconv.Itoa(v)
}

// markRestart sets Reset on the counter values of u when its host
// restarted (coldStart/warmStart) at or before u's time and this
// attribute has not had an update since. a.mu is not held.
func (a *Applier) markRestart(u *AttrUpdate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.restarts[u.Host]
	if !ok || u.Time < at {
		return
	}
	k := [2]string{u.Host, u.Attr}
	if a.restartSeen[k] >= at {
		return
	}
	a.restartSeen[k] = at
	for i := range u.Values {
		switch u.Values[i].Kind {
		case sample.Counter32, sample.Counter64, sample.Derive:
			u.Values[i].Reset = true
		default: // gauges and absolutes have no reset
		}
	}
}

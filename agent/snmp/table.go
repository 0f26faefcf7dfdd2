package snmp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// rowFunc receives one value of a table walk: the column's position in
// the request list, the row index (every sub-identifier after the column
// OID: LLDP's timeMark.localPort.remIndex, CDP's ifIndex.deviceIndex) and
// the value.
type rowFunc func(col int, index []uint32, v *gosnmp.SnmpPDU)

// maxIndexLen bounds a row index: lldpRemManAddrTable's is the longest
// the poller reads (3 + subtype + length + up to 16 address bytes).
const maxIndexLen = 32

// walkTable is walkColumns for tables whose rows have multi-part indexes:
// the same GetBulk over all unfinished columns, a column ending at
// EndOfMibView, when it leaves its subtree, or when its rows stop
// increasing (a device answering out of order would otherwise loop).
// maxRows bounds the rows read per column: a device cannot make the agent
// read or keep an unbounded table.
func (t *Target) walkTable(cols []string, maxRows int, fn rowFunc) error {
	return t.walkRows(cols, maxRows, false, fn)
}

// walkRows is the walk under walkTable and walkColumns; with singleIndex a
// row whose index has more than one sub-identifier ends its column.
func (t *Target) walkRows(cols []string, maxRows int, singleIndex bool, fn rowFunc) error {
	next := make([]string, len(cols))
	last := make([][]uint32, len(cols))
	rows := make([]int, len(cols))
	done := make([]bool, len(cols))
	prefix := make([]string, len(cols))
	for i, c := range cols {
		next[i] = c
		prefix[i] = "." + c + "."
	}
	active := make([]int, 0, len(cols))
	oids := make([]string, 0, len(cols))
	for {
		active, oids = active[:0], oids[:0]
		for i := range cols {
			if !done[i] {
				active = append(active, i)
				oids = append(oids, next[i])
			}
		}
		if len(active) == 0 {
			return nil
		}
		if len(active) > t.sess.proto.MaxOids {
			active, oids = active[:t.sess.proto.MaxOids], oids[:t.sess.proto.MaxOids]
		}
		var pkt *gosnmp.SnmpPacket
		var err error
		if t.sess.version == gosnmp.Version1 {
			pkt, err = t.sess.g.GetNext(oids)
		} else {
			pkt, err = t.sess.g.GetBulk(oids, 0, uint32(t.reps))
		}
		if err != nil {
			return t.sess.explain(err)
		}
		switch pkt.Error {
		case gosnmp.NoError:
		case gosnmp.TooBig:
			if t.reps > 1 && t.sess.version != gosnmp.Version1 {
				t.reps /= 2
				t.log.Debug("snmp: tooBig, halving max-repetitions", "target", t.name, "max_repetitions", t.reps)
				continue
			}
			return fmt.Errorf("%s: tooBig for %d columns with one row each", t.sess.addr, len(oids))
		case gosnmp.NoSuchName:
			if i := int(pkt.ErrorIndex) - 1; i >= 0 && i < len(active) {
				done[active[i]] = true
				continue
			}
			return fmt.Errorf("%s: noSuchName with error index %d", t.sess.addr, pkt.ErrorIndex)
		default:
			return t.sess.agentError(pkt.Error, oids[0])
		}
		n := len(active)
		progressed := false
		for j := range pkt.Variables {
			v := &pkt.Variables[j]
			c := active[j%n]
			if done[c] {
				continue
			}
			if v.Type == gosnmp.EndOfMibView || v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance ||
				!strings.HasPrefix(v.Name, prefix[c]) {
				done[c] = true
				continue
			}
			idx, ok := parseIndex(v.Name[len(prefix[c]):])
			if !ok || (singleIndex && len(idx) != 1) || (last[c] != nil && !indexLess(last[c], idx)) {
				done[c] = true
				continue
			}
			last[c] = idx
			next[c] = v.Name[1:]
			fn(c, idx, v)
			progressed = true
			if rows[c]++; rows[c] >= maxRows {
				done[c] = true
			}
		}
		if !progressed {
			allDone := true
			for _, c := range active {
				allDone = allDone && done[c]
			}
			if !allDone {
				return fmt.Errorf("%s: walk of %s made no progress", t.sess.addr, oids[0])
			}
		}
	}
}

// parseIndex parses the dotted sub-identifiers of a row index.
func parseIndex(s string) ([]uint32, bool) {
	if s == "" {
		return nil, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > maxIndexLen {
		return nil, false
	}
	out := make([]uint32, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, false
		}
		out[i] = uint32(n)
	}
	return out, true
}

// indexLess orders row indexes as OIDs are ordered.
func indexLess(a, b []uint32) bool {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// indexText writes a row index as dotted text.
func indexText(idx []uint32) string {
	var sb strings.Builder
	for i, n := range idx {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	return sb.String()
}

// gate is the backoff of one device table: a table that times out or
// fails is skipped until its next try, so a device that is slow on one
// vendor table does not slow every poll, and the table is retried less
// and less often (doubling from one poll interval, at most 64).
type gate struct {
	fails int
	until time.Time
	err   string
}

// Device tables with their own gate.
const (
	tblEntities     = "ENTITY-MIB entPhysicalTable"
	tblEntSensors   = "ENTITY-SENSOR-MIB entPhySensorTable"
	tblCiscoSensors = "CISCO-ENTITY-SENSOR-MIB entSensorValueTable"
	tblEnvMon       = "CISCO-ENVMON-MIB"
	tblJuniper      = "JUNIPER-MIB jnxOperatingTable"
	tblCPM          = "CISCO-PROCESS-MIB cpmCPUTotalTable"
	tblMemPool      = "CISCO-MEMORY-POOL-MIB ciscoMemoryPoolTable"
	tblEnhMemPool   = "CISCO-ENHANCED-MEMPOOL-MIB cempMemPoolTable"
	tblUCD          = "UCD-SNMP-MIB"
	tblLLDP         = "LLDP-MIB"
	tblCDP          = "CISCO-CDP-MIB cdpCacheTable"
)

// guarded runs fn for table unless the table is backed off. It returns
// whether fn ran and succeeded. A failure other than the poll's context
// ending backs the table off and is logged; the caller carries on with
// the other tables. The context's end is returned as an error.
func (t *Target) guarded(table string, fn func() error) (bool, error) {
	if t.absent[table] {
		return true, nil // the device has no such table: nothing to read, and that is a complete answer
	}
	g := t.gates[table]
	now := t.now()
	if g != nil && now.Before(g.until) {
		return false, nil
	}
	err := fn()
	if err == nil {
		if g != nil && g.fails > 0 {
			t.log.Info("snmp: device table answers again", "target", t.name, "table", table)
		}
		delete(t.gates, table)
		return true, nil
	}
	if ctxErr := t.sess.ctx.Err(); ctxErr != nil || errors.Is(err, context.Canceled) {
		return false, err
	}
	if g == nil {
		g = &gate{}
		t.gates[table] = g
	}
	g.fails++
	wait := t.Interval() << min(g.fails-1, 6)
	g.until = now.Add(wait)
	g.err = reasonOf(err)
	t.log.Warn("snmp: device table failed; skipped until its next try", "target", t.name, "table", table,
		"failures", g.fails, "next_try_in", wait, "err", cleanError{err})
	return false, nil
}

// backedOff returns why table is skipped now, or "".
func (t *Target) backedOff(table string) string {
	if g := t.gates[table]; g != nil && t.now().Before(g.until) {
		return fmt.Sprintf("%s skipped until %s after %d failures: %s", table, g.until.UTC().Format(time.TimeOnly), g.fails, g.err)
	}
	return ""
}

package snmp

import (
	"fmt"
	"math"

	"github.com/gosnmp/gosnmp"
)

// varbindFunc receives one value of a column walk: the column's position
// in the request list, the row index (the single sub-identifier after the
// column OID) and the value.
type varbindFunc func(col int, index uint32, v *gosnmp.SnmpPDU)

// walkColumns reads whole table columns at once: one GetBulk carries every
// unfinished column, each starting after the last row it returned, so a
// response holds up to len(cols) x max-repetitions values. A column ends at
// EndOfMibView, when it leaves its subtree, or when rows stop increasing.
// A truncated response (agents trim GetBulk answers to their message size)
// only means fewer rows per column this round. On tooBig the target's
// max-repetitions is halved and remembered. SNMPv1 has no GetBulk: it uses
// GetNext over the same columns, one row per request.
func (t *Target) walkColumns(cols []string, fn varbindFunc) error {
	return t.walkRows(cols, math.MaxInt, true, func(col int, index []uint32, v *gosnmp.SnmpPDU) { fn(col, index[0], v) })
}

// getPacked reads the given instances with Get requests of at most MaxOIDs
// each and calls fn with the position of each OID in oids. Absent objects
// (noSuchObject/noSuchInstance, or SNMPv1's noSuchName) are skipped. A
// tooBig answer splits the request in halves.
func (t *Target) getPacked(oids []string, fn func(i int, v *gosnmp.SnmpPDU)) error {
	max := t.sess.proto.MaxOids
	for start := 0; start < len(oids); start += max {
		end := min(start+max, len(oids))
		pos := make([]int, 0, end-start)
		for i := start; i < end; i++ {
			pos = append(pos, i)
		}
		if err := t.getOnce(oids, pos, fn); err != nil {
			return err
		}
	}
	return nil
}

func (t *Target) getOnce(oids []string, pos []int, fn func(i int, v *gosnmp.SnmpPDU)) error {
	for len(pos) > 0 {
		req := make([]string, len(pos))
		for k, i := range pos {
			req[k] = oids[i]
		}
		pkt, err := t.sess.g.Get(req)
		if err != nil {
			return t.sess.explain(err)
		}
		switch pkt.Error {
		case gosnmp.NoError:
		case gosnmp.TooBig:
			if len(pos) == 1 {
				return fmt.Errorf("%s: tooBig for the single object %s", t.sess.addr, req[0])
			}
			half := len(pos) / 2
			if err := t.getOnce(oids, pos[:half], fn); err != nil {
				return err
			}
			pos = pos[half:]
			continue
		case gosnmp.NoSuchName:
			i := int(pkt.ErrorIndex) - 1
			if i < 0 || i >= len(pos) {
				return fmt.Errorf("%s: noSuchName with error index %d", t.sess.addr, pkt.ErrorIndex)
			}
			pos = append(pos[:i:i], pos[i+1:]...)
			continue
		default:
			return t.sess.agentError(pkt.Error, req[0])
		}
		for k := range pkt.Variables {
			if k >= len(pos) {
				break
			}
			v := &pkt.Variables[k]
			if v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance || v.Type == gosnmp.EndOfMibView || v.Type == gosnmp.Null {
				continue
			}
			fn(pos[k], v)
		}
		return nil
	}
	return nil
}

// asUint returns an integer value (Counter32, Counter64, Gauge32,
// TimeTicks, Integer, Uinteger32) as uint64.
func asUint(v *gosnmp.SnmpPDU) (uint64, bool) {
	switch x := v.Value.(type) {
	case uint:
		return uint64(x), true
	case uint64:
		return x, true
	case uint32:
		return uint64(x), true
	case int:
		if x < 0 {
			return 0, false
		}
		return uint64(x), true
	case int64:
		if x < 0 {
			return 0, false
		}
		return uint64(x), true
	}
	return 0, false
}

package snmp

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// emit turns one successful poll into points and statuses, all at time at.
func (t *Target) emit(rep *poll.Report, sc *scalars, at time.Time) {
	ms := at.UnixMilli()
	host := t.name
	rtt := t.sess.minRTT.Seconds()
	if rep.Points == nil {
		rep.Points = make([]sample.Point, 0, 2+len(t.ifs)*numCounters+len(t.oids)+2*len(t.dev.Storage)+len(t.dev.Processors))
		rep.Statuses = make([]wire.AttrStatus, 0, 1+len(t.ifs)+len(t.oids)+len(t.dev.Storage)+len(t.dev.Processors))
	}
	rep.Points = append(rep.Points,
		sample.Point{Key: sample.Key{Host: host, Attr: "host", DS: "rtt"}, Kind: sample.Gauge, Time: at, Float: rtt},
		sample.Point{Key: sample.Key{Host: host, Attr: "host", DS: "reachable"}, Kind: sample.Gauge, Time: at, Float: 1},
	)
	rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: "host", Status: status.Up,
		Reason: fmt.Sprintf("answered in %.1f ms", rtt*1000), Time: ms})
	for _, s := range t.ifs {
		key := s.key
		emitted := false
		for i := range counter(numCounters) {
			if s.have&(1<<i) == 0 || s.stuckHC {
				continue
			}
			_, kind, _ := counterOID(s.Interface, i)
			rep.Points = append(rep.Points, sample.Point{
				Key: sample.Key{Host: host, Attr: key, DS: counterDefs[i].ds}, Kind: kind, Time: at,
				Uint: s.vals[i], Reset: s.reset,
			})
			emitted = true
		}
		if emitted {
			s.reset = false
		}
		st, reason := InterfaceStatus(s.admin, s.oper)
		rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: st, Reason: reason, Time: ms})
	}
	for i, o := range t.oids {
		key := keyPrefixOID + o.spec.Name
		v := sc.oidVals[i]
		p := sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "value"}, Kind: o.kind, Time: at, Reset: t.hostReset[key]}
		ok := false
		if v != nil {
			if o.kind.IsInteger() {
				p.Uint, ok = asUint(v)
			} else {
				p.Float, ok = asFloat(v)
			}
		}
		if !ok {
			reason := "no such object " + o.oid
			if v != nil {
				reason = fmt.Sprintf("%s is not a number (%s)", o.oid, pduText(v))
			}
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Unknown, Reason: reason, Time: ms})
			continue
		}
		delete(t.hostReset, key)
		rep.Points = append(rep.Points, p)
		rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Up, Reason: "answered", Time: ms})
	}
	if t.dev != nil {
		for _, s := range t.dev.Storage {
			key := keyPrefixStorage + s.Descr
			v, ok := sc.storage[s.Index]
			if !ok || v[0] == nil || v[1] == nil {
				rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Unknown, Reason: "no answer", Time: ms})
				continue
			}
			size, used, bad := storageUse(s, v[0], v[1])
			rep.Points = append(rep.Points,
				sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "size"}, Kind: sample.Gauge, Time: at, Float: size},
				sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "used"}, Kind: sample.Gauge, Time: at, Float: used})
			st, reason := status.Up, "answered"
			if bad != "" {
				st, reason = status.Alert, bad
			}
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: st, Reason: reason, Time: ms})
		}
		for _, p := range t.dev.Processors {
			key := keyPrefixCPU + strconv.FormatUint(uint64(p), 10)
			v, ok := sc.cpu[p]
			if !ok {
				rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Unknown, Reason: "no answer", Time: ms})
				continue
			}
			load, bad := processorLoad(v)
			rep.Points = append(rep.Points, sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "load"}, Kind: sample.Gauge, Time: at, Float: load})
			st, reason := status.Up, "answered"
			if bad != "" {
				st, reason = status.Alert, bad
			}
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: st, Reason: reason, Time: ms})
		}
	}
}

// processorLoad checks hrProcessorLoad, an Integer32 percentage (0..100).
// A value outside it is recorded as unknown (NaN) with a reason for an
// Alert status; a valid one gives an empty reason.
func processorLoad(v *gosnmp.SnmpPDU) (load float64, bad string) {
	n, ok := asInt(v)
	switch {
	case !ok:
		return math.NaN(), fmt.Sprintf("device reported hrProcessorLoad as %s, not a number", v.Type)
	case n < 0 || n > 100:
		return math.NaN(), fmt.Sprintf("device reported hrProcessorLoad %d %%, not a valid percentage (0..100)", n)
	}
	return float64(n), ""
}

// storageUse converts hrStorageSize and hrStorageUsed to bytes (times
// hrStorageAllocationUnits). Sizes are non-negative integers and used is at
// most size (at most 100 %); values that are not are recorded as unknown
// (NaN) with a reason for an Alert status. (A negative size is what some
// agents send for volumes too large for Integer32 allocation units.)
func storageUse(s Storage, sizeV, usedV *gosnmp.SnmpPDU) (size, used float64, bad string) {
	nan := math.NaN()
	sz, okSize := asInt(sizeV)
	u, okUsed := asInt(usedV)
	switch {
	case !okSize || sz < 0:
		return nan, nan, fmt.Sprintf("device reported hrStorageSize %s, not a valid size", pduText(sizeV))
	case !okUsed || u < 0:
		return nan, nan, fmt.Sprintf("device reported hrStorageUsed %s, not a valid amount", pduText(usedV))
	case u > sz:
		return nan, nan, fmt.Sprintf("device reported hrStorageUsed %d above hrStorageSize %d (over 100 %%)", u, sz)
	}
	units := float64(s.Units)
	return float64(sz) * units, float64(u) * units, ""
}

// asInt returns an integer value of any SNMP integer type, signed.
func asInt(v *gosnmp.SnmpPDU) (int64, bool) {
	switch x := v.Value.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint, uint64, uint32:
		u, _ := asUint(v)
		if u > math.MaxInt64 {
			return 0, false
		}
		return int64(u), true
	}
	return 0, false
}

// pduText shows a value in a status reason: an integer in decimal, text
// cleaned and cut short, anything else by its type.
func pduText(v *gosnmp.SnmpPDU) string {
	if n, ok := asInt(v); ok {
		return strconv.FormatInt(n, 10)
	}
	if u, ok := asUint(v); ok {
		return strconv.FormatUint(u, 10)
	}
	switch x := v.Value.(type) {
	case []byte:
		return fmt.Sprintf("%s %s", v.Type, safetext.LineBytes(x, 64))
	case string:
		return fmt.Sprintf("%s %s", v.Type, safetext.Line(x, 64))
	}
	return v.Type.String()
}

// asFloat returns a number of any SNMP integer type, or a decimal number
// written as text (an OCTET STRING "42.5"). NaN and infinities are not
// numbers here: a gauge that is not finite has no meaning.
func asFloat(v *gosnmp.SnmpPDU) (float64, bool) {
	if u, ok := asUint(v); ok {
		return float64(u), true
	}
	switch x := v.Value.(type) {
	case int:
		return float64(x), true
	case float32:
		return float64(x), finite(float64(x))
	case float64:
		return x, finite(x)
	case []byte:
		if len(x) > 64 {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(string(x)), 64)
		return f, err == nil && finite(f)
	}
	return 0, false
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

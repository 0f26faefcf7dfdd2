package snmp

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/poll"
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
		key := "oid:" + o.spec.Name
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
				reason = fmt.Sprintf("%s is not a number (%s)", o.oid, v.Type)
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
			key := "storage:" + s.Descr
			v, ok := sc.storage[s.Index]
			if !ok {
				rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Unknown, Reason: "no answer", Time: ms})
				continue
			}
			rep.Points = append(rep.Points,
				sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "size"}, Kind: sample.Gauge, Time: at, Float: float64(v[0] * s.Units)},
				sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "used"}, Kind: sample.Gauge, Time: at, Float: float64(v[1] * s.Units)})
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Up, Reason: "answered", Time: ms})
		}
		for _, p := range t.dev.Processors {
			key := "cpu:" + strconv.FormatUint(uint64(p), 10)
			v, ok := sc.cpu[p]
			if !ok {
				rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Unknown, Reason: "no answer", Time: ms})
				continue
			}
			rep.Points = append(rep.Points, sample.Point{Key: sample.Key{Host: host, Attr: key, DS: "load"}, Kind: sample.Gauge, Time: at, Float: float64(v)})
			rep.Statuses = append(rep.Statuses, wire.AttrStatus{Host: host, Attr: key, Status: status.Up, Reason: "answered", Time: ms})
		}
	}
}

func asFloat(v *gosnmp.SnmpPDU) (float64, bool) {
	if u, ok := asUint(v); ok {
		return float64(u), true
	}
	switch x := v.Value.(type) {
	case int:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case []byte:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	return 0, false
}

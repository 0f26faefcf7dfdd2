package batch

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// # The string guard
//
// Every string that reaches the spool must be valid UTF-8: the wire codec
// refuses anything else, and a frame the collector cannot decode must never
// be written. The pollers clean what devices send at the source
// (agent/snmp, agent/ntp); the guard is the defence in depth for whatever a
// later poller forgets. Before a report's series keys are numbered and its
// batch is written, guard.clean checks every string of it (host names,
// series keys, statuses, the inventory: hosts, attributes, properties,
// data source names) with safetext.IsLine / IsText, which allocate nothing
// for clean text, and cleans (safetext.Line / Text) the few that are not.
// Cleaning is the identity on clean text, so clean strings, and the keys
// built from them, never change.
//
// Each string cleaned here is a poller bug: it is counted
// (outpost_agent_strings_cleaned_total) and logged at most once a minute,
// naming the target and the field.
//
// Limits per field, in bytes:
//   - one line of at most safetext.MaxName: host names, addresses, sysName,
//     sysObjectID, location, contact, attribute keys, kinds and names,
//     property names, data source names, series key parts;
//   - one line of at most safetext.MaxText: status reasons;
//   - text (line feeds kept) of at most safetext.MaxText: sysDescr,
//     attribute descriptions, property values.

// cleanLogEvery is the shortest interval between two log lines of the guard.
const cleanLogEvery = time.Minute

// guard is the Batcher's string guard state.
type guard struct {
	now func() time.Time // default time.Now

	mu         sync.Mutex
	lastLog    time.Time
	suppressed int // strings cleaned since the last log line
}

// strCheck cleans strings of one report, copying what it changes so that
// nothing the poller still holds is modified.
type strCheck struct {
	n     int    // strings cleaned
	first string // the first field cleaned, for the log
}

func (c *strCheck) note(field string) {
	if c.n == 0 {
		c.first = field
	}
	c.n++
}

func (c *strCheck) line(s *string, max int, field string) {
	if !safetext.IsLine(*s, max) {
		*s = safetext.Line(*s, max)
		c.note(field)
	}
}

func (c *strCheck) text(s *string, max int, field string) {
	if !safetext.IsText(*s, max) {
		*s = safetext.Text(*s, max)
		c.note(field)
	}
}

func lineOK(s string) bool { return safetext.IsLine(s, safetext.MaxName) }

// clean makes every string of r clean (see the guard above), counts and
// logs what it had to change, and returns how many strings it cleaned.
func (b *Batcher) clean(r *poll.Report) int {
	var c strCheck
	c.line(&r.Host, safetext.MaxName, "report host")
	copiedPoints := false
	for i := range r.Points {
		k := r.Points[i].Key
		if lineOK(k.Host) && lineOK(k.Attr) && lineOK(k.DS) {
			continue
		}
		if !copiedPoints {
			r.Points = append([]sample.Point(nil), r.Points...)
			copiedPoints = true
		}
		c.line(&k.Host, safetext.MaxName, "series host")
		c.line(&k.Attr, safetext.MaxName, "series attribute "+strconv.Quote(safetext.Line(k.Attr, 64)))
		c.line(&k.DS, safetext.MaxName, "series data source")
		r.Points[i].Key = k
	}
	copiedStatuses := false
	for i := range r.Statuses {
		s := r.Statuses[i]
		if lineOK(s.Host) && lineOK(s.Attr) && safetext.IsLine(s.Reason, safetext.MaxText) {
			continue
		}
		if !copiedStatuses {
			r.Statuses = append([]wire.AttrStatus(nil), r.Statuses...)
			copiedStatuses = true
		}
		c.line(&s.Host, safetext.MaxName, "status host")
		c.line(&s.Attr, safetext.MaxName, "status attribute")
		c.line(&s.Reason, safetext.MaxText, "status reason of "+strconv.Quote(safetext.Line(s.Attr, 64)))
		r.Statuses[i] = s
	}
	if r.Inventory != nil && !hostClean(r.Inventory) {
		h := *r.Inventory
		cleanHost(&h, &c)
		r.Inventory = &h
	}
	if r.Devices != nil {
		r.Devices = cleanFacts(r.Devices, &c)
	}
	if c.n > 0 {
		b.noteCleaned(r.Host, c)
	}
	return c.n
}

// hostClean reports whether every string of h is clean (no allocation).
func hostClean(h *wire.Host) bool {
	if !lineOK(h.Name) || !lineOK(h.Address) || !lineOK(h.SysName) || !lineOK(h.SysObjectID) ||
		!lineOK(h.Location) || !lineOK(h.Contact) || !safetext.IsText(h.SysDescr, safetext.MaxText) {
		return false
	}
	for i := range h.Attrs {
		if !attrClean(&h.Attrs[i]) {
			return false
		}
	}
	return true
}

func attrClean(a *wire.Attr) bool {
	if !lineOK(a.Key) || !lineOK(a.Kind) || !lineOK(a.Name) || !safetext.IsText(a.Descr, safetext.MaxText) {
		return false
	}
	for k, v := range a.Props {
		if !lineOK(k) || !safetext.IsText(v, safetext.MaxText) {
			return false
		}
	}
	for _, d := range a.DS {
		if !lineOK(d.Name) {
			return false
		}
	}
	return true
}

// cleanHost cleans a copy of a host: h is a shallow copy; the attributes,
// property maps and data source lists it changes are copied first.
func cleanHost(h *wire.Host, c *strCheck) {
	c.line(&h.Name, safetext.MaxName, "host name")
	c.line(&h.Address, safetext.MaxName, "host address")
	c.line(&h.SysName, safetext.MaxName, "sysName")
	c.line(&h.SysObjectID, safetext.MaxName, "sysObjectID")
	c.line(&h.Location, safetext.MaxName, "location")
	c.line(&h.Contact, safetext.MaxName, "contact")
	c.text(&h.SysDescr, safetext.MaxText, "sysDescr")
	h.Attrs = append([]wire.Attr(nil), h.Attrs...)
	for i := range h.Attrs {
		a := &h.Attrs[i]
		if attrClean(a) {
			continue
		}
		which := strconv.Quote(safetext.Line(a.Key, 64))
		c.line(&a.Key, safetext.MaxName, "attribute key "+which)
		c.line(&a.Kind, safetext.MaxName, "attribute kind of "+which)
		c.line(&a.Name, safetext.MaxName, "attribute name of "+which)
		c.text(&a.Descr, safetext.MaxText, "attribute description of "+which)
		if a.Props != nil {
			props := make(map[string]string, len(a.Props))
			for k, v := range a.Props {
				c.line(&k, safetext.MaxName, "property name of "+which)
				c.text(&v, safetext.MaxText, "property "+strconv.Quote(safetext.Line(k, 64))+" of "+which)
				props[k] = v
			}
			a.Props = props
		}
		ds := append([]wire.DSDef(nil), a.DS...)
		for j := range ds {
			c.line(&ds[j].Name, safetext.MaxName, "data source name of "+which)
		}
		a.DS = ds
	}
}

// noteCleaned counts what clean changed and logs it at most once per
// cleanLogEvery (the count in the log line includes the strings cleaned
// since the last one).
func (b *Batcher) noteCleaned(target string, c strCheck) {
	if b.opt.Metrics != nil {
		b.opt.Metrics.StringsCleaned.Add(float64(c.n))
	}
	g := &b.guard
	now := time.Now
	if g.now != nil {
		now = g.now
	}
	t := now()
	g.mu.Lock()
	g.suppressed += c.n
	if !g.lastLog.IsZero() && t.Sub(g.lastLog) < cleanLogEvery {
		g.mu.Unlock()
		return
	}
	n := g.suppressed
	g.lastLog, g.suppressed = t, 0
	g.mu.Unlock()
	b.log.Warn("batch: cleaned strings a poller left invalid (a poller bug; they are spooled escaped)",
		slog.String("target", safetext.Line(target, safetext.MaxName)), slog.String("field", c.first),
		slog.Int("strings", n), slog.Duration("log_interval", cleanLogEvery))
}

package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outpost-nms/outpost/collector/ingest"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
)

// Options configures a Forwarder. Zero values take the defaults named.
type Options struct {
	Endpoint Endpoint
	// Dir holds the position file, "<Endpoint.Name>.pos" (created 0700).
	Dir string
	// Shards is the number of requests sent at once; default 4. Keep it
	// across restarts: the chunk in flight at a crash is resent split the
	// same way only with the same number.
	Shards int
	// MaxSamplesPerSend bounds one request; default 5000.
	MaxSamplesPerSend int
	// MaxChunkSamples bounds a chunk (what is sent between two position
	// writes); default Shards × MaxSamplesPerSend × 4.
	MaxChunkSamples int
	// BatchDeadline is how long a chunk waits for more records before it
	// is sent part-full; default 1 s.
	BatchDeadline time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a
	// request; defaults 50 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// MaxBacklogBytes bounds the journal kept for this forwarder (bytes
	// behind its position); 0: no bound.
	MaxBacklogBytes int64
	// MaxBacklogAge drops records received longer ago than this instead
	// of sending them; 0: no bound.
	MaxBacklogAge time.Duration
	// Inventory resolves attributes whose inventory is not in the records read.
	Inventory Inventory
	Logger    *slog.Logger
	Now       func() time.Time
}

// Stats are a forwarder's counters since it started.
type Stats struct {
	Position        journal.Pos // every record ending here or before is done with
	SamplesSent     uint64      // samples the store accepted
	Requests        uint64      // requests the store accepted
	Retries         uint64      // requests retried (5xx, 429, network, timeout)
	SamplesRejected uint64      // samples the store refused for good (4xx)
	AlreadyStored   uint64      // samples resent after a crash that the store already had
	OutOfOrder      uint64      // samples not newer than the last one sent for their series
	DroppedRecords  uint64      // records skipped as older than max_backlog's age
	DroppedSamples  uint64      // samples in them
	DroppedBytes    uint64      // journal bytes removed before they were sent (max_backlog's bytes)
	BadRecords      uint64      // records that did not decode
	LastError       string      // the store's last error, "" after a success
	LastErrorTime   time.Time
	FailingSince    time.Time // first error of the current run of failures; zero once a request succeeds
	LastRefusal     string    // the store's reason for the last samples refused for good
}

// Forwarder sends the journal's samples to one remote-write store.
type Forwarder struct {
	opts  Options
	name  string
	cl    *client
	log   *slog.Logger
	path  string
	codec *ingest.RecordCodec
	start position
	fresh bool // no position file: the first record read sets the position

	acked atomic.Uint64 // journal.Pos

	mu    sync.Mutex
	stats Stats

	// State of the reading goroutine (Run).
	expect     journal.Pos
	attrs      map[attrKey]*attrEntry
	last       map[uint64]int64 // series hash → last time sent (Unix ms), for series rebuilt after an inventory change
	chunks     uint64           // chunks cut
	lastSeries int              // series in the last chunk, to size the next
}

type attrKey struct{ host, attr string }

// attrEntry is an attribute's mapping state: its inventory facts and the
// series built from them.
type attrEntry struct {
	info   AttrInfo
	labels []Label
	series map[seriesKey]*Series
	status status.Status
	seen   bool // a status was sent for it
}

type seriesKey struct {
	ds    string // "" with status set: the status series
	kind  sample.Kind
	agent string
	st    status.Status
}

// New loads the forwarder's position and prepares its client; a bad TLS
// file or an unreadable token is an error here, at start.
func New(o Options) (*Forwarder, error) {
	if o.Endpoint.Name == "" {
		return nil, errors.New("forward: endpoint without a name")
	}
	if o.Shards <= 0 {
		o.Shards = 4
	}
	if o.MaxSamplesPerSend <= 0 {
		o.MaxSamplesPerSend = 5000
	}
	if o.MaxChunkSamples <= 0 {
		o.MaxChunkSamples = o.Shards * o.MaxSamplesPerSend * 4
	}
	if o.BatchDeadline <= 0 {
		o.BatchDeadline = time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 50 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cl, err := newClient(o.Endpoint)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("forward %s: %w", o.Endpoint.Name, err)
	}
	codec, err := ingest.NewRecordCodec()
	if err != nil {
		return nil, err
	}
	f := &Forwarder{opts: o, name: o.Endpoint.Name, cl: cl, codec: codec,
		log:   o.Logger.With("remote_write", o.Endpoint.Name),
		path:  filepath.Join(o.Dir, positionFileName(o.Endpoint.Name)),
		attrs: map[attrKey]*attrEntry{}, last: map[uint64]int64{}}
	p, ok, err := readPosition(f.path)
	if err != nil {
		return nil, err
	}
	f.start, f.fresh = p, !ok
	f.expect = p.acked
	f.acked.Store(uint64(p.acked))
	f.stats.Position = p.acked
	return f, nil
}

// positionFileName keeps an endpoint name to safe file-name characters.
func positionFileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, name) + ".pos"
}

// Name returns the endpoint's name.
func (f *Forwarder) Name() string { return f.name }

// Position returns where Run must read from: the source passed to Run
// starts here.
func (f *Forwarder) Position() journal.Pos { return journal.Pos(f.acked.Load()) }

// Reset moves a forwarder that has not run yet to pos (a journal that
// restarted below the saved position); what lay between is not sent.
func (f *Forwarder) Reset(pos journal.Pos) {
	f.start = position{acked: pos, inflight: pos}
	f.expect = pos
	f.acked.Store(uint64(pos))
	f.stats.Position = pos
}

// Retain is the journal position this forwarder needs kept: its own,
// or end minus MaxBacklogBytes when it is further behind than that.
func (f *Forwarder) Retain(end journal.Pos) journal.Pos {
	p := journal.Pos(f.acked.Load())
	if b := f.opts.MaxBacklogBytes; b > 0 && end > p && int64(end-p) > b {
		p = end - journal.Pos(b)
	}
	return p
}

// Retain returns a journal.Options.Retain function keeping what every
// forwarder in fs still needs.
func Retain(fs []*Forwarder) func(end journal.Pos) journal.Pos {
	return func(end journal.Pos) journal.Pos {
		keep := end
		for _, f := range fs {
			keep = min(keep, f.Retain(end))
		}
		return keep
	}
}

// Stats returns the counters.
func (f *Forwarder) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.Position = journal.Pos(f.acked.Load())
	return s
}

// Run forwards records from src (opened at Position) until ctx ends.
// It returns nil when ctx ends, or an error the forwarder cannot go on
// after (the position file cannot be written, the source fails).
func (f *Forwarder) Run(ctx context.Context, src Source) error {
	resend := f.start.inflight > f.start.acked
	if resend {
		f.log.Info("resending the chunk in flight when the collector stopped", "from", f.start.acked, "to", f.start.inflight)
	}
	var probing sync.WaitGroup
	probing.Go(func() { f.probe(ctx) })
	defer probing.Wait()
	acked := f.start.acked
	for {
		var until journal.Pos
		if resend {
			until = f.start.inflight
		}
		c, err := f.cut(ctx, src, until)
		if err != nil {
			if ctx.Err() != nil {
				// Records read but not sent yet are read again next time;
				// a resend not done yet stays one.
				inflight := acked
				if resend {
					inflight = f.start.inflight
				}
				return writePosition(f.path, position{acked: acked, inflight: inflight})
			}
			return err
		}
		if err := writePosition(f.path, position{acked: acked, inflight: c.to}); err != nil {
			return err
		}
		if err := f.send(ctx, c, resend); err != nil {
			if ctx.Err() != nil {
				return nil // the position file says the chunk is in flight
			}
			return err
		}
		acked, resend = c.to, false
		f.acked.Store(uint64(acked))
	}
}

// probe sends an empty request at start, so a TLS mismatch, a wrong URL
// or refused credentials show (log at error level, Stats, the UI) before
// there is anything to send.
func (f *Forwarder) probe(ctx context.Context) {
	_, body := encodeBody(nil, nil, nil)
	r := f.cl.send(ctx, body)
	if r.outcome == sent || ctx.Err() != nil {
		return
	}
	f.count(func(s *Stats) {
		if s.LastError == "" {
			f.failed(s, r)
		}
	})
	f.log.Error("remote write endpoint check failed; samples are kept in the journal and retried", "url", f.opts.Endpoint.URL, "err", errorText(r))
}

// chunk is the samples of a run of records, sent between two position writes.
type chunk struct {
	gen     uint64 // distinct for every chunk of a forwarder
	to      journal.Pos
	series  []*pending // first-seen order, so a resend cuts requests the same way
	samples int
}

// add appends p to s's pending samples. A series' pending entry (and its
// slice) is reused from chunk to chunk: a chunk is cut only after the
// previous one is sent.
func (c *chunk) add(s *Series, p Point) {
	if s.chunkGen != c.gen {
		s.chunkGen = c.gen
		s.pend.s, s.pend.pts = s, s.pend.pts[:0]
		c.series = append(c.series, &s.pend)
	}
	s.pend.pts = append(s.pend.pts, p)
	c.samples++
}

// cut reads records into a chunk: it waits for the first record, then
// takes more until MaxChunkSamples or BatchDeadline; with until set (the
// resend after a crash) it takes exactly the records ending at or before
// until.
func (f *Forwarder) cut(ctx context.Context, src Source, until journal.Pos) (*chunk, error) {
	f.chunks++
	c := &chunk{gen: f.chunks, series: make([]*pending, 0, f.lastSeries)}
	defer func() { f.lastSeries = len(c.series) }()
	e, err := src.Next(ctx)
	if err != nil {
		return nil, err
	}
	f.take(ctx, c, e)
	if until == 0 {
		dctx, cancel := context.WithTimeout(ctx, f.opts.BatchDeadline)
		defer cancel()
		for c.samples < f.opts.MaxChunkSamples {
			e, err := src.Next(dctx)
			if err != nil {
				if ctx.Err() != nil {
					return c, err
				}
				break // deadline: send what there is
			}
			f.take(ctx, c, e)
		}
		return c, nil
	}
	for c.to < until {
		e, err := src.Next(ctx)
		if err != nil {
			return c, err
		}
		f.take(ctx, c, e)
	}
	return c, nil
}

// take adds one journal record's samples and statuses to c.
func (f *Forwarder) take(ctx context.Context, c *chunk, e journal.Entry) {
	if e.Pos != f.expect && !f.fresh {
		if e.Pos > f.expect {
			gap := uint64(e.Pos - f.expect)
			f.count(func(s *Stats) { s.DroppedBytes += gap })
			f.log.Warn("journal records removed before they were forwarded (forward.max_backlog bytes)", "bytes", gap, "from", f.expect, "to", e.Pos)
		}
	}
	f.fresh = false
	f.expect, c.to = e.End, e.End
	rec, err := f.codec.Unmarshal(e.Data)
	if err != nil {
		f.count(func(s *Stats) { s.BadRecords++ })
		f.log.Warn("journal record skipped", "pos", e.Pos, "err", err)
		return
	}
	if rec.Kind != ingest.RecordBatch {
		return
	}
	for i := range rec.Hosts {
		h := &rec.Hosts[i]
		for _, a := range h.Attrs {
			f.replaceAttr(attrKey{h.Name, a.Key}, newAttrEntry(a.Key, AttrInfo{Kind: a.Kind, Name: a.Name, Props: a.Props}))
		}
	}
	if age := f.opts.MaxBacklogAge; age > 0 && f.opts.Now().Sub(time.UnixMilli(rec.Received)) > age {
		n := uint64(rec.Samples())
		f.count(func(s *Stats) { s.DroppedRecords++; s.DroppedSamples += n })
		f.log.Warn("journal record older than forward.max_backlog age dropped", "agent", rec.Agent, "seq", rec.Seq,
			"received", time.UnixMilli(rec.Received).UTC(), "samples", n)
		return
	}
	for i := range rec.Updates {
		u := &rec.Updates[i]
		a := f.attr(ctx, u.Host, u.Attr)
		for _, v := range u.Values {
			val, ok := value(v.Float, v.Uint, v.Kind, v.Reset)
			if !ok {
				continue
			}
			s := f.series(a, seriesKey{ds: v.DS, kind: v.Kind, agent: rec.Agent}, func() *Series {
				name, _ := metricName(a.info.Kind, v.DS, v.Kind)
				var extra []Label
				if name == "outpost_attribute_value" || name == "outpost_attribute_total" {
					extra = []Label{{"ds", v.DS}}
				}
				return newSeries(name, u.Host, rec.Agent, a.labels, extra...)
			})
			f.add(c, s, Point{T: u.Time, V: val})
		}
	}
	for _, st := range rec.Statuses {
		a := f.attr(ctx, st.Host, st.Attr)
		changed := !a.seen || a.status != st.Status
		a.seen, a.status = true, st.Status
		for _, each := range status.All {
			if !changed && each != st.Status {
				continue
			}
			s := f.series(a, seriesKey{agent: rec.Agent, st: each}, func() *Series {
				return newSeries(StatusMetric, st.Host, rec.Agent, []Label{{"attribute", st.Attr}},
					Label{"kind", a.info.Kind}, Label{"status", each.Slug()})
			})
			v := 0.0
			if each == st.Status {
				v = 1
			}
			f.add(c, s, Point{T: st.Time, V: v})
		}
	}
}

// add appends a point unless its series already has one at or after its time.
func (f *Forwarder) add(c *chunk, s *Series, p Point) {
	if s.hasLast && p.T <= s.last {
		f.count(func(s *Stats) { s.OutOfOrder++ })
		return
	}
	s.last, s.hasLast = p.T, true
	c.add(s, p)
}

// series returns the series k of attribute a, building it with mk the
// first time (and then taking the last time sent under the same labels
// from before an inventory change).
func (f *Forwarder) series(a *attrEntry, k seriesKey, mk func() *Series) *Series {
	s := a.series[k]
	if s == nil {
		s = mk()
		s.last, s.hasLast = f.last[s.Hash]
		a.series[k] = s
	}
	return s
}

// replaceAttr installs a new mapping for an attribute (its inventory
// changed), keeping the last times sent of its old series.
func (f *Forwarder) replaceAttr(k attrKey, a *attrEntry) {
	if old := f.attrs[k]; old != nil {
		for _, s := range old.series {
			if s.hasLast {
				f.last[s.Hash] = s.last
			}
		}
		a.seen, a.status = old.seen, old.status
	}
	f.attrs[k] = a
}

func newAttrEntry(key string, info AttrInfo) *attrEntry {
	if info.Kind == "" {
		info.Kind = kindOfKey(key)
	}
	return &attrEntry{info: info, labels: attrLabels(key, info), series: map[seriesKey]*Series{}}
}

// attr returns the mapping state of an attribute, asking the inventory
// the first time one is seen without its inventory in the records.
func (f *Forwarder) attr(ctx context.Context, host, key string) *attrEntry {
	k := attrKey{host, key}
	if a := f.attrs[k]; a != nil {
		return a
	}
	var info AttrInfo
	if f.opts.Inventory != nil {
		got, ok, err := f.opts.Inventory.Attr(ctx, host, key)
		if err != nil {
			f.log.Warn("inventory lookup", "host", host, "attribute", key, "err", err)
		} else if ok {
			info = got
		}
	}
	a := newAttrEntry(key, info)
	f.attrs[k] = a
	return a
}

func (f *Forwarder) count(fn func(*Stats)) {
	f.mu.Lock()
	fn(&f.stats)
	f.mu.Unlock()
}

// send sends a chunk over the shards and returns once every request was
// accepted or refused for good, or ctx ended.
func (f *Forwarder) send(ctx context.Context, c *chunk, resend bool) error {
	shards := make([][]*pending, f.opts.Shards)
	for _, p := range c.series {
		i := p.s.Hash % uint64(len(shards))
		shards[i] = append(shards[i], p)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(shards))
	for i, sh := range shards {
		if len(sh) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.sendShard(ctx, sh, resend)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendShard sends one shard's series in requests of at most
// MaxSamplesPerSend samples, one after another.
func (f *Forwarder) sendShard(ctx context.Context, series []*pending, resend bool) error {
	var req []*pending
	n := 0
	flush := func() error {
		if len(req) == 0 {
			return nil
		}
		err := f.sendRequest(ctx, req, resend, 0)
		req, n = nil, 0
		return err
	}
	for _, p := range series {
		pts := p.pts
		for len(pts) > 0 {
			room := f.opts.MaxSamplesPerSend - n
			take := min(room, len(pts))
			req = append(req, &pending{s: p.s, pts: pts[:take]})
			n += take
			pts = pts[take:]
			if n >= f.opts.MaxSamplesPerSend {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

func samplesIn(req []*pending) int {
	n := 0
	for _, p := range req {
		n += len(p.pts)
	}
	return n
}

// sendRequest sends one request until the store accepts or refuses it
// for good. A 400 is split in halves to isolate the refused series.
//
// uncertain means the store may already hold the request: it is the
// chunk in flight at a crash, resent, or an earlier attempt ended
// without a clear refusal (a timeout, a dropped connection, a 5xx: the
// store may have committed it before failing to answer). A store commits
// a request whole or not at all, so for such a request an "out of order"
// or "duplicate sample" answer means it is stored.
//
// Splitting stops after maxSplit halvings (at most 2^maxSplit pieces of a
// request), so a request whose series are all refused (samples too old
// for the store, say) costs a bounded number of requests.
func (f *Forwarder) sendRequest(ctx context.Context, req []*pending, uncertain bool, depth int) error {
	var raw, body []byte
	backoff := f.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		raw, body = encodeBody(raw, body, req)
		r := f.cl.send(ctx, body)
		n := uint64(samplesIn(req))
		switch r.outcome {
		case sent:
			f.count(func(s *Stats) { s.SamplesSent += n; s.Requests++; s.LastError, s.FailingSince = "", time.Time{} })
			return nil
		case retryable:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.count(func(s *Stats) {
				s.Retries++
				f.failed(s, r)
			})
			if r.code != http.StatusTooManyRequests {
				uncertain = true
			}
			wait := max(backoff, min(r.retryAfter, 5*time.Minute))
			f.log.Warn("remote write failed; retrying", "status", r.code, "reason", r.reason, "attempt", attempt, "samples", n, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			backoff = min(backoff*2, f.opts.MaxBackoff)
		case badData:
			if uncertain && alreadyStored(r.reason) {
				f.count(func(s *Stats) { s.AlreadyStored += n })
				f.log.Info("request sent again already stored", "samples", n, "reason", r.reason)
				return nil
			}
			if len(req) > 1 && depth < maxSplit {
				half := len(req) / 2
				if err := f.sendRequest(ctx, req[:half], uncertain, depth+1); err != nil {
					return err
				}
				return f.sendRequest(ctx, req[half:], uncertain, depth+1)
			}
			f.refuse(req, r)
			return nil
		default:
			f.refuse(req, r)
			return nil
		}
	}
}

// maxSplit bounds the halvings of a request the store answered 400.
const maxSplit = 8

// failed records a failed request in s.
func (f *Forwarder) failed(s *Stats, r result) {
	now := f.opts.Now()
	s.LastError, s.LastErrorTime = errorText(r), now
	if s.FailingSince.IsZero() {
		s.FailingSince = now
	}
}

func errorText(r result) string {
	if r.code == 0 {
		return r.reason
	}
	return fmt.Sprintf("HTTP %d: %s", r.code, r.reason)
}

// refuse counts and logs samples the store refused for good.
func (f *Forwarder) refuse(req []*pending, r result) {
	n := uint64(samplesIn(req))
	f.count(func(s *Stats) {
		s.SamplesRejected += n
		s.LastRefusal = errorText(r)
	})
	attrs := []any{"status", r.code, "reason", r.reason, "samples", n}
	if len(req) == 1 {
		attrs = append(attrs, "series", seriesText(req[0].s))
	}
	f.log.Warn("remote write refused samples; skipped", attrs...)
}

// alreadyStored reports whether a 400's reason says the samples are
// already in the store (a resend after a crash).
func alreadyStored(reason string) bool {
	r := strings.ToLower(reason)
	return strings.Contains(r, "out of order") || strings.Contains(r, "duplicate sample")
}

func seriesText(s *Series) string {
	var b strings.Builder
	for i, l := range s.Labels {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
	}
	return b.String()
}

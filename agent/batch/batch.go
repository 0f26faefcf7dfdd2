// Package batch turns poll reports into wire batches and appends them to
// the spool. It implements poll.Sink.
//
// # Durability guarantee
//
// When Report returns, the report's samples, statuses and inventory have
// been written (write(2)) to the spool's active segment, or the write
// failed and was counted (Lost, metrics) and logged. Nothing reported is
// held only in the agent's memory, so everything a poll reported survives
// a kill -9 of the agent (the data is in the kernel's page cache, and the
// next start reads it back); it survives a power loss or a kernel crash
// once the spool has fsynced it (spool.Options.FsyncInterval, default 1s).
// What kill -9 can still lose is a poll in flight that has not reported
// yet (the device answered, Report was not reached): at most one poll per
// target.
//
// Reports are written with group commit: a report that arrives while
// another batch is being written waits for that write and is then written
// together with every other report that arrived meanwhile, in one batch.
// So batches stay large when many polls finish at once, and a lone poll is
// written at once. Report never waits for the uplink, and a disk that is
// full or failing costs the batch (counted and logged), never a blocked
// poller. A batch is also cut before the pending samples would exceed
// MaxSamples or the pending size estimate MaxBytes, always between two
// reports, so all points of one report (one poll of one target) land in
// the same batch (a single report larger than the limits is one batch).
//
// # Inventory at the head of every segment
//
// The spool drops whole segments, oldest first, when it is over its bound.
// A host's inventory (its attributes, their data sources and poll
// interval) travels in the batch of the poll that discovered it, so a drop
// can take it away while later samples of the host survive; the collector
// would then meet samples of attributes it has no description of and
// create their archives with a default step. So the batcher remembers the
// latest inventory of every host, and the first batch of every segment
// (spool.AppendOpening) carries all of them: whatever the spool keeps, its
// oldest batch describes every host before any sample of it.
//
// The batcher keeps those inventories for the agent's whole run, one per
// target, so it keeps them encoded: the CBOR bytes of each wire.Host, which
// the opening batch embeds as they are (a batch's encoding is the
// concatenation of its fields' encodings, so the bytes are the ones
// encoding the wire.Host values would give). About 4 KB a target with 8
// interfaces, against about twice that as Go values (maps of properties,
// strings, slices).
//
// Points become wire.Groups, one per poll time (Unix milliseconds): integer
// kinds as (id, value) pairs in Ints, Gauge and Derive as FloatIDs/Floats,
// and the ids of points with Reset set in Resets. Series ids come from the
// spool's registry.
package batch

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/outpost-nms/outpost/agent/metrics"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/wire"
)

// DefaultInterval is the period of the safety flush when Options.Interval
// is 0 (agent/config's spool.batch_interval uses the same).
const DefaultInterval = time.Second

// Options configure a Batcher. Zero fields take the defaults.
type Options struct {
	// Interval is the period of Run's safety flush. Reports no longer wait
	// for it: each is written before Report returns (see the package doc).
	// Default 1s.
	Interval time.Duration
	// MaxSamples cuts a batch early once this many samples are pending.
	// Default 16384.
	MaxSamples int
	// MaxBytes cuts a batch early once the pending encoded size is
	// estimated to reach it. Default 512 KiB: with the inventories the
	// first batch of a segment carries (at most OpeningBytes), a batch
	// stays under wire.MinMaxFrame, the frame every collector accepts.
	MaxBytes int
	// PartBytes is the largest host inventory (estimated) sent in one
	// batch; a larger one is split into parts of at most this size, in
	// consecutive batches (wire.HostPart). Default 256 KiB.
	PartBytes int
	// OpeningBytes bounds the inventories the first batch of a segment
	// repeats (see the package doc). Default 384 KiB.
	OpeningBytes int
	// Logger receives spool write failures. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, counts what is spooled and lost.
	Metrics *metrics.Agent
}

// Spool is what the batcher needs from the spool.
type Spool interface {
	Append(samples int, build func(seq uint64) ([]byte, error)) (uint64, error)
	Registry() *spool.Registry
	Drops() wire.Drops
}

// segmentSpool is a Spool that tells build whether the record opens a
// segment (spool.Spool does); see the package doc.
type segmentSpool interface {
	AppendOpening(samples int, build func(seq uint64, opens bool) ([]byte, error)) (uint64, error)
}

// Batcher buffers reports and writes batches. Safe for concurrent use.
type Batcher struct {
	opt   Options
	sp    Spool
	codec *wire.Codec
	log   *slog.Logger

	mu      sync.Mutex
	groups  map[int64]*wire.Group
	stats   []wire.AttrStatus
	hosts   []wire.Host
	traps   []wire.Trap
	devices []wire.DeviceFacts
	samples int
	size    int // estimated encoded bytes
	lost    uint64
	gen     uint64 // generation of the pending set; a cut takes it and starts the next

	cutMu sync.Mutex        // serialises cuts so seq order follows report order
	cut   uint64            // highest generation written (or lost); under cutMu
	known map[string]int    // host name -> index in invs; under cutMu
	invs  []cbor.RawMessage // latest inventory of each host, encoded, in first-seen order; under cutMu

	guard guard // the string guard (clean.go)
}

// hostMessage encodes a wire.Host with the wire codec (the same struct, so
// the same encoding).
type hostMessage wire.Host

func (*hostMessage) Type() wire.Type { return wire.TypeBatch }
func (*hostMessage) Validate() error { return nil }

// encodedBatch is wire.Batch with its hosts already encoded; it encodes to
// the bytes the wire.Batch would (same keys, same options; a test checks).
type encodedBatch struct {
	Seq      uint64             `cbor:"1,keyasint"`
	Groups   []wire.Group       `cbor:"2,keyasint,omitempty"`
	Statuses []wire.AttrStatus  `cbor:"3,keyasint,omitempty"`
	Hosts    []cbor.RawMessage  `cbor:"4,keyasint,omitempty"`
	Dropped  wire.Drops         `cbor:"5,keyasint"`
	Traps    []wire.Trap        `cbor:"6,keyasint,omitempty"`
	Devices  []wire.DeviceFacts `cbor:"7,keyasint,omitempty"`
	Parts    []wire.HostPart    `cbor:"8,keyasint,omitempty"`
}

func (*encodedBatch) Type() wire.Type { return wire.TypeBatch }
func (*encodedBatch) Validate() error { return nil }

// New returns a batcher writing into sp.
func New(sp Spool, opt Options) (*Batcher, error) {
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.MaxSamples <= 0 {
		opt.MaxSamples = 16384
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 512 << 10
	}
	if opt.PartBytes <= 0 {
		opt.PartBytes = 256 << 10
	}
	if opt.OpeningBytes <= 0 {
		opt.OpeningBytes = 384 << 10
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	codec, err := wire.NewCodec()
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	return &Batcher{opt: opt, sp: sp, codec: codec, log: opt.Logger, groups: map[int64]*wire.Group{}, gen: 1, known: map[string]int{}}, nil
}

// Report writes one poll's results to the spool before it returns (group
// commit: see the package doc). It does not wait for the network.
func (b *Batcher) Report(r poll.Report) {
	b.clean(&r) // every string valid and bounded before it is numbered or spooled (clean.go)
	if r.Devices != nil {
		var cut bool
		if r.Devices, cut = boundFacts(r.Devices, b.opt.PartBytes); cut {
			b.log.Warn("batch: device facts cut to fit a frame", "host", r.Devices.Host,
				"entities", len(r.Devices.Entities), "neighbors", len(r.Devices.Neighbors))
		}
	}
	if r.Inventory != nil && hostSize(r.Inventory) > b.opt.PartBytes {
		// Too large for one frame: its parts go first, in batches of their own (parts.go).
		// The host's device facts travel with its last part.
		b.writeParts(r.Inventory, r.Devices)
		r.Inventory, r.Devices = nil, nil
	}
	addSamples, addSize := reportSize(&r)
	reg := b.sp.Registry()
	b.mu.Lock()
	// Cut what is pending first when this report would take it over a
	// limit, so a batch never exceeds the limits because of grouping.
	for b.pendingLocked() && (b.samples+addSamples > b.opt.MaxSamples || b.size+addSize > b.opt.MaxBytes) {
		b.mu.Unlock()
		b.Flush()
		b.mu.Lock()
	}
	for i := range r.Points {
		p := &r.Points[i]
		id, err := reg.ID(p.Key, p.Kind)
		if err != nil {
			b.lost++
			b.log.Error("batch: cannot number a series; sample dropped", "series", p.Key.String(), "err", err)
			continue
		}
		t := p.Time.UnixMilli()
		g := b.groups[t]
		if g == nil {
			g = &wire.Group{Time: t}
			b.groups[t] = g
			b.size += 10
		}
		if p.Kind.IsInteger() {
			g.Ints = append(g.Ints, uint64(id), p.Uint)
			b.size += 14
		} else {
			g.FloatIDs = append(g.FloatIDs, id)
			g.Floats = append(g.Floats, p.Float)
			b.size += 14
		}
		if p.Reset {
			g.Resets = append(g.Resets, id)
			b.size += 5
		}
		b.samples++
	}
	for _, s := range r.Statuses {
		b.stats = append(b.stats, s)
		b.size += 16 + len(s.Host) + len(s.Attr) + len(s.Reason)
	}
	if r.Inventory != nil {
		b.hosts = append(b.hosts, *r.Inventory)
		b.size += hostSize(r.Inventory)
	}
	if r.Devices != nil {
		b.devices = append(b.devices, *r.Devices)
		b.size += factsSize(r.Devices)
	}
	mine := b.gen
	b.mu.Unlock()

	b.cutMu.Lock()
	defer b.cutMu.Unlock()
	if b.cut >= mine {
		return // a cut that started after this report was added wrote it
	}
	_ = b.flushLocked()
}

// pendingLocked reports whether anything waits to be cut. b.mu is held.
func (b *Batcher) pendingLocked() bool {
	return len(b.groups) > 0 || len(b.stats) > 0 || len(b.hosts) > 0 || len(b.traps) > 0 || len(b.devices) > 0
}

// reportSize estimates what r adds to a batch, as Report counts it.
func reportSize(r *poll.Report) (samples, size int) {
	samples = len(r.Points)
	size = 24 * len(r.Points)
	for _, s := range r.Statuses {
		size += 16 + len(s.Host) + len(s.Attr) + len(s.Reason)
	}
	if r.Inventory != nil {
		size += hostSize(r.Inventory)
	}
	if r.Devices != nil {
		size += factsSize(r.Devices)
	}
	return samples, size
}

func hostSize(h *wire.Host) int {
	n := 64 + len(h.Name) + len(h.Address) + len(h.SysName) + len(h.SysDescr) + len(h.SysObjectID) + len(h.Location) + len(h.Contact)
	for i := range h.Attrs {
		n += attrSize(&h.Attrs[i])
	}
	return n
}

// Flush cuts the pending samples, statuses and inventory into one batch and
// appends it to the spool. Nothing pending, nothing written. A spool error
// loses the batch: it is counted (Lost, metrics) and logged, not returned.
func (b *Batcher) Flush() {
	b.cutMu.Lock()
	defer b.cutMu.Unlock()
	_ = b.flushLocked()
}

// flushLocked is Flush with cutMu held. It returns the spool's error (the
// batch is then lost, counted and logged).
func (b *Batcher) flushLocked() error {
	b.mu.Lock()
	gen := b.gen
	b.gen++
	defer func() { b.cut = gen }()
	if !b.pendingLocked() {
		b.mu.Unlock()
		return nil
	}
	batch := encodedBatch{Statuses: b.stats, Traps: b.traps, Devices: b.devices}
	batch.Groups = make([]wire.Group, 0, len(b.groups))
	for _, g := range b.groups {
		batch.Groups = append(batch.Groups, *g)
	}
	hosts := b.hosts
	samples := b.samples
	b.groups = make(map[int64]*wire.Group, len(b.groups))
	b.stats, b.hosts, b.traps, b.devices, b.samples, b.size = nil, nil, nil, nil, 0, 0
	b.mu.Unlock()

	sort.Slice(batch.Groups, func(i, j int) bool { return batch.Groups[i].Time < batch.Groups[j].Time })
	batch.Dropped = b.sp.Drops()
	own, err := b.encodeHosts(hosts)
	if err == nil {
		if ss, ok := b.sp.(segmentSpool); ok {
			_, err = ss.AppendOpening(samples, func(seq uint64, opens bool) ([]byte, error) {
				batch.Seq = seq
				batch.Hosts = own
				if opens {
					batch.Hosts = b.opening(nil)
				}
				return b.codec.Marshal(&batch)
			})
		} else {
			_, err = b.sp.Append(samples, func(seq uint64) ([]byte, error) {
				batch.Seq = seq
				batch.Hosts = own
				return b.codec.Marshal(&batch)
			})
		}
	}
	if err != nil {
		b.countLost()
		b.log.Error("batch: spool write failed; batch dropped", "samples", samples, "statuses", len(batch.Statuses), "hosts", len(hosts), "traps", len(batch.Traps), "err", err)
		return err
	}
	if b.opt.Metrics != nil {
		b.opt.Metrics.BatchesSpooled.Inc()
		b.opt.Metrics.SamplesSpooled.Add(float64(samples))
	}
	return nil
}

// countLost counts a batch the spool could not write.
func (b *Batcher) countLost() {
	b.mu.Lock()
	b.lost++
	b.mu.Unlock()
	if b.opt.Metrics != nil {
		b.opt.Metrics.SpoolErrors.Inc()
	}
}

// encodeHosts encodes the inventories of a batch and makes each its
// host's latest (see the package doc). cutMu is held.
func (b *Batcher) encodeHosts(hosts []wire.Host) ([]cbor.RawMessage, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	out := make([]cbor.RawMessage, len(hosts))
	for i := range hosts {
		enc, err := b.codec.Marshal((*hostMessage)(&hosts[i]))
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", hosts[i].Name, err)
		}
		out[i] = enc
	}
	for i := range hosts {
		if k, ok := b.known[hosts[i].Name]; ok {
			b.invs[k] = out[i]
			continue
		}
		b.known[hosts[i].Name] = len(b.invs)
		b.invs = append(b.invs, out[i])
	}
	return out, nil
}

// Lost returns how many batches (and unnumbered samples) were lost to
// spool or registry errors since New.
func (b *Batcher) Lost() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lost
}

// Run cuts whatever is pending every Interval until ctx is done, then
// once more. Since Report writes before it returns, these cuts normally
// find nothing; Run stays as a safety net and as the shutdown point.
func (b *Batcher) Run(ctx context.Context) {
	t := time.NewTicker(b.opt.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.Flush()
			return
		case <-t.C:
			b.Flush()
		}
	}
}

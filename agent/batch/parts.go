package batch

import (
	"github.com/fxamacker/cbor/v2"

	"github.com/outpost-nms/outpost/shared/wire"
)

// Inventories too large for one frame (a switch stack with 10,000
// interfaces and long descriptions) are split: each part is a Host entry
// with some of the attributes, in a batch of its own, marked with a
// wire.HostPart; only the last part carries the host's Complete flag, and
// the collector takes the attributes of all parts together as the host's
// list. The parts are written back to back under cutMu, so their seqs are
// consecutive and nothing of the host's polls comes between them.
//
// A split host is not repeated at the head of segments (the opening batch
// must fit one frame too): its inventory survives a spool drop only if
// the batches holding it do, as before the opening existed; the collector
// keeps what it already knew of the host either way.

// writeParts writes h in parts of at most PartBytes (estimated) each.
func (b *Batcher) writeParts(h *wire.Host, facts *wire.DeviceFacts) {
	var parts [][]wire.Attr
	var cur []wire.Attr
	size := hostSize(&wire.Host{Name: h.Name, Address: h.Address, SysName: h.SysName, SysDescr: h.SysDescr,
		SysObjectID: h.SysObjectID, Location: h.Location, Contact: h.Contact})
	head := size
	for _, a := range h.Attrs {
		n := attrSize(&a)
		if len(cur) > 0 && size+n > b.opt.PartBytes {
			parts = append(parts, cur)
			cur, size = nil, head
		}
		cur = append(cur, a)
		size += n
	}
	parts = append(parts, cur)

	b.cutMu.Lock()
	defer b.cutMu.Unlock()
	if err := b.flushLocked(); err != nil {
		b.log.Warn("batch: pending batch lost before an inventory split", "err", err)
	}
	if k, ok := b.known[h.Name]; ok {
		b.invs[k] = nil // a stale smaller inventory must not be repeated (it would sweep the new attributes)
	}
	for i, attrs := range parts {
		part := *h
		part.Attrs = attrs
		part.Complete = h.Complete && i == len(parts)-1
		enc, err := b.codec.Marshal((*hostMessage)(&part))
		if err == nil {
			batch := encodedBatch{Dropped: b.sp.Drops()}
			if len(parts) > 1 {
				batch.Parts = []wire.HostPart{{Name: h.Name, Index: uint32(i), Count: uint32(len(parts))}}
			}
			if facts != nil && i == len(parts)-1 {
				batch.Devices = []wire.DeviceFacts{*facts}
			}
			err = b.appendBatch(&batch, []cbor.RawMessage{enc})
		}
		if err != nil {
			b.countLost()
			b.log.Error("batch: spool write failed; inventory part dropped", "host", h.Name, "part", i, "of", len(parts), "err", err)
			return // the rest would not complete the sequence; the next discovery sends it again
		}
		if b.opt.Metrics != nil {
			b.opt.Metrics.BatchesSpooled.Inc()
		}
	}
	b.log.Info("batch: inventory split over several batches", "host", h.Name, "attributes", len(h.Attrs), "parts", len(parts))
}

// appendBatch writes one batch holding hosts (and, when it opens a
// segment, the opening inventories before them). cutMu is held.
func (b *Batcher) appendBatch(batch *encodedBatch, hosts []cbor.RawMessage) error {
	if ss, ok := b.sp.(segmentSpool); ok {
		_, err := ss.AppendOpening(0, func(seq uint64, opens bool) ([]byte, error) {
			batch.Seq = seq
			batch.Hosts = hosts
			if opens {
				batch.Hosts = b.opening(hosts)
			}
			return b.codec.Marshal(batch)
		})
		return err
	}
	_, err := b.sp.Append(0, func(seq uint64) ([]byte, error) {
		batch.Seq = seq
		batch.Hosts = hosts
		return b.codec.Marshal(batch)
	})
	return err
}

// opening returns the inventories the first batch of a segment carries:
// every host's latest (split hosts excepted) up to OpeningBytes, then
// extra (the batch's own hosts, which come last: they are the newest).
// cutMu is held.
func (b *Batcher) opening(extra []cbor.RawMessage) []cbor.RawMessage {
	out := make([]cbor.RawMessage, 0, len(b.invs)+len(extra))
	total, skipped := 0, 0
	for _, inv := range b.invs {
		if inv == nil {
			continue
		}
		if total+len(inv) > b.opt.OpeningBytes {
			skipped++
			continue
		}
		total += len(inv)
		out = append(out, inv)
	}
	if skipped > 0 {
		b.log.Warn("batch: the segment's first batch repeats only part of the known inventories (frame size)",
			"repeated", len(out), "left_out", skipped)
	}
	return append(out, extra...)
}

// attrSize estimates an attribute's encoded size, as hostSize counts it.
func attrSize(a *wire.Attr) int {
	n := 32 + len(a.Key) + len(a.Name) + len(a.Descr) + 24*len(a.DS)
	for k, v := range a.Props {
		n += 2 + len(k) + len(v)
	}
	for _, d := range a.DS {
		n += len(d.Name)
	}
	return n
}

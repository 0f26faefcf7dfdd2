package ntp

import (
	"errors"
	"fmt"
	"slices"
)

// DefaultMaxResponse is the reassembly cap a Client uses unless told
// otherwise: 64 fragments of 468 bytes, far above what READSTAT and READVAR
// of even a busy server return (a few KB).
const DefaultMaxResponse = 64 * MaxFragmentData

// ErrIncomplete reports a response with a hole in it when the wait ends.
var ErrIncomplete = errors.New("incomplete mode 6 response")

// Reassembler collects the fragments of one response. Fragments may arrive
// in any order and more than once; it keeps the first fragment at each
// offset (a repeat with the same offset and count is a harmless duplicate,
// one with a different count is an error) and completes when the fragments
// tile 0..end exactly and the one at the end has the More bit clear.
//
// Memory is bounded: a fragment reaching past max bytes, or a number of
// stored fragments that could not fit in max bytes, is an error.
type Reassembler struct {
	max   int
	frags map[uint16]Packet
	end   int // offset after the last fragment (M clear), -1 until seen
	held  int // data bytes stored
}

// NewReassembler returns a reassembler for responses of at most max data
// bytes (max <= 0 means DefaultMaxResponse).
func NewReassembler(max int) *Reassembler {
	if max <= 0 {
		max = DefaultMaxResponse
	}
	return &Reassembler{max: max, frags: make(map[uint16]Packet), end: -1}
}

// Add stores one fragment (the caller has matched its sequence, opcode and
// association) and reports whether the response is now complete. An error
// means the response can never complete correctly (overlap, conflicting
// ends, over the cap); the caller gives up on it.
func (r *Reassembler) Add(p Packet) (complete bool, err error) {
	off, n := int(p.Offset), len(p.Data)
	if off+n > r.max {
		return false, fmt.Errorf("response exceeds %d bytes (fragment at offset %d, %d bytes)", r.max, off, n)
	}
	if old, ok := r.frags[p.Offset]; ok {
		if len(old.Data) != n || old.More != p.More {
			return false, fmt.Errorf("conflicting fragments at offset %d (%d and %d bytes)", off, len(old.Data), n)
		}
		return r.complete()
	}
	if !p.More {
		if r.end >= 0 && r.end != off+n {
			return false, fmt.Errorf("two last fragments end at %d and %d", r.end, off+n)
		}
		r.end = off + n
	}
	if r.end >= 0 && off+n > r.end {
		return false, fmt.Errorf("fragment at offset %d (%d bytes) lies past the end of the response at %d", off, n, r.end)
	}
	if n == 0 && p.More {
		// An empty non-final fragment cannot advance the tiling; refusing it
		// also bounds the map by max/1 entries.
		return false, fmt.Errorf("empty fragment at offset %d with more bit set", off)
	}
	r.frags[p.Offset] = p
	r.held += n
	if r.held > r.max {
		return false, fmt.Errorf("response exceeds %d bytes", r.max)
	}
	return r.complete()
}

// complete checks the tiling: it is called after every new fragment, and
// fragments per response are few, so sorting each time is cheap.
func (r *Reassembler) complete() (bool, error) {
	pos, hole := 0, false
	for _, off := range r.offsets() {
		switch {
		case int(off) < pos:
			return false, fmt.Errorf("fragments overlap at offset %d", off)
		case int(off) > pos:
			hole = true
		}
		pos = int(off) + len(r.frags[off].Data)
	}
	return !hole && r.end >= 0 && pos == r.end, nil
}

func (r *Reassembler) offsets() []uint16 {
	offs := make([]uint16, 0, len(r.frags))
	for off := range r.frags {
		offs = append(offs, off)
	}
	slices.Sort(offs)
	return offs
}

// Missing describes what is still missing, for the error after a timeout
// ("no fragment received", "missing bytes 468..", "last fragment not received").
func (r *Reassembler) Missing() string {
	if len(r.frags) == 0 {
		return "no fragment received"
	}
	pos := 0
	for _, off := range r.offsets() {
		if int(off) > pos {
			return fmt.Sprintf("missing fragment at offset %d (bytes %d..%d)", pos, pos, int(off)-1)
		}
		pos = int(off) + len(r.frags[off].Data)
	}
	if r.end < 0 {
		return fmt.Sprintf("last fragment not received (have bytes 0..%d, more bit still set)", pos-1)
	}
	return "complete"
}

// Data returns the reassembled response; call it once Add reported complete.
func (r *Reassembler) Data() []byte {
	out := make([]byte, 0, r.held)
	for _, off := range r.offsets() {
		out = append(out, r.frags[off].Data...)
	}
	return out
}

// Status is the status word of the response, from its first fragment.
func (r *Reassembler) Status() uint16 {
	return r.frags[0].Status
}

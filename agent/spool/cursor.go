package spool

import (
	"errors"
	"fmt"
	"sort"
)

// ErrNoRecord is returned by Cursor.Next when it has caught up with the
// newest record; wait on Spool.Notify and call Next again.
var ErrNoRecord = errors.New("no record yet")

// Cursor reads records in seq order, from a starting seq onward. A cursor
// whose next record was dropped (spool full or too old) or acknowledged
// continues with the oldest record still present. Not safe for concurrent
// use; any number of cursors may read one spool.
type Cursor struct {
	s    *Spool
	next uint64 // the smallest seq Next may return
	buf  []byte
}

// ReadFrom returns a cursor whose first record is the oldest one with a seq
// at or above seq.
func (s *Spool) ReadFrom(seq uint64) *Cursor {
	return &Cursor{s: s, next: seq}
}

// Next returns the next record. The payload is valid until the next call.
// It returns ErrNoRecord when there is nothing newer yet, ErrClosed after
// Close, and an I/O error if the segment cannot be read; a record that no
// longer passes its CRC is skipped.
func (c *Cursor) Next() (Record, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Record{}, ErrClosed
	}
	for _, seg := range s.segs {
		n := len(seg.index)
		if n == 0 || seg.index[n-1].seq < c.next {
			continue
		}
		i := sort.Search(n, func(i int) bool { return seg.index[i].seq >= c.next })
		for ; i < n; i++ {
			e := seg.index[i]
			if cap(c.buf) < int(e.size) {
				c.buf = make([]byte, e.size)
			}
			b := c.buf[:e.size]
			if _, err := seg.f.ReadAt(b, int64(e.off)); err != nil {
				return Record{}, fmt.Errorf("spool: read seq %d: %w", e.seq, err)
			}
			r, _, ok := parseRecord(b)
			if !ok || r.Seq != e.seq {
				s.log.Warn("spool: record changed on disk since it was written; skipped", "seq", e.seq)
				c.next = e.seq + 1
				continue
			}
			c.next = e.seq + 1
			return r, nil
		}
	}
	return Record{}, ErrNoRecord
}

package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Tailer reads a Log from a position onward, following new records as they
// become durable and segments as they roll, the way Prometheus's WAL
// watcher follows its WAL. It never returns a record before Sync made it
// durable, so what a reader forwards survives a crash of the writer. Not
// safe for concurrent use; any number of Tailers may follow one Log.
type Tailer struct {
	l       *Log
	pos     Pos
	f       *os.File // open segment, or nil
	fBase   Pos
	buf     []byte
	skipped uint64
	corrupt uint64
}

// Tail returns a Tailer whose first record is the first that starts at or
// after from. from must be a record boundary (a position Write returned or
// a record's start), such as a reader's own checkpoint.
func (l *Log) Tail(from Pos) *Tailer { return &Tailer{l: l, pos: from} }

// Pos returns the position after the last record Next returned: persist it
// as the reader's checkpoint.
func (t *Tailer) Pos() Pos { return t.pos }

// Skipped returns the bytes the Tailer jumped over because their segments
// were removed before it read them (a reader that fell behind the
// writer's retention).
func (t *Tailer) Skipped() uint64 { return t.skipped }

// Corrupt returns the damaged regions skipped.
func (t *Tailer) Corrupt() uint64 { return t.corrupt }

// Close releases the open segment file.
func (t *Tailer) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

// Next returns the next durable record, waiting for one until ctx ends.
// Data is valid until the next call. It returns ctx's error when ctx ends
// and ErrClosed once the Log is closed.
func (t *Tailer) Next(ctx context.Context) (Entry, error) {
	l := t.l
	h := l.opt.Format.HeaderLen()
	for {
		l.smu.Lock()
		synced, notify := l.synced, l.notify
		l.smu.Unlock()
		l.mu.Lock()
		closed := l.closed
		first, activeBase := l.segs[0], l.segs[len(l.segs)-1]
		// The segment holding pos, and where it ends.
		base, segEnd := first, Pos(0)
		for i, b := range l.segs {
			if b > t.pos {
				break
			}
			base, segEnd = b, 0
			if i+1 < len(l.segs) {
				segEnd = l.segs[i+1]
			}
		}
		l.mu.Unlock()
		if closed {
			return Entry{}, ErrClosed
		}
		if t.pos < first {
			t.skipped += uint64(first - t.pos)
			t.pos = first
			continue
		}
		// Everything before the active segment was synced when it rolled.
		limit := max(synced, activeBase)
		if segEnd != 0 {
			limit = min(limit, segEnd)
		}
		if t.pos >= limit {
			if segEnd != 0 && t.pos >= segEnd {
				t.pos = segEnd // the rest of the segment was damage; go on in the next
				continue
			}
			select {
			case <-ctx.Done():
				return Entry{}, ctx.Err()
			case <-notify:
			}
			continue
		}
		if t.f == nil || t.fBase != base {
			t.Close()
			f, err := os.Open(l.path(base))
			if errors.Is(err, os.ErrNotExist) {
				continue // removed meanwhile: the next round skips it
			}
			if err != nil {
				return Entry{}, fmt.Errorf("wal: tail: %w", err)
			}
			t.f, t.fBase = f, base
		}
		avail := int(limit - t.pos)
		if cap(t.buf) < h {
			t.buf = make([]byte, h, 64<<10)
		}
		hdr := t.buf[:min(h, avail)]
		if _, err := t.f.ReadAt(hdr, int64(t.pos-base)); err != nil {
			return Entry{}, fmt.Errorf("wal: tail: %w", err)
		}
		n, ok := l.opt.Format.DataLen(hdr)
		if ok && h+n <= avail {
			if cap(t.buf) < h+n {
				t.buf = make([]byte, h+n)
			}
			b := t.buf[:h+n]
			if _, err := t.f.ReadAt(b, int64(t.pos-base)); err != nil {
				return Entry{}, fmt.Errorf("wal: tail: %w", err)
			}
			if r, size, ok := l.opt.Format.Parse(b); ok {
				e := Entry{Pos: t.pos, End: t.pos + Pos(size), Data: r.Data}
				t.pos = e.End
				return e, nil
			}
		}
		// A damaged region in durable bytes: skip to the next record that
		// verifies within them.
		if err := t.resync(base, limit); err != nil {
			return Entry{}, err
		}
	}
}

// resync moves pos past a damaged region to the next valid record before
// limit, or to limit.
func (t *Tailer) resync(base, limit Pos) error {
	rest := make([]byte, limit-t.pos)
	if _, err := t.f.ReadAt(rest, int64(t.pos-base)); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("wal: tail: %w", err)
	}
	t.corrupt++
	t.pos += Pos(t.l.opt.Format.Resync(rest, 1))
	return nil
}

package forward

import (
	"context"
	"errors"
	"time"

	"github.com/outpost-nms/outpost/collector/journal"
)

// Source yields journal records in order, starting at the position it was
// opened at. Next blocks until a record is available or ctx ends. The
// returned Data stays valid until the next call.
type Source interface {
	Next(ctx context.Context) (journal.Entry, error)
}

// JournalSource reads a journal by polling Replay, backing off while
// nothing new is written: a stand-in for a tailing reader.
type JournalSource struct {
	j        *journal.Journal
	from     journal.Pos
	buf      []journal.Entry
	next     int
	minPoll  time.Duration
	maxPoll  time.Duration
	maxBytes int // bytes of records read ahead per poll
}

// NewJournalSource returns a source reading j from position from.
func NewJournalSource(j *journal.Journal, from journal.Pos) *JournalSource {
	return &JournalSource{j: j, from: from, minPoll: 20 * time.Millisecond, maxPoll: 500 * time.Millisecond, maxBytes: 32 << 20}
}

var errReadAhead = errors.New("read-ahead full")

// Next returns the next record.
func (s *JournalSource) Next(ctx context.Context) (journal.Entry, error) {
	wait := s.minPoll
	for s.next >= len(s.buf) {
		if err := ctx.Err(); err != nil {
			return journal.Entry{}, err
		}
		s.buf, s.next = s.buf[:0], 0
		if s.j.End() > s.from {
			n := 0
			err := s.j.Replay(s.from, func(e journal.Entry) error {
				e.Data = append([]byte(nil), e.Data...)
				s.buf = append(s.buf, e)
				n += len(e.Data)
				if n >= s.maxBytes {
					return errReadAhead
				}
				return nil
			})
			if err != nil && !errors.Is(err, errReadAhead) {
				return journal.Entry{}, err
			}
			if len(s.buf) > 0 {
				s.from = s.buf[len(s.buf)-1].End
				break
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return journal.Entry{}, ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, s.maxPoll)
	}
	e := s.buf[s.next]
	s.next++
	return e, nil
}

// One session: Hello and HelloAck, then the sender (series definitions and
// batches from the spool cursor) and the receiver (acks, refusals, errors).

package uplink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/wire"
)

// session runs one connection: dial, hello, then send and receive until
// an error or ctx ends.
func (u *Uplink) session(ctx context.Context) Event {
	l, err := u.dial(ctx)
	if err != nil {
		return Event{Err: err}
	}
	ev := Event{Transport: l.transport()}
	defer l.close("agent closing")
	ack, declared, err := u.hello(l)
	if err != nil {
		err = withCause(err, l.cause())
		ev.Err = err
		return ev
	}
	ev.Up = true
	u.up.Store(true)
	if u.cfg.Metrics != nil {
		u.cfg.Metrics.LinkUp.Set(1)
	}
	defer func() {
		u.up.Store(false)
		if u.cfg.Metrics != nil {
			u.cfg.Metrics.LinkUp.Set(0)
		}
	}()
	u.log.Info("uplink: link up", "transport", ev.Transport, "collector", ack.Collector, "acked_seq", ack.AckedSeq)
	if u.cfg.OnSession != nil {
		u.cfg.OnSession(Event{Transport: ev.Transport, Up: true})
	}
	ev.Err = u.stream(ctx, l, ack, declared)
	if ev.Err != nil && ctx.Err() == nil {
		ev.Err = withCause(ev.Err, l.cause())
	}
	return ev
}

// withCause adds the connection's close cause (for QUIC, what the peer or
// the stack said: a rejected certificate, an idle timeout) to err.
func withCause(err, cause error) error {
	if cause == nil || errors.Is(err, cause) || strings.Contains(err.Error(), cause.Error()) {
		return err
	}
	return fmt.Errorf("%w (connection closed: %v)", err, cause)
}

// hello sends Hello and waits for HelloAck. It also returns the drop
// counters the Hello declared.
func (u *Uplink) hello(l link) (*wire.HelloAck, wire.Drops, error) {
	x := u.sp.Extent()
	h := &wire.Hello{Agent: u.cfg.Agent, Software: u.cfg.Software, Proto: wire.ProtocolVersion,
		Epoch: u.sp.Epoch(), FirstSeq: x.First, LastSeq: x.Last, Dropped: x.Drops}
	frame, err := u.codec.AppendFrame(nil, h)
	if err != nil {
		return nil, x.Drops, err
	}
	if _, err := l.Write(frame); err != nil {
		return nil, x.Drops, fmt.Errorf("send hello: %w", err)
	}
	_ = l.SetReadDeadline(time.Now().Add(u.cfg.HandshakeTimeout))
	defer func() { _ = l.SetReadDeadline(time.Time{}) }()
	t, body, err := wire.ReadFrame(l, u.cfg.MaxFrame, nil)
	if err != nil {
		return nil, x.Drops, fmt.Errorf("wait for hello-ack: %w", err)
	}
	m, err := u.codec.Decode(t, body)
	if err != nil {
		return nil, x.Drops, fmt.Errorf("hello-ack: %w", err)
	}
	switch m := m.(type) {
	case *wire.HelloAck:
		if m.Epoch != h.Epoch {
			u.log.Warn("uplink: collector answered for another epoch; resending everything", "ours", h.Epoch, "theirs", m.Epoch)
			m.AckedSeq = 0
		}
		return m, x.Drops, nil
	case *wire.Error:
		return nil, x.Drops, fmt.Errorf("collector refused the session: %w", m)
	default:
		return nil, x.Drops, fmt.Errorf("%w: got %s", ErrNotHelloAck, t)
	}
}

// stream sends series definitions and batches and applies acks. declared
// is what the Hello said the spool had dropped.
func (u *Uplink) stream(ctx context.Context, l link, ack *wire.HelloAck, declared wire.Drops) error {
	if err := u.sp.Ack(ack.AckedSeq); err != nil {
		return fmt.Errorf("apply ack: %w", err)
	}
	var acked atomic.Uint64
	acked.Store(ack.AckedSeq)
	ackSig := make(chan struct{}, 1)
	var resendSeries atomic.Bool
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cancel(u.receive(l, &acked, ackSig, &resendSeries))
	}()
	err := u.send(sctx, l, ack, declared, &acked, ackSig, &resendSeries)
	cancel(err)
	l.close("session ended") // unblocks the receiver
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return context.Cause(sctx)
}

func (u *Uplink) receive(l link, acked *atomic.Uint64, ackSig chan struct{}, resendSeries *atomic.Bool) error {
	buf := make([]byte, 512)
	for {
		t, body, err := wire.ReadFrame(l, u.cfg.MaxFrame, buf)
		if err != nil {
			return fmt.Errorf("read from collector: %w", err)
		}
		if cap(body) > cap(buf) {
			buf = body[:0]
		}
		m, err := u.codec.Decode(t, body)
		if err != nil {
			return fmt.Errorf("from collector: %w", err)
		}
		switch m := m.(type) {
		case *wire.Ack:
			prev := acked.Load()
			if m.Seq <= prev {
				continue
			}
			if err := u.sp.Ack(m.Seq); err != nil {
				return fmt.Errorf("apply ack %d: %w", m.Seq, err)
			}
			acked.Store(m.Seq)
			if u.cfg.Metrics != nil {
				u.cfg.Metrics.BatchesAcked.Add(float64(m.Seq - prev))
			}
			select {
			case ackSig <- struct{}{}:
			default:
			}
		case *wire.Reject:
			u.rejected(Reject{At: time.Now(), Seq: m.Seq, Kind: m.Kind, Reason: m.Reason, Count: m.Count, Whole: m.Whole})
		case *wire.Error:
			if m.Fatal {
				return fmt.Errorf("collector closed the session: %w", m)
			}
			u.log.Warn("uplink: collector reported an error", "code", m.Code, "message", m.Message)
			if m.Code == wire.ErrCodeUnknownSeries {
				resendSeries.Store(true)
			}
		default:
			return fmt.Errorf("unexpected %s from collector", t)
		}
	}
}

// maxDefsPerFrame keeps a Series message well under the frame limit.
const maxDefsPerFrame = 8192

func (u *Uplink) send(ctx context.Context, l link, ack *wire.HelloAck, declared wire.Drops, acked *atomic.Uint64, ackSig chan struct{}, resendSeries *atomic.Bool) error {
	from := ack.AckedSeq
	maxFrame := int(ack.MaxFrame)
	if maxFrame <= 0 || maxFrame > wire.HardMaxFrame {
		maxFrame = wire.DefaultMaxFrame
	}
	w := bufio.NewWriterSize(l, 64<<10)
	cur := u.sp.ReadFrom(from + 1)
	reg := u.sp.Registry()
	var sentSeries uint32
	lastSent := from
	started := false
	var hdr []byte
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if lastSent-acked.Load() >= uint64(u.cfg.Window) {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-ackSig:
			}
			continue
		}
		notify := u.sp.Notify()
		rec, err := cur.Next()
		if errors.Is(err, spool.ErrNoRecord) {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-notify:
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read spool: %w", err)
		}
		// A seq missing mid-session, or missing at the start because the
		// spool dropped it after the Hello was sent, is declared by a new
		// Hello: a batch written before the drop carries stale drop
		// counters, so the gap it would reveal could not be accounted for.
		// (At the start, a record skipped for a failed CRC is not a drop:
		// going on avoids reconnecting for it forever.)
		if rec.Seq != lastSent+1 && (started || u.sp.Drops() != declared) {
			_ = w.Flush()
			return fmt.Errorf("%w: after %d next is %d", ErrSpoolGap, lastSent, rec.Seq)
		}
		started = true
		if resendSeries.Swap(false) {
			sentSeries = 0
		}
		for n := reg.Len(); sentSeries < n; {
			ss := reg.Defs(sentSeries, maxDefsPerFrame)
			if len(ss) == 0 {
				sentSeries = n
				break
			}
			for i := range ss {
				f, err := u.codec.AppendFrame(nil, &ss[i])
				if err != nil {
					return err
				}
				if _, err := w.Write(f); err != nil {
					return fmt.Errorf("send series: %w", err)
				}
			}
			last := ss[len(ss)-1]
			sentSeries = last.First + uint32(len(last.Defs))
		}
		if len(rec.Payload)+1 > maxFrame {
			// The collector would refuse the frame and end the session,
			// and the agent would send it again forever: skip it. The
			// collector sees the gap (declared as dropped) when the next
			// batch arrives.
			u.rejected(Reject{At: time.Now(), Seq: rec.Seq, Kind: wire.RejectOversize, Whole: true,
				Reason: fmt.Sprintf("batch %d is %d bytes, over the collector's frame limit of %d", rec.Seq, len(rec.Payload)+1, maxFrame)})
			lastSent = rec.Seq
			continue
		}
		hdr = wire.AppendFrameHeader(hdr[:0], wire.TypeBatch, len(rec.Payload))
		if _, err := w.Write(hdr); err != nil {
			return fmt.Errorf("send batch %d: %w", rec.Seq, err)
		}
		if _, err := w.Write(rec.Payload); err != nil {
			return fmt.Errorf("send batch %d: %w", rec.Seq, err)
		}
		lastSent = rec.Seq
		if u.cfg.Metrics != nil {
			u.cfg.Metrics.BatchesSent.Inc()
		}
	}
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/shared/wire"
)

// session is one agent connection: one bidirectional stream.
type session struct {
	srv              *Server
	rw               io.ReadWriter
	remote           string
	cert             string // the certificate's CN
	setReadDeadline  func(time.Time)
	setWriteDeadline func(time.Time)
	close            func(code uint16, msg string)
	done             <-chan struct{}

	agent   inventory.Agent
	checked time.Time // when agent was last looked up
	serial  string    // the certificate's serial
	epoch   uint64
	proto   uint16 // the agent's protocol version (Hello.Proto)
	dict    *Dictionary
	buf     []byte

	wmu sync.Mutex // serializes frames written by the reader and the acker
	out []byte

	acks      chan pendingAck // reader → acker, in journal order
	ackerDone chan struct{}
}

// pendingAck is a batch written to the journal (or a duplicate) waiting
// for its record to be durable before it is acked.
type pendingAck struct {
	seq   uint64      // the seq to ack
	end   journal.Pos // wait until the journal is durable up to here
	start journal.Pos
	rec   *Record // nil for a duplicate: nothing to apply
}

// rejects returns what to tell the agent about p's refusals.
func (p pendingAck) rejects() []wire.Reject {
	if p.rec == nil {
		return nil
	}
	var out []wire.Reject
	for _, r := range p.rec.Refusals {
		if p.rec.Kind == RecordRejected {
			out = append(out, wire.Reject{Seq: p.rec.Seq, Kind: r.Kind, Reason: r.Reason, Whole: true})
			continue
		}
		if n := len(out); n > 0 && out[n-1].Kind == r.Kind {
			out[n-1].Count += r.Count // units of one kind together
			continue
		}
		out = append(out, wire.Reject{Seq: p.rec.Seq, Kind: r.Kind, Reason: r.Reason, Count: r.Count})
	}
	return out
}

// refusal is a session-ending error with the code sent to the agent.
type refusal struct {
	code   uint16
	reason string // metric label
	msg    string
}

func (r *refusal) Error() string { return r.msg }

func refuse(code uint16, reason, format string, args ...any) error {
	return &refusal{code: code, reason: reason, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) run(ctx context.Context, sess *session) {
	s.track(sess, true)
	defer s.track(sess, false)
	stop := context.AfterFunc(ctx, func() { sess.close(wire.ErrCodeOverloaded, "collector shutting down") })
	defer stop()
	err := sess.serve(ctx)
	var r *refusal
	switch {
	case err == nil || errors.Is(err, io.EOF):
		sess.close(0, "bye")
	case errors.As(err, &r):
		s.log.Warn("agent session refused", "agent", sess.cert, "remote", sess.remote, "code", r.code, "reason", r.msg)
		s.refused(r.reason)
		_ = sess.send(&wire.Error{Code: r.code, Message: r.msg, Fatal: true})
		sess.close(r.code, r.msg)
	default:
		select {
		case <-sess.done:
		default:
			if ctx.Err() == nil {
				s.log.Info("agent session ended", "agent", sess.cert, "remote", sess.remote, "err", err)
			}
		}
		sess.close(wire.ErrCodeProtocol, "session ended")
	}
}

func (sess *session) send(m wire.Message) error {
	sess.wmu.Lock()
	defer sess.wmu.Unlock()
	out, err := sess.srv.codec.AppendFrame(sess.out[:0], m)
	if err != nil {
		return err
	}
	sess.out = out
	// An agent that stops reading must not hold the session forever.
	sess.setWriteDeadline(time.Now().Add(writeTimeout))
	_, err = sess.rw.Write(out)
	return err
}

// maxSeqJump bounds how far a stream's seq may jump at once (declared
// drops): an agent's spool numbers its batches one by one, and 2^32
// batches is over a century at one a second. A larger jump is a hostile or
// broken agent, refused, not a "dropped 1.8e19 batches" event.
const maxSeqJump = 1 << 32

// writeTimeout bounds every frame the collector writes to an agent.
const writeTimeout = 30 * time.Second

// readMessage reads and decodes one frame for the session.
func (sess *session) readMessage() (wire.Message, error) {
	return readMessage(sess.rw, sess.srv.codec, sess.srv.cfg.MaxFrame, sess.buf)
}

// readFrame reads one frame under the size cap; an oversized or empty
// frame is a protocol refusal.
func (sess *session) readFrame() (wire.Type, []byte, error) {
	t, body, err := wire.ReadFrame(sess.rw, sess.srv.cfg.MaxFrame, sess.buf)
	if err != nil && (errors.Is(err, wire.ErrFrameTooLarge) || errors.Is(err, wire.ErrFrameEmpty)) {
		return 0, nil, refuse(wire.ErrCodeProtocol, "protocol", "bad frame: %v", err)
	}
	return t, body, err
}

// readMessage reads one frame under the size cap and decodes it with the
// limited codec (which validates it). A read error is returned as is; a bad
// frame is a protocol refusal.
func readMessage(r io.Reader, codec *wire.Codec, maxFrame int, buf []byte) (wire.Message, error) {
	t, body, err := wire.ReadFrame(r, maxFrame, buf)
	if err != nil {
		if errors.Is(err, wire.ErrFrameTooLarge) || errors.Is(err, wire.ErrFrameEmpty) {
			return nil, refuse(wire.ErrCodeProtocol, "protocol", "bad frame: %v", err)
		}
		return nil, err
	}
	m, err := codec.Decode(t, body)
	if err != nil {
		return nil, refuse(wire.ErrCodeProtocol, "protocol", "malformed %s frame: %v", t, err)
	}
	return m, nil
}

func (sess *session) serve(ctx context.Context) error {
	s := sess.srv
	sess.setReadDeadline(time.Now().Add(s.cfg.HelloTimeout))
	m, err := sess.readMessage()
	if err != nil {
		return err
	}
	sess.setReadDeadline(time.Time{})
	hello, ok := m.(*wire.Hello)
	if !ok {
		return refuse(wire.ErrCodeProtocol, "protocol", "expected hello, got %s", m.Type())
	}
	if hello.Agent != sess.cert {
		return refuse(wire.ErrCodeUnauthorized, "unauthorized", "hello names agent %q but the certificate is %q", hello.Agent, sess.cert)
	}
	a, err := s.agents.LookupAgent(ctx, hello.Agent)
	if err != nil {
		return refuse(wire.ErrCodeUnauthorized, "unauthorized", "agent %q: %v", hello.Agent, err)
	}
	if a.Revoked() {
		return refuse(wire.ErrCodeUnauthorized, "unauthorized", "agent %q is revoked", hello.Agent)
	}
	sess.agent, sess.checked = a, s.cfg.Now()
	sess.epoch, sess.proto = hello.Epoch, hello.Proto
	sess.dict = NewDictionary(s.cfg.MaxSeries)
	sess.dict.maxBytes = s.cfg.MaxSeriesBytes
	sess.buf = make([]byte, 64<<10) // reused for frames up to 64 KiB; larger ones allocate

	st := s.streamOf(a.Name)
	acked, err := sess.startStream(ctx, st, hello)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if err := s.agents.AgentSeen(ctx, a.Name, sess.remote, hello.Software, now); err != nil {
		s.log.Warn("record agent seen", "agent", a.Name, "err", err)
	}
	if err := sess.send(&wire.HelloAck{Collector: s.cfg.Name, Software: s.cfg.Software, Epoch: hello.Epoch,
		AckedSeq: acked, MaxFrame: uint32(s.cfg.MaxFrame), Hosts: a.Hosts}); err != nil {
		return err
	}
	s.log.Info("agent session started", "agent", a.Name, "remote", sess.remote, "epoch", hello.Epoch, "acked", acked,
		"first_seq", hello.FirstSeq, "last_seq", hello.LastSeq, "software", hello.Software)
	if s.metrics != nil {
		s.metrics.ActiveSessions.Inc()
		defer s.metrics.ActiveSessions.Dec()
	}
	s.sessionUp(a.Name, true)
	defer s.sessionUp(a.Name, false)
	sess.acks = make(chan pendingAck, 256)
	sess.ackerDone = make(chan struct{})
	go sess.acker(ctx, st)
	defer func() {
		// Every record written must reach the Applier, and the acks of
		// the batches before a refusal go out before its Error.
		close(sess.acks)
		<-sess.ackerDone
	}()
	for {
		t, body, err := sess.readFrame()
		if err != nil {
			return err
		}
		switch t {
		case wire.TypeSeries:
			var m wire.Series
			if err := s.codec.Unmarshal(body, &m); err != nil {
				return refuse(wire.ErrCodeProtocol, "protocol", "malformed %s frame: %v", t, err)
			}
			if err := sess.dict.Define(&m); err != nil {
				return refuse(wire.ErrCodeProtocol, "protocol", "%v", err)
			}
		case wire.TypeBatch:
			if err := sess.recheck(ctx); err != nil {
				return err
			}
			p, err := sess.batch(st, body)
			if err != nil {
				return err
			}
			select {
			case sess.acks <- p:
			case <-sess.done:
				// Still hand the record over: the acker drains after serve returns.
				sess.acks <- p
				return io.EOF
			}
		default:
			return refuse(wire.ErrCodeProtocol, "protocol", "unexpected %s message", t)
		}
	}
}

// recheck looks the agent up again every Config.Recheck: a revocation or
// a re-issued certificate ends a live session before its next batch.
func (sess *session) recheck(ctx context.Context) error {
	s := sess.srv
	now := s.cfg.Now()
	if now.Sub(sess.checked) < s.cfg.Recheck {
		return nil
	}
	a, err := s.agents.LookupAgent(ctx, sess.agent.Name)
	switch {
	case err != nil:
		return refuse(wire.ErrCodeUnauthorized, "unauthorized", "agent %q: %v", sess.agent.Name, err)
	case a.Revoked():
		return refuse(wire.ErrCodeUnauthorized, "unauthorized", "agent %q is revoked", a.Name)
	case sess.serial != "" && a.CertSerial != sess.serial:
		return refuse(wire.ErrCodeUnauthorized, "unauthorized", "agent %q has a newer certificate than this connection's", a.Name)
	}
	sess.agent, sess.checked = a, now
	return nil
}

// startStream takes over the agent's stream for this session and settles
// the epoch and declared drops; it returns the acked seq for HelloAck.
func (sess *session) startStream(ctx context.Context, st *stream, h *wire.Hello) (uint64, error) {
	s := sess.srv
	st.mu.Lock()
	defer st.mu.Unlock()
	if old := st.active; old != nil && old != sess {
		// The agent reconnected while the old connection lingers: newest wins.
		go old.close(wire.ErrCodeProtocol, "superseded by a new connection")
	}
	st.active = sess
	// Records an earlier session of this agent wrote may still be in
	// flight: make them durable so HelloAck tells the truth.
	if err := s.journal.Sync(st.lastPos); err != nil {
		return 0, refuse(wire.ErrCodeInternal, "internal", "the collector could not store batches")
	}
	acked := st.journaled
	if h.Epoch != st.epoch {
		acked = 0 // a new spool epoch starts at 0
	}
	// Batches the agent's spool no longer has and that we never stored.
	var through uint64
	switch {
	case h.FirstSeq > acked+1:
		through = h.FirstSeq - 1
	case h.FirstSeq == 0 && h.LastSeq > acked:
		through = h.LastSeq
	}
	if through-acked > maxSeqJump && through > acked {
		return 0, refuse(wire.ErrCodeProtocol, "protocol", "hello declares %d batches dropped (first seq %d, collector has %d): not a spool's numbering", through-acked, h.FirstSeq, acked)
	}
	if through > acked {
		rec := &Record{Kind: RecordGap, Agent: sess.agent.Name, Epoch: h.Epoch, Seq: through,
			Received: s.cfg.Now().UnixMilli(), Dropped: h.Dropped, Gap: through - acked}
		end, err := s.journalRecord(ctx, rec)
		if err != nil {
			return 0, err
		}
		st.lastPos = end
		s.log.Warn("agent dropped batches", "agent", sess.agent.Name, "epoch", h.Epoch, "batches", through-acked,
			"from_seq", acked+1, "to_seq", through)
		if s.metrics != nil {
			s.metrics.DroppedBatches.Add(float64(through - acked))
		}
		acked = through
	}
	if h.Epoch != st.epoch {
		st.dropped = wire.Drops{}
	}
	st.dropped = st.dropped.Max(h.Dropped)
	st.epoch, st.acked, st.journaled = h.Epoch, acked, acked
	return acked, nil
}

// journalRecord appends rec durably and hands it to the sink (gap
// records; batches go through the session's acker). The caller holds the
// agent's stream lock.
func (s *Server) journalRecord(ctx context.Context, rec *Record) (journal.Pos, error) {
	start, end, err := s.writeRecord(rec)
	if err != nil {
		return 0, err
	}
	if err := s.journal.Sync(end); err != nil {
		s.log.Error("journal sync failed", "agent", rec.Agent, "err", err)
		return 0, refuse(wire.ErrCodeInternal, "internal", "the collector could not store the batch")
	}
	if s.sink != nil {
		if err := s.sink.Enqueue(ctx, start, end, rec); err != nil {
			return 0, err
		}
	}
	return end, nil
}

// writeRecord writes rec to the journal without waiting for durability.
func (s *Server) writeRecord(rec *Record) (start, end journal.Pos, err error) {
	data, err := s.records.marshal(rec)
	if err != nil {
		return 0, 0, refuse(wire.ErrCodeInternal, "internal", "%v", err)
	}
	end, err = s.journal.Write(data)
	if err != nil {
		s.log.Error("journal write failed", "agent", rec.Agent, "err", err)
		return 0, 0, refuse(wire.ErrCodeInternal, "internal", "the collector could not store the batch")
	}
	if s.metrics != nil {
		s.metrics.JournalBytes.Add(float64(journal.RecordLen(len(data))))
	}
	return end - journal.RecordLen(len(data)), end, nil
}

// batch writes one batch to the journal (or recognizes a duplicate) and
// returns what the acker must wait for before acking.
//
// A batch is screened, not refused: strings are cleaned, and what cannot be
// used (an undecodable body, a host the agent is not assigned, samples of
// undefined series, timestamps far ahead) is left out and recorded in the
// record's Refusals. A batch that cannot be decoded at all but whose seq
// can be read becomes a RecordRejected. Either way the seq is journaled,
// so the agent's spool moves past it (Ack, and Reject for version 2
// agents) and the batch is never resent: one bad frame cannot wedge the
// agent's stream. Only a body whose seq cannot be read ends the session.
func (sess *session) batch(st *stream, body []byte) (pendingAck, error) {
	s := sess.srv
	now := s.cfg.Now()
	b, seq, decodeErr := s.codec.DecodeBatch(body)
	var removed []string
	if decodeErr == nil {
		removed, decodeErr = b.Screen()
	}
	if decodeErr != nil && seq == 0 {
		return pendingAck{}, refuse(wire.ErrCodeProtocol, "protocol", "malformed batch frame: %v", decodeErr)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if seq > st.journaled && seq-st.journaled > maxSeqJump {
		return pendingAck{}, refuse(wire.ErrCodeProtocol, "protocol", "batch seq %d after %d: not a spool's numbering", seq, st.journaled)
	}
	if st.active != sess || st.epoch != sess.epoch {
		return pendingAck{}, refuse(wire.ErrCodeProtocol, "protocol", "superseded by a newer connection of agent %s", sess.agent.Name)
	}
	if seq <= st.journaled {
		if s.metrics != nil {
			s.metrics.Duplicates.Inc()
		}
		return pendingAck{seq: st.journaled, end: st.lastPos}, nil
	}
	var rec *Record
	if decodeErr != nil {
		rec = &Record{Kind: RecordRejected, Agent: sess.agent.Name, Epoch: sess.epoch, Seq: seq, Received: now.UnixMilli(),
			Dropped: st.dropped}
		rec.Refusals = refuseIn(nil, wire.RejectFrame, UnitBatch, 1, fmt.Sprintf("batch %d: %v", seq, decodeErr))
	} else {
		cleanBatch(b)
		var err error
		rec, err = Resolve(b, sess.dict, sess.agent.Name, sess.epoch, now.UnixMilli())
		if err != nil {
			return pendingAck{}, refuse(wire.ErrCodeProtocol, "protocol", "%v", err)
		}
		if len(removed) > 0 {
			rec.Refusals = refuseIn(rec.Refusals, wire.RejectFrame, "part", uint64(len(removed)),
				fmt.Sprintf("batch %d: %s", seq, removed[0]))
		}
		screenHosts(rec, sess.agent.MayWrite, sess.agent.Name)
		screenClock(rec, now, s.cfg.MaxClockSkew)
	}
	if seq > st.journaled+1 {
		rec.Gap = seq - st.journaled - 1
	}
	start, end, err := s.writeRecord(rec)
	if err != nil {
		return pendingAck{}, err
	}
	st.journaled, st.lastPos, st.dropped = seq, end, st.dropped.Max(rec.Dropped)
	return pendingAck{seq: seq, end: end, start: start, rec: rec}, nil
}

// acker waits until the records the reader wrote are durable (one sync
// for all that queued up meanwhile), hands them to the Applier in order,
// and acks the last. It runs until the reader closes sess.acks, and
// processes everything queued even if the connection is gone, so no
// written record is left out of the Applier.
func (sess *session) acker(ctx context.Context, st *stream) {
	defer close(sess.ackerDone)
	s := sess.srv
	var batch []pendingAck
	failed := false
	for p := range sess.acks {
		batch = append(batch[:0], p)
	more:
		for len(batch) < cap(sess.acks) {
			select {
			case q, ok := <-sess.acks:
				if !ok {
					break more
				}
				batch = append(batch, q)
			default:
				break more
			}
		}
		if failed {
			continue
		}
		var end journal.Pos
		for _, q := range batch {
			end = max(end, q.end)
		}
		if err := s.journal.Sync(end); err != nil {
			// The journal is unusable: nothing more can be acked.
			failed = true
			s.log.Error("journal sync failed", "agent", sess.agent.Name, "err", err)
			s.refused("internal")
			_ = sess.send(&wire.Error{Code: wire.ErrCodeInternal, Message: "the collector could not store the batch", Fatal: true})
			go sess.close(wire.ErrCodeInternal, "journal failure")
			continue
		}
		samples := 0
		for _, q := range batch {
			if q.rec == nil {
				continue
			}
			sess.reportRejects(q)
			samples += q.rec.Samples()
			if s.sink != nil {
				if err := s.sink.Enqueue(ctx, q.start, q.end, q.rec); err != nil {
					// Shutting down: the record is durable and is applied
					// from the journal at the next start.
					s.log.Debug("apply queue closed", "agent", sess.agent.Name, "err", err)
				}
			}
			if s.metrics != nil {
				s.metrics.Batches.Inc()
			}
		}
		last := batch[len(batch)-1].seq
		st.mu.Lock()
		if st.epoch == sess.epoch && last > st.acked {
			st.acked = last
		}
		st.mu.Unlock()
		if s.metrics != nil {
			s.metrics.Samples.Add(float64(samples))
		}
		_ = sess.send(&wire.Ack{Seq: last})
	}
}

// reportRejects counts, logs (rate-limited) and, for agents of protocol
// version 2, answers the refusals of a durable record. Called by the
// acker before the Ack that covers the record.
func (sess *session) reportRejects(q pendingAck) {
	s := sess.srv
	if len(q.rec.Refusals) == 0 {
		return
	}
	now := s.cfg.Now()
	for _, r := range q.rec.Refusals {
		if s.metrics != nil {
			s.metrics.Rejected.WithLabelValues(r.Kind, r.Unit).Add(float64(r.Count))
		}
		if ok, quiet := s.rejectLog.allow(sess.agent.Name, r.Kind, now); ok {
			s.log.Warn("refused part of an agent's batch", "agent", sess.agent.Name, "seq", q.rec.Seq, "kind", r.Kind,
				"unit", r.Unit, "count", r.Count, "reason", r.Reason, "not_logged_since_last", quiet)
		}
	}
	if sess.proto < 2 {
		return // version 1 agents know no Reject; the Ack moves them past the batch
	}
	for _, rj := range q.rejects() {
		if err := sess.send(&rj); err != nil {
			return
		}
	}
}

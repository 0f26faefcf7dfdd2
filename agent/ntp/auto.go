package ntp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
)

// AutoReprobe is how long AutoTarget keeps a protocol that answers
// before it tries the better ones again (a server that opened mode 6 or
// cmdallow to the agent since).
const AutoReprobe = time.Hour

// AutoTarget finds out how a server can be watched and then watches it
// that way; it implements poll.Target. Poll must not be called
// concurrently.
//
// Discovery tries mode 6 (ntpd's control queries: the server's own
// synchronisation and its peers), then chrony's command port (the same
// from chronyd, when its cmdallow admits the agent), then plain client
// requests (mode 3: the server's offset against the agent's clock), each
// with a single attempt, and keeps the first that answers. Later polls
// use that protocol alone; discovery runs again when it fails, and after
// AutoReprobe. The "protocol" property of "ntp" says which one answered
// (and "protocol_config" says auto); when none does, "ntp" is Down with
// each protocol's reason.
type AutoTarget struct {
	em  *emitter
	now func() time.Time

	order    []autoProtocol
	current  int // index in order of the protocol in use; -1 none
	probedAt time.Time
}

type autoProtocol struct {
	name string
	a    attempter
}

// NewAutoTarget builds an AutoTarget: the three protocols' targets share
// one emitter, so the attributes stay the same whichever answers.
func NewAutoTarget(tc config.NTPTarget, opts TargetOptions) (*AutoTarget, error) {
	m6, err := NewTarget(tc, opts)
	if err != nil {
		return nil, err
	}
	ch, err := NewChronyTarget(tc, opts)
	if err != nil {
		return nil, err
	}
	sn, err := NewSNTPTarget(tc, opts)
	if err != nil {
		return nil, err
	}
	em := m6.em
	em.protocolConfig = ProtocolAuto
	ch.em, sn.em = em, em
	return &AutoTarget{
		em: em, now: m6.now, current: -1,
		order: []autoProtocol{{ProtocolMode6, m6}, {ProtocolChrony, ch}, {ProtocolSNTP, sn}},
	}, nil
}

// Name returns the configured target name.
func (t *AutoTarget) Name() string { return t.em.name }

// Interval returns the effective poll interval.
func (t *AutoTarget) Interval() time.Duration { return t.em.interval }

// Protocol returns the protocol that answered last ("" before the first
// answer, or when none answered).
func (t *AutoTarget) Protocol() string {
	if t.current < 0 {
		return ""
	}
	return t.order[t.current].name
}

// ClearKiss forgets the sntp protocol's Kiss-o'-Death codes (see
// SNTPTarget.ClearKiss).
func (t *AutoTarget) ClearKiss() {
	for _, p := range t.order {
		if s, ok := p.a.(*SNTPTarget); ok {
			s.ClearKiss()
		}
	}
}

// Poll runs one round (see AutoTarget).
func (t *AutoTarget) Poll(ctx context.Context, sink poll.Sink) error {
	var reasons []string
	if t.current >= 0 && t.now().Sub(t.probedAt) < AutoReprobe {
		p := t.order[t.current]
		r, err := p.a.attempt(ctx, false)
		if err == nil {
			sink.Report(r)
			return nil
		}
		if errors.Is(err, context.Canceled) {
			return err
		}
		reasons = append(reasons, p.name+": "+p.a.downReason(err))
	}
	// Discovery, in the order of preference.
	for i, p := range t.order {
		if ctx.Err() != nil {
			break
		}
		r, err := p.a.attempt(ctx, true)
		if err == nil {
			t.current, t.probedAt = i, t.now()
			sink.Report(r)
			return nil
		}
		if errors.Is(err, context.Canceled) {
			return err
		}
		if len(reasons) == 0 || i != t.current {
			reasons = append(reasons, p.name+": "+p.a.downReason(err))
		}
	}
	t.current = -1
	reason := "no answer by any protocol: " + joinReasons(reasons...)
	sink.Report(t.em.downReport(t.now(), reason))
	return fmt.Errorf("ntp target %s: %s", t.em.name, reason)
}

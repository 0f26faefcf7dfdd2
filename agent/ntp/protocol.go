package ntp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
)

// Protocols of an NTP target (config.NTPTarget.Protocol).
const (
	ProtocolAuto   = "auto"   // mode 6, then chrony, then sntp
	ProtocolMode6  = "mode6"  // ntpd's control queries (Target)
	ProtocolChrony = "chrony" // chronyd's command port (ChronyTarget)
	ProtocolSNTP   = "sntp"   // plain client requests (SNTPTarget)
)

// DefaultChronyPort is chronyd's command port.
const DefaultChronyPort = config.DefaultChronyPort

// New builds the poller of an NTP target for its protocol (default auto).
// It does not talk to the server.
func New(tc config.NTPTarget, opts TargetOptions) (poll.Target, error) {
	switch tc.Protocol {
	case ProtocolMode6:
		return NewTarget(tc, opts)
	case ProtocolChrony:
		return NewChronyTarget(tc, opts)
	case ProtocolSNTP:
		return NewSNTPTarget(tc, opts)
	case ProtocolAuto, "":
		return NewAutoTarget(tc, opts)
	}
	return nil, fmt.Errorf("ntp target %s: unknown protocol %q", tc.Name, tc.Protocol)
}

// attempter is a protocol's round against a server: a report when the
// server answered in that protocol, an error when it did not (and the
// reason to show for it). probe asks for a single attempt (AutoTarget's
// discovery).
type attempter interface {
	attempt(ctx context.Context, probe bool) (poll.Report, error)
	downReason(err error) string
}

// pollWith is the Poll of a target with one protocol: the report of an
// answer, or "ntp" Down with the reason.
func pollWith(ctx context.Context, a attempter, em *emitter, now func() time.Time, sink poll.Sink) error {
	r, err := a.attempt(ctx, false)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err // the scheduler is shutting down: report nothing
		}
		sink.Report(em.downReport(now(), a.downReason(err)))
		return fmt.Errorf("ntp target %s: %w", em.name, err)
	}
	sink.Report(r)
	return nil
}

// targetBase is what every protocol's target builds from the configuration.
func targetBase(tc config.NTPTarget, opts TargetOptions) (*emitter, func() time.Time, error) {
	if tc.Name == "" || tc.Address == "" {
		return nil, nil, fmt.Errorf("ntp target: name and address are required")
	}
	for _, p := range []int{tc.Port, tc.ChronyPort} {
		if p < 0 || p > 65535 {
			return nil, nil, fmt.Errorf("ntp target %s: port %d out of range", tc.Name, p)
		}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	em := &emitter{name: tc.Name, address: tc.Address,
		interval: tc.Interval.Or(DefaultInterval), threshold: tc.OffsetThreshold.Or(DefaultOffsetThreshold)}
	return em, now, nil
}

// hostPort joins the target's address with port, or def when port is 0.
func hostPort(address string, port, def int) string {
	if port == 0 {
		port = def
	}
	return net.JoinHostPort(address, strconv.Itoa(port))
}

// retries converts the configuration's retry count (nil: default; 0: a
// single attempt) to the clients' convention (negative: single attempt).
func retries(r *int, def int) int {
	if r == nil {
		return def
	}
	if *r == 0 {
		return -1
	}
	return *r
}

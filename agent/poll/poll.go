// Package poll is the contract between the agent's pollers (SNMP, NTP), the
// scheduler that runs them, and the sink that turns their results into
// spooled batches.
//
// A Target knows one device or server and how to poll it; it knows nothing
// of scheduling, spooling or the network to the collector. The scheduler
// calls Poll on each target at its interval; Poll reports through a Sink.
package poll

import (
	"context"
	"time"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Target is one polled device or server.
type Target interface {
	// Name is the host's configured name (its identity at the collector).
	Name() string
	// Interval is how often Poll runs.
	Interval() time.Duration
	// Poll does one round: discovery when due, then the measurements. It
	// reports everything through sink before it returns, honours ctx's
	// deadline (the scheduler sets one per poll), and returns an error
	// only for logging: an unreachable device is still reported through
	// sink (host attribute Down), not only as an error.
	Poll(ctx context.Context, sink Sink) error
}

// Sink receives what targets measure. Implementations must not block on the
// uplink: polling never waits for the collector.
type Sink interface {
	// Report hands over the results of one poll of one target. All points
	// of one attribute in one call share one time and end up in one batch.
	Report(r Report)
}

// Report is the result of one poll of one target.
type Report struct {
	Host     string
	Points   []sample.Point
	Statuses []wire.AttrStatus
	// Inventory is set when the poll (re)discovered the host.
	Inventory *wire.Host
	// Devices are the host's hardware entities and neighbours, set with
	// Inventory when the discovery read any (agent/snmp).
	Devices *wire.DeviceFacts
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Report)

// Report calls f(r).
func (f SinkFunc) Report(r Report) { f(r) }

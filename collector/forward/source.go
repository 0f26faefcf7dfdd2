package forward

import (
	"context"

	"github.com/outpost-nms/outpost/collector/journal"
)

// Source yields journal records in order, starting at the position it was
// opened at. Next blocks until a record is durable or ctx ends (and may
// be called again after ctx's error). The returned Data stays valid until
// the next call. journal.Tailer (Journal.Tail) is the one the collector
// uses.
type Source interface {
	Next(ctx context.Context) (journal.Entry, error)
}

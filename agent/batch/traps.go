package batch

import (
	"fmt"

	"github.com/outpost-nms/outpost/shared/wire"
)

// ReportTraps writes traps to the spool before it returns, in the batch
// being cut now (with any samples pending), and returns the spool's error.
// On nil the traps are in the spool (written; durable against kill -9, and
// against power loss after the spool's next fsync, or at once if the
// caller then calls the spool's Sync), so an inform may be acknowledged.
// On an error none of them was spooled.
//
// The traps must be clean already (agent/trap builds them through
// shared/safetext and within wire's trap bounds); ReportTraps checks them
// with Validate and refuses the call if one is out of bounds, so a bad trap
// cannot make the batch undeliverable.
func (b *Batcher) ReportTraps(traps []wire.Trap) error {
	if len(traps) == 0 {
		return nil
	}
	size := 0
	for i := range traps {
		if err := traps[i].Validate(); err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		size += trapSize(&traps[i])
	}
	// Holding cutMu while the traps join the pending set means no other
	// cut can take them: the cut below writes them, and its error is theirs.
	b.cutMu.Lock()
	defer b.cutMu.Unlock()
	b.mu.Lock()
	over := b.pendingLocked() && (b.size+size > b.opt.MaxBytes)
	b.mu.Unlock()
	if over {
		_ = b.flushLocked() // what is pending alone; its error is not the traps'
	}
	b.mu.Lock()
	b.traps = append(b.traps, traps...)
	b.size += size
	b.mu.Unlock()
	return b.flushLocked()
}

// trapSize estimates a trap's encoded size.
func trapSize(t *wire.Trap) int {
	n := 48 + len(t.Host) + len(t.Source) + len(t.From) + len(t.OID) + len(t.User) + len(t.Enterprise)
	for i := range t.VarBinds {
		n += 8 + len(t.VarBinds[i].OID) + len(t.VarBinds[i].Value)
	}
	return n
}

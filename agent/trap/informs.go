package trap

import (
	"sync"
	"time"
)

// An inform's sender retransmits until it is answered, so a lost answer
// brings the same inform again. informCache remembers recent informs by
// key (source, request ID, content): a copy of one still queued is
// dropped (the first copy's answer will go out), a copy of one stored is
// answered again and not stored twice.
type informCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	m     map[uint64]informEntry
	order []uint64 // insertion order, for eviction
}

type informEntry struct {
	stored bool
	at     time.Time
}

type informState int

const (
	informNew informState = iota
	informQueued
	informStored
)

func newInformCache(max int) *informCache {
	return &informCache{max: max, ttl: 10 * time.Minute, m: map[uint64]informEntry{}}
}

func (c *informCache) state(key uint64, now time.Time) informState {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	switch {
	case !ok || now.Sub(e.at) > c.ttl:
		return informNew
	case e.stored:
		return informStored
	}
	return informQueued
}

func (c *informCache) queued(key uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok {
		c.order = append(c.order, key)
	}
	c.m[key] = informEntry{at: now}
	for len(c.m) > c.max && len(c.order) > 0 {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	if len(c.order) > 2*c.max { // keys forgotten meanwhile
		kept := c.order[:0]
		for _, k := range c.order {
			if _, ok := c.m[k]; ok {
				kept = append(kept, k)
			}
		}
		c.order = kept
	}
}

func (c *informCache) stored(key uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		e.stored = true
		c.m[key] = e
	}
}

func (c *informCache) forget(key uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

package trap

import (
	"net/netip"
	"time"
)

// maxSources bounds the per-source state (rate buckets, refusal log
// times): a storm from spoofed addresses cannot grow it further.
const maxSources = 4096

// buckets is a token bucket per source address. Not safe for concurrent
// use (the reading goroutine owns it).
type buckets struct {
	rate  float64 // tokens per second
	burst float64
	m     map[netip.Addr]*bucket
	// overflow is shared by new sources while the table is full of
	// sources that are all active.
	overflow bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newBuckets(rate float64, burst int) *buckets {
	return &buckets{rate: rate, burst: float64(burst), m: map[netip.Addr]*bucket{}}
}

// allow takes a token from src's bucket.
func (bs *buckets) allow(src netip.Addr, now time.Time) bool {
	b := bs.m[src]
	if b == nil {
		if len(bs.m) >= maxSources {
			bs.prune(now)
		}
		if len(bs.m) >= maxSources {
			return bs.overflow.take(bs.rate, bs.burst, now)
		}
		b = &bucket{tokens: bs.burst, last: now}
		bs.m[src] = b
	}
	return b.take(bs.rate, bs.burst, now)
}

func (b *bucket) take(rate, burst float64, now time.Time) bool {
	if b.last.IsZero() {
		b.tokens, b.last = burst, now
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens += dt * rate
		if b.tokens > burst {
			b.tokens = burst
		}
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune forgets sources whose bucket has refilled: they are as new.
func (bs *buckets) prune(now time.Time) {
	for a, b := range bs.m {
		if b.tokens+now.Sub(b.last).Seconds()*bs.rate >= bs.burst {
			delete(bs.m, a)
		}
	}
}

// onceAMinute says whether something about src may be logged now: at
// most once per source per minute, with a bounded table.
type onceAMinute struct {
	m map[netip.Addr]time.Time
}

func (o *onceAMinute) allow(src netip.Addr, now time.Time) bool {
	if o.m == nil {
		o.m = map[netip.Addr]time.Time{}
	}
	if last, ok := o.m[src]; ok && now.Sub(last) < time.Minute {
		return false
	}
	if len(o.m) >= maxSources {
		for a, t := range o.m {
			if now.Sub(t) >= time.Minute {
				delete(o.m, a)
			}
		}
		if len(o.m) >= maxSources {
			return false
		}
	}
	o.m[src] = now
	return true
}

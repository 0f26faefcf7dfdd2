package rrd

import (
	"math"
	"time"
)

// LayoutTier is one resolution of DefaultLayout: rows of Resolution each,
// kept for Span.
type LayoutTier struct {
	Resolution time.Duration
	Span       time.Duration
}

// DefaultTiers are the resolutions DefaultLayout keeps:
//
//	resolution  span       rows at a 1-min step   rows at a 5-min step
//	1 step      2 days     2880 (1 step)          576 (1 step)
//	5 min       2 weeks    4032 (5 steps)         (same as the first tier)
//	30 min      2 months   2976 (30 steps)        2976 (6 steps)
//	2 h         8 months   2928 (120 steps)       2928 (24 steps)
//	1 day       2 years    732 (1440 steps)       732 (288 steps)
//
// Months are 31 days, years 366, so the spans are never short.
func DefaultTiers() []LayoutTier {
	day := 24 * time.Hour
	return []LayoutTier{
		{0, 2 * day},
		{5 * time.Minute, 14 * day},
		{30 * time.Minute, 62 * day},
		{2 * time.Hour, 244 * day},
		{day, 732 * day},
	}
}

// DefaultLayout returns the archives of an attribute polled every step:
// for each tier of DefaultTiers, an AVERAGE and a MAX archive (xff 0.5)
// whose row is the tier's resolution rounded to whole steps, with enough
// rows for the tier's span. The first tier (one step per row) has only
// AVERAGE: the MAX of one primary point is the point itself, and fetch MAX
// answers from one-step AVERAGE archives (rrdtool's rule). Tiers whose
// rounded resolution is not coarser than the previous one are skipped. A
// step under one second counts as one second.
func DefaultLayout(step time.Duration) []RRA {
	s := int64(step / time.Second)
	if s < 1 {
		s = 1
	}
	var out []RRA
	prev := int64(0)
	for i, t := range DefaultTiers() {
		steps := int64(1)
		if t.Resolution > 0 {
			steps = int64(math.Round(float64(t.Resolution/time.Second) / float64(s)))
			if steps < 1 {
				steps = 1
			}
		}
		if steps <= prev {
			continue
		}
		prev = steps
		span := int64(t.Span / time.Second)
		rows := (span + steps*s - 1) / (steps * s)
		out = append(out, RRA{CF: Average, XFF: 0.5, Steps: int(steps), Rows: int(rows)})
		if i > 0 || steps > 1 {
			out = append(out, RRA{CF: Max, XFF: 0.5, Steps: int(steps), Rows: int(rows)})
		}
	}
	return out
}

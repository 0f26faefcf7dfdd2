package rrd

import (
	"math"
	"sort"
)

// Percentile returns the p-th percentile (0..100) of values the way
// rrdtool's VDEF PERCENTNAN does: unknown (NaN) values are dropped, the
// rest sorted ascending, and the value at index round(p/100 * (n-1)) (C
// round: halves away from zero) is returned; that is, a nearest-rank
// percentile on the known values, always one of the values. It returns NaN
// when no value is known. values is not modified.
func Percentile(values []float64, p float64) float64 {
	known := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			known = append(known, v)
		}
	}
	if len(known) == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	sort.Float64s(known)
	i := int(math.Round(p * float64(len(known)-1) / 100))
	i = max(0, min(i, len(known)-1))
	return known[i]
}

// BitsPerSecond converts a rate in octets per second (an interface
// counter's rate) to bits per second.
func BitsPerSecond(octetsPerSecond float64) float64 { return octetsPerSecond * 8 }

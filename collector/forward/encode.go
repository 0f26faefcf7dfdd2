package forward

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Remote write 1.0 (prometheus.WriteRequest), encoded by hand with
// protowire: a few dozen lines instead of the prompb package and its
// dependency graph.
//
//	message WriteRequest { repeated TimeSeries timeseries = 1; }
//	message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	message Label        { string name = 1; string value = 2; }
//	message Sample       { double value = 1; int64 timestamp = 2; }

// Point is one sample: a value at a time in Unix milliseconds.
type Point struct {
	T int64
	V float64
}

// pending is one series' samples in a request.
type pending struct {
	s   *Series
	pts []Point
}

// appendWriteRequest appends the protobuf encoding of a WriteRequest
// holding series to b.
func appendWriteRequest(b []byte, series []*pending) []byte {
	for _, p := range series {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(timeSeriesSize(p)))
		b = append(b, p.s.enc...)
		for _, pt := range p.pts {
			b = protowire.AppendTag(b, 2, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(sampleSize(pt)))
			b = protowire.AppendTag(b, 1, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(pt.V))
			if pt.T != 0 {
				b = protowire.AppendTag(b, 2, protowire.VarintType)
				b = protowire.AppendVarint(b, uint64(pt.T))
			}
		}
	}
	return b
}

// encodeLabels returns the TimeSeries label fields of ls, computed once
// per series.
func encodeLabels(ls []Label) []byte {
	var b []byte
	for _, l := range ls {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(labelSize(l)))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, l.Name)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, l.Value)
	}
	return b
}

func labelSize(l Label) int {
	return 1 + protowire.SizeBytes(len(l.Name)) + 1 + protowire.SizeBytes(len(l.Value))
}

func sampleSize(pt Point) int {
	n := 1 + 8
	if pt.T != 0 {
		n += 1 + protowire.SizeVarint(uint64(pt.T))
	}
	return n
}

func timeSeriesSize(p *pending) int {
	n := len(p.s.enc)
	for _, pt := range p.pts {
		n += 1 + protowire.SizeBytes(sampleSize(pt))
	}
	return n
}

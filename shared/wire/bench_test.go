package wire

import (
	"math/rand/v2"
	"testing"
)

// typicalBatch is one poll of 1,000 interfaces x 12 counters (series ids
// 0..11999) with realistic magnitudes: 64-bit octet counters of 1e11-1e13,
// unicast packets of 1e7-1e10, multicast and broadcast of 1e4-1e8, errors
// and discards of 0-1000.
func typicalBatch() *Batch {
	r := rand.New(rand.NewPCG(1, 2))
	between := func(lo, hi float64) uint64 { return uint64(lo + r.Float64()*(hi-lo)) }
	ints := make([]uint64, 0, 2*12000)
	for i := 0; i < 1000; i++ {
		vals := [12]uint64{
			between(1e11, 1e13), between(1e11, 1e13), // in/out octets
			between(1e7, 1e10), between(1e7, 1e10), // in/out unicast
			between(1e4, 1e8), between(1e4, 1e8), // in/out multicast
			between(1e4, 1e8), between(1e4, 1e8), // in/out broadcast
			between(0, 1000), between(0, 1000), // in/out errors
			between(0, 1000), between(0, 1000), // in/out discards
		}
		for j, v := range vals {
			ints = append(ints, uint64(i*12+j), v)
		}
	}
	return &Batch{Seq: 123456, Groups: []Group{{Time: 1764131700123, Ints: ints}}}
}

// BenchmarkBatchEncode encodes the typical batch into a reused frame buffer.
func BenchmarkBatchEncode(b *testing.B) {
	c := newCodec(b)
	batch := typicalBatch()
	n := batch.Samples()
	frame, err := c.AppendFrame(nil, batch)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	for b.Loop() {
		frame, err = c.AppendFrame(frame[:0], batch)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(frame))/float64(n), "bytes/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
}

// BenchmarkBatchDecode reads the typical batch's frame and decodes it into
// a new Batch (as the collector does), validation included.
func BenchmarkBatchDecode(b *testing.B) {
	c := newCodec(b)
	batch := typicalBatch()
	n := batch.Samples()
	frame, err := c.AppendFrame(nil, batch)
	if err != nil {
		b.Fatal(err)
	}
	body := frame[headerLen:]
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	for b.Loop() {
		var m Batch
		if err := c.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
		if m.Samples() != n {
			b.Fatal("lost samples")
		}
	}
	b.ReportMetric(float64(len(frame))/float64(n), "bytes/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
}

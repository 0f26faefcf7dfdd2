package journal

import (
	"testing"
)

// BenchmarkAppendParallel measures durable appends of 4 KiB records from
// many goroutines: group commit lets them share fsyncs. Reported: records/s
// and records per fsync.
func BenchmarkAppendParallel(b *testing.B) {
	j, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	rec := make([]byte, 4096)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := j.Append(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	s := j.Stats()
	b.ReportMetric(float64(s.Appends)/b.Elapsed().Seconds(), "records/s")
	if s.Syncs > 0 {
		b.ReportMetric(float64(s.Appends)/float64(s.Syncs), "records/fsync")
	}
}

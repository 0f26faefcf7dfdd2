package wal

import (
	"context"
	"testing"
)

// fillLog writes n records of size bytes and syncs them.
func fillLog(b *testing.B, n, size int) *Log {
	b.Helper()
	l, err := OpenLog(b.TempDir(), LogOptions{Format: journalFormat, Suffix: ".wal", SegmentBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	data := make([]byte, size)
	var end Pos
	for i := 0; i < n; i++ {
		if end, err = l.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(end); err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkTail: a Tailer reading durable 4 KiB records (a journal record
// of a batch is a few KiB), the forwarder's read path.
func BenchmarkTail(b *testing.B) {
	const n, size = 20000, 4096
	l := fillLog(b, n, size)
	b.SetBytes(n * size)
	b.ResetTimer()
	for b.Loop() {
		tl := l.Tail(0)
		for i := 0; i < n; i++ {
			if _, err := tl.Next(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		tl.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReplay: the same records through Replay (a restart's read path).
func BenchmarkReplay(b *testing.B) {
	const n, size = 20000, 4096
	l := fillLog(b, n, size)
	b.SetBytes(n * size)
	b.ResetTimer()
	for b.Loop() {
		if err := l.Replay(0, func(Entry) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

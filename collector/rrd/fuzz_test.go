package rrd

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzReadFile feeds hostile archives to every reader and to an update:
// errors are fine, panics and huge allocations are not. The seed corpus is
// real files (rrdtool's and Outpost's) and truncations of them.
func FuzzReadFile(f *testing.F) {
	for _, name := range []string{"worked_rrdtool.rrd", "dcounter0005.rrd", "hw0004.rrd"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:statHeadSize])
	}
	dir := f.TempDir()
	p := filepath.Join(dir, "own.rrd")
	if err := Create(p, counterSpec(crashStart)); err != nil {
		f.Fatal(err)
	}
	if err := UpdateFile(p, stream(crashStart, 30)); err != nil {
		f.Fatal(err)
	}
	own, _ := os.ReadFile(p)
	f.Add(own)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.rrd")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// The Cache's partial read must refuse or accept without panic,
		// and agree with the full read on what it returns.
		head, herr := peekHeader(p)
		in, err := ReadInfo(p)
		if err != nil {
			return
		}
		if herr != nil {
			t.Fatalf("peekHeader refused what ReadInfo read: %v", herr)
		}
		if head.lastUp != in.LastUpdate.Unix() || len(head.ds) != len(in.DS) {
			t.Fatalf("peekHeader: last update %d, %d DS; ReadInfo: %v, %d DS", head.lastUp, len(head.ds), in.LastUpdate, len(in.DS))
		}
		end := in.LastUpdate.Add(time.Hour)
		for _, cf := range []string{Average, Min, Max, Last} {
			Fetch(p, cf, end.Add(-48*time.Hour), end, 0)
		}
		for i := range in.RRA {
			First(p, i)
		}
		vals := make([]Value, len(in.DS))
		for i := range vals {
			vals[i] = Uint(uint64(i) * 1000)
		}
		updateFile(p, []Update{{Time: in.LastUpdate.Add(90 * time.Second), Values: vals}}, false)
		ReadInfo(p)
	})
}

// FuzzJournal feeds hostile journals to recovery: a journal that does not
// decode is discarded and the archive left as it was.
func FuzzJournal(f *testing.F) {
	f.Add(encodeJournal([]extent{{off: 0, data: []byte("RRD")}, {off: 100, data: make([]byte, 16)}}))
	f.Add([]byte(statePending + journalMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		exts, _, ok := decodeJournal(data, 1424)
		if !ok {
			return
		}
		for _, e := range exts {
			if e.off < 0 || e.off+int64(len(e.data)) > 1424 {
				t.Fatalf("extent %d+%d outside the file", e.off, len(e.data))
			}
		}
	})
}

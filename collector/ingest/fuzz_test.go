package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/outpost-nms/outpost/shared/wire"
)

// FuzzIngestFrame drives the collector's decoder path with arbitrary
// bytes: frame reader (size cap) → limited CBOR decode → validation →
// series dictionary → resolution of a batch into a journal record → the
// record's own encode/decode. Nothing may panic, and what resolves must be
// self-consistent.
func FuzzIngestFrame(f *testing.F) {
	codec, err := wire.NewCodec()
	if err != nil {
		f.Fatal(err)
	}
	frame := func(m wire.Message) []byte {
		b, err := codec.AppendFrame(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	var session []byte
	session = append(session, frame(&wire.Hello{Agent: "edge", Proto: wire.ProtocolVersion, Epoch: 7, FirstSeq: 1, LastSeq: 2})...)
	session = append(session, frame(testSeries("r1"))...)
	session = append(session, frame(testBatch(1, 1_800_000_000, true, "r1", 60))...)
	f.Add(session)
	f.Add(frame(testBatch(2, 1_800_000_060, false, "r1", 60)))
	reset := testBatch(3, 1_800_000_120, false, "r1", 60)
	reset.Groups[0].Resets = []uint32{1, 3, 9}
	f.Add(append(frame(testSeries("r1")), frame(reset)...))
	f.Add(binary.BigEndian.AppendUint32(nil, 100<<20))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 6), byte(wire.TypeBatch), 0x9f, 0x5a, 0xff, 0xff, 0xff))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 1), byte(wire.TypeSeries)))

	rc, err := newRecordCodec()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		dict := NewDictionary(1024)
		for {
			m, err := readMessage(r, codec, 1<<20, nil)
			if err != nil {
				var ref *refusal
				if !errors.As(err, &ref) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			switch m := m.(type) {
			case *wire.Series:
				if err := dict.Define(m); err != nil && !errors.Is(err, ErrDictionaryFull) {
					t.Fatal(err)
				}
			case *wire.Batch:
				rec, err := Resolve(m, dict, "edge", 7, 0)
				if err != nil {
					if !errors.Is(err, ErrUnknownSeries) {
						t.Fatalf("resolve of a validated batch: %v", err)
					}
					continue
				}
				if rec.Samples() < m.Samples() {
					t.Fatalf("resolved %d values from %d samples", rec.Samples(), m.Samples())
				}
				rec.HostNames()
				b, err := rc.marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				back, err := rc.unmarshal(b)
				if err != nil {
					t.Fatalf("journal record does not decode: %v", err)
				}
				if back.Samples() != rec.Samples() || back.Seq != rec.Seq {
					t.Fatalf("record round trip changed it")
				}
			}
		}
	})
}

package wire_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// An agent defines its series, then sends a batch; the collector reads
// frames with a size limit and decodes each with the limited codec.
func Example() {
	codec, err := wire.NewCodec()
	if err != nil {
		log.Fatal(err)
	}
	var conn bytes.Buffer // stands for the QUIC stream

	// Agent side.
	series := &wire.Series{First: 0, Defs: []wire.SeriesDef{
		{Host: "core-sw1", Attr: "if:ge-0/0/1", DS: "in_octets", Kind: sample.Counter64},
		{Host: "core-sw1", Attr: "host", DS: "rtt", Kind: sample.Gauge},
	}}
	batch := &wire.Batch{Seq: 1, Groups: []wire.Group{{
		Time:     1764131700000,
		Ints:     []uint64{0, 123456789012}, // series 0 = 123456789012
		FloatIDs: []uint32{1},
		Floats:   []float64{0.0021}, // series 1 = 2.1 ms
	}}}
	var out []byte
	for _, m := range []wire.Message{series, batch} {
		if out, err = codec.AppendFrame(out, m); err != nil {
			log.Fatal(err)
		}
	}
	conn.Write(out)

	// Collector side.
	buf := make([]byte, 0, 64<<10)
	for conn.Len() > 0 {
		typ, body, err := wire.ReadFrame(&conn, wire.DefaultMaxFrame, buf)
		if err != nil {
			log.Fatal(err)
		}
		m, err := codec.Decode(typ, body)
		if err != nil {
			log.Fatal(err)
		}
		switch m := m.(type) {
		case *wire.Series:
			fmt.Printf("%s: %d definitions from %d\n", typ, len(m.Defs), m.First)
		case *wire.Batch:
			fmt.Printf("%s %d: %d samples\n", typ, m.Seq, m.Samples())
		}
	}
	fmt.Printf("%d bytes on the wire\n", len(out))
	// Output:
	// series: 2 definitions from 0
	// batch 1: 2 samples
	// 110 bytes on the wire
}

// ReadFrame refuses a frame larger than the limit before reading its body.
func ExampleReadFrame() {
	hostile := bytes.NewReader([]byte{0x40, 0, 0, 0, byte(wire.TypeBatch)}) // announces 1 GiB
	_, _, err := wire.ReadFrame(hostile, wire.DefaultMaxFrame, nil)
	fmt.Println(err)
	// Output: frame larger than the limit: 1073741824 bytes announced, limit 4194304
}

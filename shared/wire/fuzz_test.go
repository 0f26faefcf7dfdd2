package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadFrame reads frames from arbitrary bytes and decodes each body as
// the type its frame names. It must never panic, never return a body longer
// than the limit, and every message that decodes must re-encode to a frame
// that decodes to the same encoding.
func FuzzReadFrame(f *testing.F) {
	var all []byte
	for _, frame := range goldenFrames(f) {
		f.Add(frame)
		all = append(all, frame...)
	}
	f.Add(all)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 4})
	c := newCodec(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			typ, body, err := ReadFrame(r, 1<<16, nil)
			if err != nil {
				if errors.Is(err, io.EOF) && r.Len() != 0 {
					t.Fatalf("EOF with %d bytes left", r.Len())
				}
				return
			}
			if len(body)+1 > 1<<16 {
				t.Fatalf("body of %d bytes over the limit", len(body))
			}
			m, err := c.Decode(typ, body)
			if err != nil {
				continue
			}
			checkReencode(t, c, m)
		}
	})
}

// checkReencode encodes m, decodes the result and encodes again: both
// encodings must be equal, and the decode must succeed.
func checkReencode(t *testing.T, c *Codec, m Message) {
	t.Helper()
	frame, err := c.AppendFrame(nil, m)
	if err != nil {
		t.Fatalf("decoded %s does not re-encode: %v", m.Type(), err)
	}
	typ, body, err := ReadFrame(bytes.NewReader(frame), HardMaxFrame, nil)
	if err != nil || typ != m.Type() {
		t.Fatalf("re-encoded frame does not read: %v", err)
	}
	m2, err := c.Decode(typ, body)
	if err != nil {
		t.Fatalf("re-encoded %s does not decode: %v", typ, err)
	}
	again, err := c.Marshal(m2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, body) {
		t.Fatalf("%s: re-encoding is not stable:\n%x\n%x", typ, body, again)
	}
}

func fuzzMessage(f *testing.F, golden string, t Type) {
	frame := goldenFrames(f)[golden]
	f.Add(frame[5:])
	for _, other := range goldenFrames(f) {
		f.Add(other[5:])
	}
	f.Add([]byte{0x80})
	c := newCodec(f)
	f.Fuzz(func(tt *testing.T, body []byte) {
		m, err := c.Decode(t, body)
		if err != nil {
			return
		}
		if m.Type() != t {
			tt.Fatalf("decoded a %s as %s", m.Type(), t)
		}
		checkReencode(tt, c, m)
	})
}

// The message fuzzers feed arbitrary bodies to one decoder each, seeded
// with the golden frames' bodies (testdata/*.hex).

func FuzzDecodeHello(f *testing.F)    { fuzzMessage(f, "hello", TypeHello) }
func FuzzDecodeHelloAck(f *testing.F) { fuzzMessage(f, "hello-ack", TypeHelloAck) }
func FuzzDecodeSeries(f *testing.F)   { fuzzMessage(f, "series", TypeSeries) }
func FuzzDecodeBatch(f *testing.F)    { fuzzMessage(f, "batch", TypeBatch) }
func FuzzDecodeAck(f *testing.F)      { fuzzMessage(f, "ack", TypeAck) }
func FuzzDecodeError(f *testing.F)    { fuzzMessage(f, "error", TypeError) }

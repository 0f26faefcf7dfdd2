package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// endless is a reader that never runs out of bytes.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xAA
	}
	return len(p), nil
}

func header(n uint32, t Type) []byte {
	return append(binary.BigEndian.AppendUint32(nil, n), byte(t))
}

func TestReadFrame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		max     int
		wantT   Type
		want    string // body
		wantErr error
		errText string
	}{
		{name: "one frame", in: append(header(4, TypeAck), 0x81, 0x18, 0x62), max: 64, wantT: TypeAck, want: "\x81\x18\x62"},
		{name: "type only", in: header(1, TypeAck)[:5], max: 64, wantT: TypeAck, want: ""},
		{name: "at the limit", in: append(header(8, TypeError), "1234567"...), max: 8, wantT: TypeError, want: "1234567"},
		{name: "over the limit", in: append(header(9, TypeError), "12345678"...), max: 8, wantErr: ErrFrameTooLarge,
			errText: "frame larger than the limit: 9 bytes announced, limit 8"},
		{name: "over the hard limit", in: header(HardMaxFrame+1, TypeBatch), max: 1 << 30, wantErr: ErrFrameTooLarge},
		{name: "max 0 means hard limit", in: header(HardMaxFrame+1, TypeBatch), max: 0, wantErr: ErrFrameTooLarge},
		{name: "empty frame", in: header(0, 0)[:4], max: 64, wantErr: ErrFrameEmpty},
		{name: "clean EOF", in: nil, max: 64, wantErr: io.EOF},
		{name: "truncated header", in: []byte{0, 0}, max: 64, wantErr: io.ErrUnexpectedEOF},
		{name: "header only", in: header(10, TypeBatch)[:4], max: 64, wantErr: io.ErrUnexpectedEOF, errText: "read frame body: unexpected EOF"},
		{name: "truncated body", in: append(header(10, TypeBatch), 1, 2), max: 64, wantErr: io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, body, err := ReadFrame(bytes.NewReader(tc.in), tc.max, nil)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.errText != "" && err.Error() != tc.errText {
					t.Errorf("err text %q, want %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if typ != tc.wantT || string(body) != tc.want {
				t.Errorf("got %s %q, want %s %q", typ, body, tc.wantT, tc.want)
			}
		})
	}
}

// TestReadFrameHugeAnnouncement: a header announcing 1 GiB is refused
// before anything is allocated, even from a reader that would supply it.
func TestReadFrameHugeAnnouncement(t *testing.T) {
	r := io.MultiReader(bytes.NewReader(header(1<<30, TypeBatch)[:4]), endless{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, max := range []int{DefaultMaxFrame, HardMaxFrame, 0, 1 << 31} {
		if _, _, err := ReadFrame(r, max, nil); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("max %d: err = %v", max, err)
		}
		r = io.MultiReader(bytes.NewReader(header(1<<30, TypeBatch)[:4]), endless{})
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("allocated %d bytes refusing oversized frames", grew)
	}
}

func TestReadFrameSequenceAndReuse(t *testing.T) {
	c := newCodec(t)
	var stream []byte
	var err error
	for _, g := range goldenMessages() {
		if stream, err = c.AppendFrame(stream, g.msg); err != nil {
			t.Fatal(err)
		}
	}
	r := bytes.NewReader(stream)
	buf := make([]byte, 0, 64<<10)
	var types []string
	for {
		typ, body, err := ReadFrame(r, DefaultMaxFrame, buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if &body[:1][0] != &buf[:2][1] {
			t.Errorf("%s: body does not reuse buf", typ)
		}
		if _, err := c.Decode(typ, body); err != nil {
			t.Fatal(err)
		}
		types = append(types, typ.String())
	}
	if got := strings.Join(types, ","); got != "hello,hello-ack,series,batch,ack,error,hello,reject,reject,batch" {
		t.Errorf("frames %s", got)
	}
	// A small buf is replaced, not overrun.
	small := make([]byte, 2)
	_, body, err := ReadFrame(bytes.NewReader(stream), DefaultMaxFrame, small)
	if err != nil || len(body) == 0 || small[0] != 0 {
		t.Errorf("small buf: %v", err)
	}
}

func TestWriteFrame(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFrame(&b, TypeAck, []byte{0x81, 0x01}); err != nil {
		t.Fatal(err)
	}
	if got := b.Bytes(); !bytes.Equal(got, []byte{0, 0, 0, 3, 5, 0x81, 0x01}) {
		t.Errorf("frame % x", got)
	}
	if err := WriteFrame(&b, TypeBatch, make([]byte, HardMaxFrame)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized body: %v", err)
	}
	c := newCodec(t)
	huge := &Series{Defs: make([]SeriesDef, 0, 1)}
	huge.Defs = append(huge.Defs, SeriesDef{Host: strings.Repeat("h", HardMaxFrame), Attr: "a", DS: "d"})
	if _, err := c.AppendFrame(nil, huge); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("AppendFrame oversized: %v", err)
	}
}

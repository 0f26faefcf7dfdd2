package ntp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// capture reads a datagram recorded from ntpsec 1.2.2 (testdata/*.bin).
func capture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePacketCaptures(t *testing.T) {
	cases := []struct {
		file               string
		op                 uint8
		seq, status, assoc uint16
		offset, count      int
		more, isErr        bool
	}{
		{"readstat-0.bin", OpReadStat, 101, 0xc516, 0, 0, 8, false, false},
		{"readvar-sys-0.bin", OpReadVar, 102, 0xc516, 0, 0, 358, false, false},
		{"readvar-17768-0.bin", OpReadVar, 103, 0x801b, 17768, 0, 468, true, false},
		{"readvar-17768-1.bin", OpReadVar, 103, 0x801b, 17768, 468, 249, false, false},
		{"err-unknownvar-0.bin", OpReadVar, 105, 0x0500, 0, 468, 0, false, true},
		{"err-unknownassoc-0.bin", OpReadVar, 106, 0x0400, 999, 468, 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b := capture(t, c.file)
			p, err := ParsePacket(b)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Response || p.Version != 2 || p.Opcode != c.op || p.Sequence != c.seq || p.Status != c.status ||
				p.AssocID != c.assoc || int(p.Offset) != c.offset || len(p.Data) != c.count || p.More != c.more || p.Error != c.isErr {
				t.Errorf("parsed %+v", p)
			}
			// Re-encoding gives the same datagram, but for the padding
			// (ntpd pads with whatever was in its buffer).
			n := HeaderLen + len(p.Data)
			if again := p.Append(nil); len(again) != len(b) || !bytes.Equal(again[:n], b[:n]) {
				t.Errorf("re-encoded %d bytes differ from the %d captured", len(again), len(b))
			}
		})
	}
}

func TestParsePacketRejects(t *testing.T) {
	good := capture(t, "readvar-17768-0.bin")
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short header", good[:11], ErrTruncated},
		{"count past end", good[:100], ErrTruncated},
		{"count over 468", mutate(func(b []byte) []byte { b[10], b[11] = 0x01, 0xd5; return append(b, 0, 0, 0, 0) }), ErrOversized},
		{"datagram too long", append(append([]byte(nil), good...), make([]byte, 200)...), ErrOversized},
		{"mode 3", mutate(func(b []byte) []byte { b[0] = 0x23; return b }), ErrNotMode6},
	}
	for _, c := range cases {
		if _, err := ParsePacket(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
}

func TestAppendPads(t *testing.T) {
	for n := 0; n < 9; n++ {
		b := Packet{Opcode: OpReadVar, Data: bytes.Repeat([]byte("a"), n)}.Append(nil)
		if len(b)%4 != 0 || len(b) < HeaderLen+n || len(b) > HeaderLen+n+3 {
			t.Errorf("data %d: datagram %d bytes", n, len(b))
		}
		p, err := ParsePacket(b)
		if err != nil || len(p.Data) != n || p.Opcode != OpReadVar || p.Version != 0 {
			t.Errorf("data %d: %+v %v", n, p, err)
		}
	}
}

func TestErrorCodeText(t *testing.T) {
	for code, want := range map[ErrorCode]string{
		CodeUnknownVar: "unknown variable", CodeUnknownAssoc: "unknown association",
		CodePermission: "permission denied", CodeBadOpcode: "unknown opcode", 42: "error code 42",
	} {
		if got := code.String(); got != want {
			t.Errorf("%d: %q, want %q", code, got, want)
		}
	}
	err := error(&ServerError{Opcode: OpReadVar, AssocID: 999, Code: CodeUnknownAssoc})
	if err.Error() != "server error on READVAR assoc 999: unknown association" {
		t.Errorf("%v", err)
	}
}

// FuzzParsePacket: any bytes either fail with an error or give a packet
// whose re-encoding parses to the same header and data.
func FuzzParsePacket(f *testing.F) {
	for _, name := range []string{"readstat-0.bin", "readvar-sys-0.bin", "readvar-17767-0.bin", "readvar-17767-1.bin",
		"readvar-17768-0.bin", "readvar-17768-1.bin", "err-unknownvar-0.bin", "err-unknownassoc-0.bin"} {
		f.Add(capture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		if len(p.Data) > MaxFragmentData {
			t.Fatalf("accepted %d data bytes", len(p.Data))
		}
		q, err := ParsePacket(p.Append(nil))
		if err != nil {
			t.Fatalf("re-encoded packet does not parse: %v", err)
		}
		if q.Sequence != p.Sequence || q.Status != p.Status || q.Offset != p.Offset || q.More != p.More ||
			q.Error != p.Error || q.Response != p.Response || q.Opcode != p.Opcode || !bytes.Equal(q.Data, p.Data) {
			t.Fatalf("round trip: %+v != %+v", q, p)
		}
		// Feeding it to a reassembler never panics and respects the cap.
		r := NewReassembler(1000)
		if done, err := r.Add(p); err == nil && done && len(r.Data()) > 1000 {
			t.Fatalf("reassembled %d bytes over the cap", len(r.Data()))
		}
	})
}

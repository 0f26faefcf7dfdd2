package ntp

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// split cuts data into fragments of size bytes, as a server would send them.
func split(data []byte, size int) []Packet {
	var out []Packet
	for off := 0; ; off += size {
		end := min(off+size, len(data))
		out = append(out, Packet{Response: true, Opcode: OpReadVar, Offset: uint16(off), Data: data[off:end], More: end < len(data)})
		if end == len(data) {
			return out
		}
	}
}

// order builds a delivery sequence from fragment indexes.
func order(frags []Packet, idx ...int) []Packet {
	out := make([]Packet, len(idx))
	for i, j := range idx {
		out[i] = frags[j]
	}
	return out
}

func TestReassembly(t *testing.T) {
	// The real two-fragment reply of ntpd for one association, and a
	// longer synthetic one cut in five.
	real := []Packet{}
	for _, f := range []string{"readvar-17767-0.bin", "readvar-17767-1.bin"} {
		p, err := ParsePacket(capture(t, f))
		if err != nil {
			t.Fatal(err)
		}
		real = append(real, p)
	}
	realData := append(append([]byte(nil), real[0].Data...), real[1].Data...)
	long := bytes.Repeat([]byte("0123456789abcdef"), 140) // 2240 bytes: 5 fragments of 468
	five := split(long, MaxFragmentData)
	modified := func(p Packet, f func(*Packet)) Packet { f(&p); return p }

	cases := []struct {
		name    string
		deliver []Packet
		want    []byte // nil: never complete
		errSub  string // non-empty: Add fails with this text
		missing string // with want == nil and no error: Missing() contains this
	}{
		{name: "real, in order", deliver: real, want: realData},
		{name: "real, reversed", deliver: order(real, 1, 0), want: realData},
		{name: "real, duplicated", deliver: order(real, 0, 0, 1), want: realData},
		{name: "real, last only", deliver: order(real, 1), missing: "missing fragment at offset 0"},
		{name: "real, first only", deliver: order(real, 0), missing: "last fragment not received"},
		{name: "five, in order", deliver: five, want: long},
		{name: "five, shuffled", deliver: order(five, 3, 0, 4, 2, 1), want: long},
		{name: "five, duplicated and shuffled", deliver: order(five, 4, 4, 1, 0, 1, 3, 2, 3), want: long},
		{name: "five, middle missing", deliver: order(five, 0, 1, 3, 4), missing: "missing fragment at offset 936"},
		{name: "five, duplicate of a missing neighbour", deliver: order(five, 0, 0, 2, 2, 3, 4), missing: "missing fragment at offset 468"},
		{name: "nothing", deliver: nil, missing: "no fragment received"},
		{name: "single empty reply", deliver: []Packet{{Response: true}}, want: []byte{}},
		{name: "overlap", deliver: []Packet{five[0], modified(five[1], func(p *Packet) { p.Offset = 400 })}, errSub: "overlap at offset 400"},
		{name: "overlap inside", deliver: []Packet{
			{Offset: 0, Data: make([]byte, 100), More: true},
			{Offset: 50, Data: make([]byte, 100), More: true},
			{Offset: 150, Data: make([]byte, 10)},
		}, errSub: "overlap"},
		{name: "conflicting duplicate", deliver: []Packet{five[0], modified(five[0], func(p *Packet) { p.Data = p.Data[:10] })}, errSub: "conflicting fragments"},
		{name: "two ends", deliver: []Packet{five[4], modified(five[3], func(p *Packet) { p.More = false })}, errSub: "two last fragments"},
		{name: "past the end", deliver: []Packet{five[1], five[4], modified(five[4], func(p *Packet) { p.Offset = 2000; p.More = true })}, errSub: "past the end"},
		{name: "over the cap", deliver: []Packet{{Offset: 65000, Data: make([]byte, 468), More: true}}, errSub: "exceeds"},
		{name: "empty fragment with more", deliver: []Packet{{Offset: 0, More: true}}, errSub: "empty fragment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewReassembler(0)
			done := false
			for i, p := range c.deliver {
				var err error
				done, err = r.Add(p)
				if err != nil {
					if c.errSub == "" || !strings.Contains(err.Error(), c.errSub) {
						t.Fatalf("fragment %d: %v (want error %q)", i, err, c.errSub)
					}
					return
				}
			}
			if c.errSub != "" {
				t.Fatalf("no error, want %q", c.errSub)
			}
			if c.want == nil {
				if done {
					t.Fatal("complete, want incomplete")
				}
				if got := r.Missing(); !strings.Contains(got, c.missing) {
					t.Fatalf("Missing() = %q, want %q", got, c.missing)
				}
				return
			}
			if !done {
				t.Fatalf("incomplete: %s", r.Missing())
			}
			if !bytes.Equal(r.Data(), c.want) {
				t.Fatalf("reassembled %d bytes, differ from the %d sent", len(r.Data()), len(c.want))
			}
		})
	}
}

// TestReassemblyRandomOrders: every permutation-with-duplicates of a reply
// reassembles to the same bytes, whatever the fragment size.
func TestReassemblyRandomOrders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	for _, size := range []int{1, 7, 100, 468} {
		frags := split(data[:min(len(data), size*40)], size)
		want := data[:min(len(data), size*40)]
		for round := 0; round < 50; round++ {
			deliver := append([]Packet(nil), frags...)
			for i := 0; i < len(frags)/3; i++ {
				deliver = append(deliver, frags[rng.IntN(len(frags))])
			}
			rng.Shuffle(len(deliver), func(i, j int) { deliver[i], deliver[j] = deliver[j], deliver[i] })
			r := NewReassembler(0)
			var done bool
			for _, p := range deliver {
				var err error
				if done, err = r.Add(p); err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
			}
			if !done || !bytes.Equal(r.Data(), want) {
				t.Fatalf("size %d round %d: done=%v, %d bytes", size, round, done, len(r.Data()))
			}
		}
	}
}

// FuzzReassemble feeds fragments described by the input (offset, count,
// more bit, per 4 bytes) to a small reassembler: it never panics, never
// holds more than its cap, and a complete reply has exactly the bytes the
// tiling promised.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{0, 0, 100, 1, 0, 100, 50, 0})
	f.Add([]byte{0, 100, 50, 0, 0, 0, 100, 1, 0, 0, 100, 1})
	f.Add([]byte{1, 0, 200, 1, 0, 0, 255, 1, 0, 255, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 600
		r := NewReassembler(max)
		for i := 0; i+4 <= len(b); i += 4 {
			off := uint16(b[i])<<8 | uint16(b[i+1])
			n := int(b[i+2])
			data := make([]byte, n)
			for j := range data {
				data[j] = byte(int(off) + j) // byte k of the reply is k mod 256
			}
			done, err := r.Add(Packet{Offset: off, Data: data, More: b[i+3]&1 == 1})
			if err != nil {
				return
			}
			if r.held > max {
				t.Fatalf("holding %d bytes over the cap %d", r.held, max)
			}
			if done {
				got := r.Data()
				if len(got) != r.end {
					t.Fatalf("complete with %d bytes, end %d", len(got), r.end)
				}
				for k, c := range got {
					if c != byte(k) {
						t.Fatalf("byte %d is %d: fragments misplaced", k, c)
					}
				}
				return
			}
		}
	})
}

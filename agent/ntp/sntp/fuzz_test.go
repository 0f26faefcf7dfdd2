package sntp

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParse: any datagram either fails to parse or round-trips through
// Append, and accept never panics, never returns a sample with a negative
// delay, and never takes a reply whose origin is not the request's.
func FuzzParse(f *testing.F) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	xmt := Timestamp(0x0123456789abcdef)
	good := Packet{Version: 4, Mode: ModeServer, Stratum: 2, RefID: 0x7f000001, Origin: xmt,
		Receive: TimestampOf(now.Add(time.Millisecond)), Transmit: TimestampOf(now.Add(2 * time.Millisecond))}
	f.Add(good.Append(nil))
	kod := Packet{Version: 4, Mode: ModeServer, Origin: xmt, RefID: 0x52415445}
	f.Add(kod.Append(nil))
	f.Add(good.Append(nil)[:47])
	f.Add(append(good.Append(nil), make([]byte, 20)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if len(b) >= HeaderLen && len(b) <= MaxPacketLen {
				t.Fatalf("%d bytes refused: %v", len(b), err)
			}
			return
		}
		if out := p.Append(nil); !bytes.Equal(out, b[:HeaderLen]) {
			t.Fatalf("round trip:\n %x\n %x", b[:HeaderLen], out)
		}
		s, kiss, why := accept(b, xmt, now, now.Add(5*time.Millisecond))
		switch {
		case why != nil:
			why(&ignoredLog{})
		case kiss != nil:
			if p.Origin != xmt || p.Stratum != 0 {
				t.Fatalf("kiss from %+v", p)
			}
		default:
			if p.Origin != xmt || s.Delay < 0 || p.Mode != ModeServer {
				t.Fatalf("accepted %+v as %+v", p, s)
			}
		}
		_ = RefIDString(p.Stratum, p.RefID)
	})
}

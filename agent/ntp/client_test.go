package ntp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// scripted answers each request with the datagrams reply returns.
func scripted(t *testing.T, reply func(req Packet) [][]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := ParsePacket(buf[:n])
			if err != nil {
				continue
			}
			for _, d := range reply(req) {
				_, _ = pc.WriteTo(d, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

func answer(req Packet, data string) Packet {
	return Packet{Version: 2, Response: true, Opcode: req.Opcode, Sequence: req.Sequence, AssocID: req.AssocID, Data: []byte(data)}
}

func session(t *testing.T, addr string, retries int) *Session {
	t.Helper()
	s, err := Client{Addr: addr, Timeout: 150 * time.Millisecond, Retries: retries}.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestQueryFaults(t *testing.T) {
	cases := []struct {
		name    string
		reply   func(req Packet) [][]byte
		wantErr error  // nil: success with data "a=1"
		errText string // substring of the error
	}{
		{"stray packets before the reply are ignored", func(req Packet) [][]byte {
			stale := answer(req, "old=1")
			stale.Sequence--
			other := answer(req, "x=1")
			other.AssocID++
			return [][]byte{stale.Append(nil), other.Append(nil), answer(req, "a=1").Append(nil)}
		}, nil, ""},
		{"oversized datagram", func(req Packet) [][]byte {
			return [][]byte{append(answer(req, "a=1").Append(nil), make([]byte, 700)...)}
		}, ErrTimeout, "1 malformed packets ignored (last: oversized mode 6 packet: 716 bytes"},
		{"count over 468", func(req Packet) [][]byte {
			b := answer(req, strings.Repeat("a", 468)).Append(nil)
			b[10], b[11] = 0x01, 0xd5 // 469
			return [][]byte{append(b, 0, 0, 0, 0)}
		}, ErrTimeout, "oversized mode 6 packet: count 469"},
		{"truncated datagram", func(req Packet) [][]byte {
			return [][]byte{answer(req, "a=1, b=2").Append(nil)[:15]}
		}, ErrTimeout, "truncated mode 6 packet"},
		{"not a response", func(req Packet) [][]byte {
			p := answer(req, "a=1")
			p.Response = false
			return [][]byte{p.Append(nil)}
		}, ErrTimeout, "for another opcode or association ignored"},
		{"overlapping fragments", func(req Packet) [][]byte {
			a, b := answer(req, "a=1, b="), answer(req, "2, c=3")
			a.More, b.Offset = true, 3
			return [][]byte{a.Append(nil), b.Append(nil)}
		}, ErrTimeout, "reassembly failed: fragments overlap at offset 3"},
		{"more bit never clears", func(req Packet) [][]byte {
			a := answer(req, "a=1")
			a.More = true
			return [][]byte{a.Append(nil)}
		}, ErrTimeout, "last fragment not received"},
		{"error bit", func(req Packet) [][]byte {
			p := answer(req, "")
			p.Error, p.Status = true, uint16(CodeUnknownAssoc)<<8
			return [][]byte{p.Append(nil)}
		}, &ServerError{}, "unknown association"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := session(t, scripted(t, c.reply), 1)
			start := time.Now()
			resp, err := s.Query(context.Background(), OpReadVar, 7, nil)
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("took %v", el)
			}
			if c.wantErr == nil {
				if err != nil || string(resp.Data) != "a=1" {
					t.Fatalf("%q %v", resp.Data, err)
				}
				return
			}
			var se *ServerError
			if _, isSE := c.wantErr.(*ServerError); isSE {
				if !errors.As(err, &se) {
					t.Fatalf("err %v, want a server error", err)
				}
			} else if !errors.Is(err, c.wantErr) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if !strings.Contains(err.Error(), c.errText) {
				t.Errorf("error %q does not say %q", err, c.errText)
			}
		})
	}
}

// TestQueryRetries: the first request is lost, the retry is answered.
func TestQueryRetries(t *testing.T) {
	n := 0
	addr := scripted(t, func(req Packet) [][]byte {
		n++
		if n == 1 {
			return nil
		}
		return [][]byte{answer(req, "a=1").Append(nil)}
	})
	if _, err := session(t, addr, 1).Query(context.Background(), OpReadVar, 7, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := session(t, addr, -1).Query(context.Background(), OpReadVar, 7, nil); err != nil {
		t.Fatal(err) // n == 3: answered
	}
}

// TestQueryContext: cancelling the context ends a query at once.
func TestQueryContext(t *testing.T) {
	addr := scripted(t, func(Packet) [][]byte { return nil })
	s, err := Client{Addr: addr, Timeout: 10 * time.Second}.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Query(ctx, OpReadStat, 0, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v with a 100ms context", el)
	}
}

// TestFetchSkipsDemobilised: an association that vanished between READSTAT
// and its READVAR (error 4) is left out; the round still succeeds.
func TestFetchSkipsDemobilised(t *testing.T) {
	addr := scripted(t, func(req Packet) [][]byte {
		switch {
		case req.Opcode == OpReadStat:
			return [][]byte{answer(req, "\x00\x01\x96\x1a\x00\x02\x94\x1a").Append(nil)}
		case req.AssocID == 2:
			p := answer(req, "")
			p.Error, p.Status = true, uint16(CodeUnknownAssoc)<<8
			return [][]byte{p.Append(nil)}
		case req.AssocID == 1:
			p := answer(req, "srcadr=192.0.2.1, reach=0x1\r\n")
			p.Status = 0x961a
			return [][]byte{p.Append(nil)}
		default:
			return [][]byte{answer(req, "leap=0, stratum=2, peer=1\r\n").Append(nil)}
		}
	})
	snap, err := Fetch(context.Background(), session(t, addr, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Peers) != 1 || snap.Peers[0].Address() != "192.0.2.1" || snap.System.Stratum != 2 {
		t.Fatalf("%+v", snap)
	}
	if ok, why := snap.Synced(); !ok {
		t.Errorf("not synced: %s", why)
	}
}

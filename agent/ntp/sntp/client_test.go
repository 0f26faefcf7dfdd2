package sntp

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is an NTP server written for the test: for each request it
// receives, reply returns the datagrams to send back (none: silence).
type server struct {
	conn     net.PacketConn
	mu       sync.Mutex
	requests []Packet
	wg       sync.WaitGroup
}

func startServer(t *testing.T, reply func(req Packet, raw []byte) [][]byte) *server {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{conn: conn}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := Parse(buf[:n])
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.requests = append(s.requests, req)
			s.mu.Unlock()
			for _, d := range reply(req, buf[:n]) {
				conn.WriteTo(d, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); s.wg.Wait() })
	return s
}

func (s *server) addr() string { return s.conn.LocalAddr().String() }

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// honest answers like a stratum-2 server whose clock is ahead by skew.
func honest(skew time.Duration) func(Packet, []byte) [][]byte {
	return func(req Packet, _ []byte) [][]byte {
		now := time.Now().Add(skew)
		p := Packet{Version: 4, Mode: ModeServer, Stratum: 2, Poll: 6, Precision: -20,
			RootDelay: 0x0000_0200, RootDisp: 0x0000_0100, RefID: 0x7f000001,
			RefTime: TimestampOf(now.Add(-time.Minute)), Origin: req.Transmit,
			Receive: TimestampOf(now), Transmit: TimestampOf(now)}
		return [][]byte{p.Append(nil)}
	}
}

func query(t *testing.T, addr string, samples int) (*Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Client{Addr: addr, Timeout: 300 * time.Millisecond, Samples: samples, Gap: -1}.Query(ctx)
}

func TestQueryMeasuresOffsetAndDelay(t *testing.T) {
	s := startServer(t, honest(250*time.Millisecond))
	res, err := query(t, s.addr(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Samples) != 4 || res.Lost != 0 || res.Ignored != "" {
		t.Fatalf("result = %+v", res)
	}
	for i, smp := range res.Samples {
		if d := smp.Offset - 250*time.Millisecond; d < -20*time.Millisecond || d > 20*time.Millisecond {
			t.Errorf("sample %d: offset %v, want about 250ms", i, smp.Offset)
		}
		if smp.Delay < 0 || smp.Delay > 50*time.Millisecond {
			t.Errorf("sample %d: delay %v", i, smp.Delay)
		}
		if smp.Delay < res.BestSample().Delay {
			t.Errorf("best %d has delay %v, sample %d less (%v)", res.Best, res.BestSample().Delay, i, smp.Delay)
		}
		if ok, why := smp.Synced(); !ok {
			t.Errorf("sample %d not synced: %s", i, why)
		}
		if smp.RefIDString() != "127.0.0.1" || smp.Stratum != 2 || smp.RootDelay != 2*time.Second/256 {
			t.Errorf("sample %d: refid %s stratum %d root delay %v", i, smp.RefIDString(), smp.Stratum, smp.RootDelay)
		}
	}
	// Every request carried a different random transmit timestamp (the
	// nonce), and nothing else that identifies the client's clock.
	seen := map[Timestamp]bool{}
	for _, r := range s.requests {
		if r.Mode != ModeClient || r.Version != 4 || r.Origin != 0 || r.Receive != 0 || seen[r.Transmit] {
			t.Errorf("request %+v", r)
		}
		seen[r.Transmit] = true
	}
}

func TestQueryHostileReplies(t *testing.T) {
	good := honest(0)
	mutate := func(f func(p *Packet)) func(Packet, []byte) [][]byte {
		return func(req Packet, raw []byte) [][]byte {
			p, _ := Parse(good(req, raw)[0])
			f(&p)
			return [][]byte{p.Append(nil)}
		}
	}
	tests := []struct {
		name    string
		reply   func(Packet, []byte) [][]byte
		wantErr error
		want    string // in the error
	}{
		{"bad origin (spoofed)", mutate(func(p *Packet) { p.Origin ^= 1 }), ErrTimeout, "2 with an origin timestamp that is not this request's"},
		{"zero origin", mutate(func(p *Packet) { p.Origin = 0 }), ErrTimeout, "origin timestamp"},
		{"zero transmit", mutate(func(p *Packet) { p.Transmit = 0 }), ErrTimeout, "2 with a zero receive or transmit timestamp"},
		{"zero receive", mutate(func(p *Packet) { p.Receive = 0 }), ErrTimeout, "zero receive or transmit"},
		{"client mode", mutate(func(p *Packet) { p.Mode = ModeClient }), ErrTimeout, "not server replies"},
		{"version 0", mutate(func(p *Packet) { p.Version = 0 }), ErrTimeout, "not server replies"},
		{"version 5", mutate(func(p *Packet) { p.Version = 5 }), ErrTimeout, "not server replies"},
		{"transmit before receive", mutate(func(p *Packet) { p.Transmit = p.Receive - 1<<32 }), ErrTimeout, "negative or absurd round-trip delay"},
		{"server time longer than the round trip", mutate(func(p *Packet) { p.Transmit = p.Receive + 10<<32 }), ErrTimeout, "negative or absurd"},
		{"truncated", func(req Packet, raw []byte) [][]byte { return [][]byte{good(req, raw)[0][:47]} }, ErrTimeout, "malformed (last: truncated NTP packet: 47 bytes"},
		{"oversized", func(req Packet, raw []byte) [][]byte {
			return [][]byte{append(good(req, raw)[0], make([]byte, MaxPacketLen)...)}
		}, ErrTimeout, "oversized NTP packet"},
		{"silent", func(Packet, []byte) [][]byte { return nil }, ErrTimeout, "nothing received"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.reply)
			_, err := query(t, s.addr(), 2)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.want)
			}
		})
	}
}

// A spoofed reply that arrives first does not hide the real one.
func TestQuerySpoofedThenGenuine(t *testing.T) {
	good := honest(time.Second)
	s := startServer(t, func(req Packet, raw []byte) [][]byte {
		fake := Packet{Version: 4, Mode: ModeServer, Stratum: 1, RefID: 0x47505300, Origin: req.Transmit + 1,
			Receive: TimestampOf(time.Now().Add(time.Hour)), Transmit: TimestampOf(time.Now().Add(time.Hour))}
		return [][]byte{fake.Append(nil), good(req, raw)[0]}
	})
	res, err := query(t, s.addr(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Samples) != 3 || !strings.Contains(res.Ignored, "3 with an origin timestamp") {
		t.Fatalf("samples %d, ignored %q", len(res.Samples), res.Ignored)
	}
	if off := res.BestSample().Offset; off < 900*time.Millisecond || off > 1100*time.Millisecond {
		t.Errorf("offset %v: the spoofed hour got in", off)
	}
}

func TestQueryKissOfDeath(t *testing.T) {
	for _, tc := range []struct {
		code string
		stop bool
	}{{"RATE", false}, {"DENY", true}, {"RSTR", true}, {"INIT", false}} {
		t.Run(tc.code, func(t *testing.T) {
			s := startServer(t, func(req Packet, _ []byte) [][]byte {
				p := Packet{Version: 4, Mode: ModeServer, Stratum: 0, Poll: 10, Origin: req.Transmit,
					RefID: uint32(tc.code[0])<<24 | uint32(tc.code[1])<<16 | uint32(tc.code[2])<<8 | uint32(tc.code[3])}
				return [][]byte{p.Append(nil)}
			})
			_, err := query(t, s.addr(), 4)
			var kiss *KissError
			if !errors.As(err, &kiss) || kiss.Code != tc.code || kiss.Stop() != tc.stop || kiss.Poll != 10 {
				t.Fatalf("err = %v (%+v)", err, kiss)
			}
			if n := s.count(); n != 1 {
				t.Errorf("%d requests sent; a kiss must stop the query at once", n)
			}
		})
	}
	// A kiss with a wrong origin is spoofed: ignored.
	s := startServer(t, func(req Packet, _ []byte) [][]byte {
		p := Packet{Version: 4, Mode: ModeServer, Origin: req.Transmit + 1, RefID: 0x44454e59}
		return [][]byte{p.Append(nil)}
	})
	if _, err := query(t, s.addr(), 1); !errors.Is(err, ErrTimeout) {
		t.Errorf("spoofed DENY: err = %v, want a timeout", err)
	}
}

func TestQueryUnsynchronisedServer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		leap    uint8
		stratum uint8
		want    string
	}{{"leap 3", 3, 2, "leap indicator 3"}, {"stratum 16", 0, 16, "stratum 16"}, {"stratum 0 without kiss code", 0, 0, "stratum 0"}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, func(req Packet, raw []byte) [][]byte {
				p, _ := Parse(honest(0)(req, raw)[0])
				p.Leap, p.Stratum = tc.leap, tc.stratum
				if tc.stratum == 0 {
					p.RefID = 0
				}
				return [][]byte{p.Append(nil)}
			})
			res, err := query(t, s.addr(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if ok, why := res.BestSample().Synced(); ok || !strings.Contains(why, tc.want) {
				t.Errorf("synced %v, %q", ok, why)
			}
		})
	}
}

func TestQueryRefusedAndCancelled(t *testing.T) {
	l, _ := net.ListenPacket("udp", "127.0.0.1:0")
	addr := l.LocalAddr().String()
	l.Close()
	if _, err := query(t, addr, 2); !errors.Is(err, ErrRefused) {
		t.Errorf("closed port: err = %v, want ErrRefused", err)
	}
	s := startServer(t, func(Packet, []byte) [][]byte { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Client{Addr: s.addr(), Timeout: 5 * time.Second, Samples: 4}.Query(ctx)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Errorf("cancelled query: err = %v after %v", err, time.Since(start))
	}
}

func TestTimestampEras(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 12, 3, 9, 0, 0, 123456789, time.UTC),
		time.Date(2036, 2, 7, 6, 28, 15, 0, time.UTC), // last second of era 0
		time.Date(2036, 2, 7, 6, 28, 17, 5e8, time.UTC),
		time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		ts := TimestampOf(at)
		for _, ref := range []time.Time{at, at.Add(-30 * 365 * 24 * time.Hour), at.Add(30 * 365 * 24 * time.Hour)} {
			if got := ts.Time(ref); got.Sub(at).Abs() > time.Nanosecond {
				t.Errorf("%v via ref %v -> %v", at, ref, got)
			}
		}
	}
}

func TestRefIDString(t *testing.T) {
	for _, tc := range []struct {
		stratum uint8
		refid   uint32
		want    string
	}{
		{1, 0x47505300, "GPS"}, {1, 0x4c4f434c, "LOCL"}, {2, 0xc0000201, "192.0.2.1"},
		{0, 0x52415445, "RATE"}, {1, 0x1b5b3200, `\x1b[2`},
	} {
		if got := RefIDString(tc.stratum, tc.refid); got != tc.want {
			t.Errorf("RefIDString(%d, %#x) = %q, want %q", tc.stratum, tc.refid, got, tc.want)
		}
	}
}

package chrony

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/facebook/time/ntp/chrony"
)

// fakeChronyd answers command requests with whatever reply builds.
func fakeChronyd(t *testing.T, reply func(req []byte) [][]byte) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, d := range reply(append([]byte(nil), buf[:n]...)) {
				conn.WriteTo(d, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return conn.LocalAddr().String()
}

// replyTo builds a reply header for request req.
func replyTo(req []byte, rtype fb.ReplyType, status Status, body []byte) []byte {
	b := make([]byte, replyHeadLen, replyHeadLen+len(body))
	b[0], b[1] = protoVersion, pktTypeReply
	copy(b[4:6], req[4:6]) // command
	binary.BigEndian.PutUint16(b[6:], uint16(rtype))
	binary.BigEndian.PutUint16(b[8:], uint16(status))
	copy(b[16:20], req[8:12]) // sequence
	return append(b, body...)
}

// chronyFloat encodes f in chrony's 32-bit float format (exact for the
// small binary fractions the tests use).
func chronyFloat(f float64) uint32 {
	if f == 0 {
		return 0
	}
	exp := int(math.Floor(math.Log2(math.Abs(f)))) + 2
	coef := int32(math.Round(f / math.Ldexp(1, exp-25)))
	return uint32(exp&0x7f)<<25 | uint32(coef)&0x1ffffff
}

func trackingBody(stratum, leap uint16, offset float64) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x7f000001)
	ip := make([]byte, 20)
	copy(ip, []byte{127, 0, 0, 1})
	binary.BigEndian.PutUint16(ip[16:], 1)
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, stratum)
	b = binary.BigEndian.AppendUint16(b, leap)
	b = append(b, make([]byte, 12)...) // ref time
	for _, f := range []float64{offset, 0, 0, 0.5, 0, 0.25, 0.001, 0.002, 64} {
		b = binary.BigEndian.AppendUint32(b, chronyFloat(f))
	}
	return b
}

// saneDaemon answers like a synchronised chronyd with no sources.
func saneDaemon(req []byte) [][]byte {
	switch fb.CommandType(binary.BigEndian.Uint16(req[4:])) {
	case 33: // tracking
		return [][]byte{replyTo(req, fb.RpyTracking, 0, trackingBody(3, 0, -0.125))}
	case 14: // n sources
		return [][]byte{replyTo(req, fb.RpyNSources, 0, []byte{0, 0, 0, 0})}
	}
	return nil
}

func fetchFake(t *testing.T, addr string) (*Snapshot, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Client{Addr: addr, Timeout: 200 * time.Millisecond, Retries: 1}.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return Fetch(ctx, s, nil)
}

func TestHostileDaemon(t *testing.T) {
	mangle := func(f func(req, rep []byte) [][]byte) func([]byte) [][]byte {
		return func(req []byte) [][]byte {
			var out [][]byte
			for _, rep := range saneDaemon(req) {
				out = append(out, f(req, rep)...)
			}
			return out
		}
	}
	tests := []struct {
		name    string
		reply   func([]byte) [][]byte
		wantErr error
		want    []string
	}{
		{"wrong sequence", mangle(func(_, rep []byte) [][]byte { rep[19]++; return [][]byte{rep} }),
			ErrTimeout, []string{"2 with a wrong sequence number", "cmdallow 127.0.0.1"}},
		{"truncated", mangle(func(_, rep []byte) [][]byte { return [][]byte{rep[:60]} }),
			ErrTimeout, []string{"2 too short for their reply type (truncated)"}},
		{"header only", mangle(func(_, rep []byte) [][]byte { return [][]byte{rep[:20]} }),
			ErrTimeout, []string{"too short"}},
		{"other version", mangle(func(_, rep []byte) [][]byte { rep[0] = 5; return [][]byte{rep} }),
			ErrTimeout, []string{"of another protocol version"}},
		{"a request echoed", func(req []byte) [][]byte { return [][]byte{req} },
			ErrTimeout, []string{"not replies to this command"}},
		{"oversized", mangle(func(_, rep []byte) [][]byte { return [][]byte{append(rep, make([]byte, MaxReplyLen)...)} }),
			ErrTimeout, []string{"malformed"}},
		{"not authorised", func(req []byte) [][]byte { return [][]byte{replyTo(req, 1, StatusUnauth, nil)} },
			nil, []string{"refused the tracking command (not authorised: add `cmdallow 127.0.0.1` to chrony.conf)"}},
		{"bad version status", func(req []byte) [][]byte { return [][]byte{replyTo(req, 1, StatusBadPktVersion, nil)} },
			nil, []string{"answered the tracking command with protocol version mismatch"}},
		{"wrong reply type", func(req []byte) [][]byte { return [][]byte{replyTo(req, fb.RpyNSources, 0, make([]byte, 80))} },
			nil, []string{"reply of type 2, want 5"}},
		{"unknown reply type", func(req []byte) [][]byte { return [][]byte{replyTo(req, 99, 0, make([]byte, 80))} },
			nil, []string{"bad reply: not implemented reply type 99"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fetchFake(t, fakeChronyd(t, tc.reply))
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestStatusErrorRefused(t *testing.T) {
	_, err := fetchFake(t, fakeChronyd(t, func(req []byte) [][]byte { return [][]byte{replyTo(req, 1, StatusUnauth, nil)} }))
	var se *StatusError
	if !errors.As(err, &se) || !se.Refused() || se.Local != "127.0.0.1" {
		t.Fatalf("err = %#v", err)
	}
}

// Stray datagrams before the reply do not end the query, and a daemon
// that claims a billion sources costs at most MaxSources round trips.
func TestStrayRepliesAndSourceCap(t *testing.T) {
	var mu sync.Mutex
	asked := 0
	addr := fakeChronyd(t, func(req []byte) [][]byte {
		stray := replyTo(req, fb.RpyTracking, 0, trackingBody(1, 0, 0))
		stray[16]++ // another sequence number
		switch fb.CommandType(binary.BigEndian.Uint16(req[4:])) {
		case 14:
			return [][]byte{stray, replyTo(req, fb.RpyNSources, 0, []byte{0x3b, 0x9a, 0xca, 0x00})}
		case 15:
			mu.Lock()
			asked++
			mu.Unlock()
			return [][]byte{replyTo(req, 1, StatusNoSuchSource, nil)}
		}
		return append([][]byte{stray}, saneDaemon(req)...)
	})
	snap, err := fetchFake(t, addr)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Truncated != 1e9-MaxSources || len(snap.Sources) != 0 || asked != MaxSources {
		t.Errorf("truncated %d, sources %d, asked %d", snap.Truncated, len(snap.Sources), asked)
	}
	if snap.Tracking.Stratum != 3 || snap.Tracking.SystemTime != -0.125 || snap.Tracking.FreqPPM != 0.5 {
		t.Errorf("tracking %+v", snap.Tracking)
	}
}

// onceRW hands one datagram to the decoder.
type onceRW struct {
	reply []byte
	done  bool
}

func (o *onceRW) Write(p []byte) (int, error) { return len(p), nil }
func (o *onceRW) Read(p []byte) (int, error) {
	if o.done {
		return 0, io.EOF
	}
	o.done = true
	return copy(p, o.reply), nil
}

// FuzzReply feeds a datagram to the path every reply takes (check, then
// facebook's decoder, then this package's conversions and chronyc
// formatting) as the reply to each of the four commands. Nothing may
// panic; a reply is decoded only when check accepted it; every line is
// one clean line.
func FuzzReply(f *testing.F) {
	req := make([]byte, 20)
	req[0], req[1] = protoVersion, 1
	for _, rtype := range []fb.ReplyType{fb.RpyTracking, fb.RpyNSources, fb.RpySourceData, fb.RpySourceStats} {
		body := make([]byte, replyLen[rtype]-replyHeadLen)
		f.Add(byte(rtype), replyTo(req, rtype, 0, body))
	}
	f.Add(byte(fb.RpyTracking), replyTo(req, fb.RpyTracking, 0, trackingBody(2, 3, 1e-3)))
	f.Add(byte(0), replyTo(req, 1, StatusUnauth, nil))
	f.Add(byte(0), []byte{6, 2})
	requests := map[fb.ReplyType]fb.RequestPacket{
		fb.RpyTracking: fb.NewTrackingPacket(), fb.RpyNSources: fb.NewSourcesPacket(),
		fb.RpySourceData: fb.NewSourceDataPacket(0), fb.RpySourceStats: fb.NewSourceStatsPacket(0),
	}
	kinds := []fb.ReplyType{fb.RpyTracking, fb.RpyNSources, fb.RpySourceData, fb.RpySourceStats}
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		want := kinds[int(which)%len(kinds)]
		req := requests[want]
		const seq = 0x01020304
		// Give most inputs the request's command and sequence number, so
		// the fuzzer spends its time on bodies.
		if len(b) >= replyHeadLen && which&0x80 == 0 {
			var enc bytes.Buffer
			req.SetSequence(seq)
			_ = binary.Write(&enc, binary.BigEndian, req)
			copy(b[4:6], enc.Bytes()[4:6])
			binary.BigEndian.PutUint32(b[16:], seq)
		}
		var log ignored
		d := &datagrams{conn: &onceRW{reply: b}, buf: make([]byte, MaxReplyLen+1), log: &log}
		resp, err := decode(d, req, seq)
		if err != nil {
			_ = log.String()
			return
		}
		if !d.got || len(b) < replyHeadLen {
			t.Fatalf("decoded a reply check did not accept: %x", b)
		}
		var lines []string
		switch r := resp.(type) {
		case *fb.ReplyTracking:
			var w strings.Builder
			_ = WriteTracking(&w, trackingFrom(r))
			lines = strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
		case *fb.ReplySourceData:
			s := sourceFrom(r)
			lines = append(lines, s.SourceLine())
		case *fb.ReplySourceStats:
			s := Source{Stats: statsFrom(r)}
			lines = append(lines, s.StatsLine())
		}
		for _, l := range lines {
			if strings.ContainsAny(l, "\n\r\x1b\x00") || len(l) > 600 {
				t.Fatalf("line %q", l)
			}
		}
	})
}

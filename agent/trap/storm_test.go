package trap

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// TestStormBounded: a storm of large traps while the sink is stuck (a
// slow disk) fills the queue to its bounds and no further; what does not
// fit is dropped and counted; once the sink moves, what was queued is
// stored.
func TestStormBounded(t *testing.T) {
	gate := make(chan struct{})
	sink := &memSink{gate: gate}
	const queueBytes = 256 << 10
	l, addr := startListener(t, Options{Sink: sink, QueueSize: 1000, QueueBytes: queueBytes})
	var vars []gosnmp.SnmpPDU
	for i := 0; i < 40; i++ {
		vars = append(vars, gosnmp.SnmpPDU{Name: fmt.Sprintf(".1.3.6.1.4.1.99.%d", i), Type: gosnmp.OctetString, Value: make([]byte, 300)})
	}
	pkt := v2cPacket(t, gosnmp.SNMPv2Trap, 1, vars...)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const sent = 3000
	for i := 0; i < sent; i++ {
		c.Write(pkt)
		if i%100 == 99 {
			time.Sleep(time.Millisecond) // let the reader keep up: this test is about the queue, not the socket
		}
	}
	// Wait until the reader has drained the socket (what the kernel
	// dropped beyond the socket buffer is gone: also bounded).
	s := waitQuiet(t, l)
	if s.QueueFull == 0 || s.QueuePeakBytes > queueBytes || s.QueuePeak > 1000 {
		t.Fatalf("queue not bounded: %+v", s)
	}
	close(gate)
	got := sink.wait(t, int(s.Received-s.QueueFull))
	t.Logf("sent %d, read and accepted %d (the kernel dropped the rest at the socket buffer), dropped as the queue was full %d, peak queue %d traps / %d bytes, stored %d",
		sent, s.Received, s.QueueFull, s.QueuePeak, s.QueuePeakBytes, len(got))
}

// waitQuiet waits until the listener's counters stop moving for 200 ms.
func waitQuiet(t *testing.T, l *Listener) Stats {
	t.Helper()
	last, since := l.Stats(), time.Now()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		s := l.Stats()
		if s != last {
			last, since = s, time.Now()
		} else if time.Since(since) > 200*time.Millisecond {
			return s
		}
	}
	t.Fatalf("the listener never went quiet: %+v", last)
	return last
}

// TestRatePerSource: one source over its bucket is cut to its burst;
// another source is unaffected.
func TestRatePerSource(t *testing.T) {
	now := time.Unix(1_800_000_000, 0) // a frozen clock: no refill
	sink := &memSink{}
	l, addr := startListener(t, Options{Sink: sink, RatePerSource: 1, Burst: 10, Now: func() time.Time { return now }})
	pkt := v2cPacket(t, gosnmp.SNMPv2Trap, 1)
	send := func(local string, n int) {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(local)}, net.UDPAddrFromAddrPort(mustAddrPort(t, addr)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := 0; i < n; i++ {
			c.Write(pkt)
			time.Sleep(200 * time.Microsecond)
		}
	}
	send("127.0.0.1", 50)
	send("127.0.0.2", 5)
	got := sink.wait(t, 15)
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().RateLimited < 40 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := l.Stats(); s.RateLimited != 40 || len(got) != 15 {
		t.Fatalf("stats %+v, stored %d", s, len(got))
	}
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

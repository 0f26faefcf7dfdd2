package snmpsim

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// fakeClock is an injectable clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// startDevice builds a device and serves it on a loopback port until the
// test ends.
func startDevice(t testing.TB, cfg Config) (*Device, *net.UDPAddr) {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return d, pc.LocalAddr().(*net.UDPAddr)
}

// client returns a connected gosnmp client for addr.
func client(t testing.TB, addr *net.UDPAddr, version gosnmp.SnmpVersion, community string) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{
		Target: addr.IP.String(), Port: uint16(addr.Port), Version: version, Community: community,
		Timeout: 2 * time.Second, Retries: 1, MaxOids: 60, MaxRepetitions: 50,
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

// smallInterfaces are three ports with a gap in ifIndex.
func smallInterfaces() []Interface {
	return []Interface{
		{Index: 1, Name: "ge-0/0/0", Alias: "uplink", SpeedBps: 1e9, AdminUp: true, InRate: 1000, OutRate: 2000},
		{Index: 2, Name: "ge-0/0/1", SpeedBps: 1e9, AdminUp: false},
		{Index: 10, Name: "xe-0/0/2", SpeedBps: 1e10, AdminUp: true, InRate: 1e9, OutRate: 5e8, NoHC: true},
	}
}

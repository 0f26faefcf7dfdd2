package testbed

import (
	"net"
	"testing"
	"time"
)

func TestRelayForwardsDropsAndDelays(t *testing.T) {
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := echo.ReadFromUDP(buf)
			if err != nil {
				return
			}
			echo.WriteToUDP(buf[:n], from)
		}
	}()

	tests := []struct {
		name     string
		imp      Impairment
		sent     int
		minRecv  int
		maxRecv  int
		minDelay time.Duration
	}{
		{"clean", Impairment{}, 50, 50, 50, 0},
		{"delay", Impairment{Delay: 30 * time.Millisecond}, 5, 5, 5, 60 * time.Millisecond},
		{"loss", Impairment{Loss: 0.5, Seed: 7}, 200, 20, 90, 0}, // ~25% survive two passes
		{"cut", Impairment{Loss: 1}, 20, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := StartRelay(t, echo.LocalAddr().String(), tt.imp)
			c, err := net.Dial("udp", r.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			for i := 0; i < tt.sent; i++ {
				c.Write([]byte{byte(i)})
			}
			got := 0
			buf := make([]byte, 16)
			var first time.Duration
			for {
				c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				if _, err := c.Read(buf); err != nil {
					break
				}
				if got == 0 {
					first = time.Since(start)
				}
				got++
			}
			if got < tt.minRecv || got > tt.maxRecv {
				t.Errorf("received %d of %d, want %d..%d", got, tt.sent, tt.minRecv, tt.maxRecv)
			}
			if got > 0 && first < tt.minDelay {
				t.Errorf("first reply after %v, want >= %v", first, tt.minDelay)
			}
			dropped, passed := r.Counts()
			if dropped+passed < tt.sent {
				t.Errorf("relay saw %d datagrams, sent %d", dropped+passed, tt.sent)
			}
		})
	}
}

package snmpsim

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// ListenAndServe listens on the UDP address addr (e.g. "127.0.0.1:0") and
// serves requests in a goroutine until ctx ends. It returns the bound
// address; the socket is closed when ctx is cancelled.
func (d *Device) ListenAndServe(ctx context.Context, addr string) (net.Addr, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("snmpsim: listen %s: %w", addr, err)
	}
	go func() { _ = d.Serve(ctx, pc) }()
	return pc.LocalAddr(), nil
}

// Serve answers requests arriving on pc until ctx ends or pc fails; it
// closes pc when ctx ends and then returns nil. Malformed datagrams and
// requests with a wrong community are dropped without an answer.
func (d *Device) Serve(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("snmpsim: read: %w", err)
		}
		req := append([]byte(nil), buf[:n]...)
		if resp := d.Handle(req); resp != nil {
			if _, err := pc.WriteTo(resp, from); err != nil && ctx.Err() == nil {
				continue // a vanished client is not the device's problem
			}
		}
	}
}

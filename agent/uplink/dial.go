// Dialing: QUIC first, TLS over TCP when UDP is blocked, and the link
// both transports present to the session.

package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/shared/wire"
)

// link is one connection with its single stream.
type link interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
	close(msg string)
	// cause is why the connection closed (QUIC), for logs.
	cause() error
	transport() string
}

type quicLink struct {
	conn *quic.Conn
	*quic.Stream
}

func (l quicLink) close(msg string) { l.conn.CloseWithError(0, msg) }
func (l quicLink) cause() error     { return context.Cause(l.conn.Context()) }
func (l quicLink) transport() string {
	return "quic"
}

type tcpLink struct{ *tls.Conn }

func (l tcpLink) close(string)      { l.Conn.Close() }
func (l tcpLink) cause() error      { return nil }
func (l tcpLink) transport() string { return "tcp" }

func (u *Uplink) quicConfig() *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout: u.cfg.HandshakeTimeout,
		MaxIdleTimeout:       u.cfg.IdleTimeout,
		KeepAlivePeriod:      u.cfg.KeepAlive,
		// The agent receives only small control frames: small windows.
		InitialStreamReceiveWindow:     64 << 10,
		MaxStreamReceiveWindow:         256 << 10,
		InitialConnectionReceiveWindow: 64 << 10,
		MaxConnectionReceiveWindow:     512 << 10,
		MaxIncomingStreams:             -1,
		MaxIncomingUniStreams:          -1,
	}
}

func (u *Uplink) dialQUIC(ctx context.Context) (link, error) {
	conn, err := quic.DialAddr(ctx, u.cfg.Addr, u.cfg.TLS, u.quicConfig())
	if err != nil {
		return nil, fmt.Errorf("quic dial %s: %w", u.cfg.Addr, err)
	}
	if p := conn.ConnectionState().TLS.NegotiatedProtocol; p != wire.ALPN {
		conn.CloseWithError(0, "alpn")
		return nil, fmt.Errorf("quic %s: %w (got %q)", u.cfg.Addr, ErrALPN, p)
	}
	sctx, cancel := context.WithTimeout(ctx, u.cfg.HandshakeTimeout)
	defer cancel()
	st, err := conn.OpenStreamSync(sctx)
	if err != nil {
		conn.CloseWithError(0, "no stream")
		return nil, fmt.Errorf("quic %s: open stream: %w (connection: %v)", u.cfg.Addr, err, context.Cause(conn.Context()))
	}
	return quicLink{conn: conn, Stream: st}, nil
}

func (u *Uplink) dialTCP(ctx context.Context) (link, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: u.cfg.HandshakeTimeout, KeepAlive: u.cfg.KeepAlive}, Config: u.cfg.TLS}
	hctx, cancel := context.WithTimeout(ctx, u.cfg.HandshakeTimeout)
	defer cancel()
	c, err := d.DialContext(hctx, "tcp", u.cfg.TCPAddr)
	if err != nil {
		return nil, fmt.Errorf("tls dial %s: %w", u.cfg.TCPAddr, err)
	}
	tc := c.(*tls.Conn)
	if p := tc.ConnectionState().NegotiatedProtocol; p != wire.ALPN {
		tc.Close()
		return nil, fmt.Errorf("tls %s: %w (got %q)", u.cfg.TCPAddr, ErrALPN, p)
	}
	return tcpLink{tc}, nil
}

// isHandshakeTimeout reports whether a QUIC dial failed for lack of answers
// (UDP blocked), as opposed to a refusal the collector sent.
func isHandshakeTimeout(err error) bool {
	var hte *quic.HandshakeTimeoutError
	var ite *quic.IdleTimeoutError
	var ne net.Error
	return errors.As(err, &hte) || errors.As(err, &ite) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// isLocalUDPFailure reports whether a QUIC dial failed because this host
// could not send or was told the UDP path is closed: a local firewall
// (iptables DROP in OUTPUT makes sendmsg fail with EPERM, REJECT answers
// ECONNREFUSED), or no route. The collector was never reached, so this
// says nothing about it; TCP may still pass.
func isLocalUDPFailure(err error) bool {
	for _, e := range []error{syscall.EPERM, syscall.EACCES, syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, e) {
			return true
		}
	}
	// quic-go reports a failed send (sendmsg: operation not permitted) as
	// a local INTERNAL_ERROR that keeps only the text of the socket error.
	// A refusal by the collector is Remote, and a certificate the agent
	// rejects is a local crypto error (0x100 + TLS alert): neither is this.
	var te *quic.TransportError
	if errors.As(err, &te) && !te.Remote && te.ErrorCode == quic.InternalError {
		return true
	}
	return false
}

func (u *Uplink) dial(ctx context.Context) (link, error) {
	if u.cfg.TCPAddr != "" && time.Now().Before(u.tcpUntil) {
		return u.dialTCP(ctx)
	}
	l, err := u.dialQUIC(ctx)
	if err == nil || u.cfg.TCPAddr == "" || ctx.Err() != nil {
		return l, err
	}
	switch {
	case isHandshakeTimeout(err):
		u.log.Warn("uplink: QUIC handshake timed out; falling back to TLS over TCP", "quic", u.cfg.Addr, "tcp", u.cfg.TCPAddr, "retry_quic_after", u.cfg.QUICRetry, "err", err)
	case isLocalUDPFailure(err):
		u.log.Warn("uplink: UDP to the collector is blocked on this host; falling back to TLS over TCP", "quic", u.cfg.Addr, "tcp", u.cfg.TCPAddr, "retry_quic_after", u.cfg.QUICRetry, "err", err)
	default:
		return l, err
	}
	u.tcpUntil = time.Now().Add(u.cfg.QUICRetry)
	return u.dialTCP(ctx)
}

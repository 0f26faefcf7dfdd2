package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ALPN is the TLS application protocol both transports negotiate. The digit is
// the protocol version: a collector that speaks several versions lists each
// (CollectorALPNs); an agent offers only its own.
const ALPN = "outpost/2"

// ALPNv1 names protocol version 1, which collectors still accept from agents
// not yet upgraded (they get no Reject: see doc.go).
const ALPNv1 = "outpost/1"

// ProtocolVersion is the version named by ALPN, repeated in Hello.
const ProtocolVersion = 2

// MinProtocolVersion is the oldest version a collector accepts.
const MinProtocolVersion = 1

// CollectorALPNs returns the application protocols a collector offers,
// newest first.
func CollectorALPNs() []string { return []string{ALPN, ALPNv1} }

// VersionOfALPN returns the protocol version an ALPN value names, or 0.
func VersionOfALPN(p string) uint16 {
	switch p {
	case ALPN:
		return ProtocolVersion
	case ALPNv1:
		return 1
	}
	return 0
}

// Frame size limits. HardMaxFrame is the most any reader accepts, whatever it is
// configured to; DefaultMaxFrame is what agents and the collector use unless told otherwise.
const (
	HardMaxFrame    = 16 << 20
	DefaultMaxFrame = 4 << 20
	headerLen       = 5
)

// Type identifies the message in a frame.
type Type uint8

// Message types.
const (
	TypeHello    Type = 1
	TypeHelloAck Type = 2
	TypeSeries   Type = 3
	TypeBatch    Type = 4
	TypeAck      Type = 5
	TypeError    Type = 6
	TypeReject   Type = 7 // since version 2
)

func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeHelloAck:
		return "hello-ack"
	case TypeSeries:
		return "series"
	case TypeBatch:
		return "batch"
	case TypeAck:
		return "ack"
	case TypeError:
		return "error"
	case TypeReject:
		return "reject"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Errors a frame reader returns; callers close the connection on any of them.
var (
	ErrFrameTooLarge = errors.New("frame larger than the limit")
	ErrFrameEmpty    = errors.New("frame has no type byte")
)

// ReadFrame reads one frame from r. The announced length is checked against
// max (capped at HardMaxFrame) before anything is read or allocated. buf is
// reused when it is large enough; the returned body aliases it.
func ReadFrame(r io.Reader, max int, buf []byte) (Type, []byte, error) {
	if max <= 0 || max > HardMaxFrame {
		max = HardMaxFrame
	}
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err // io.EOF at a frame boundary is a clean end
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return 0, nil, ErrFrameEmpty
	}
	if uint64(n) > uint64(max) {
		return 0, nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, n, max)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, fmt.Errorf("read frame body: %w", err)
	}
	return Type(buf[0]), buf[1:], nil
}

// AppendFrameHeader appends a frame header for a body of bodyLen bytes.
func AppendFrameHeader(dst []byte, t Type, bodyLen int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(bodyLen+1))
	return append(dst, byte(t))
}

// WriteFrame writes one frame holding an already encoded body.
func WriteFrame(w io.Writer, t Type, body []byte) error {
	if len(body)+1 > HardMaxFrame {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(body)+1)
	}
	frame := make([]byte, 0, headerLen+len(body))
	frame = AppendFrameHeader(frame, t, len(body))
	frame = append(frame, body...)
	_, err := w.Write(frame)
	return err
}

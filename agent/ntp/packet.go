package ntp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Mode 6 opcodes this package uses (RFC 9327 section 2.4).
const (
	OpReadStat uint8 = 1 // READSTAT: association ids and peer status words
	OpReadVar  uint8 = 2 // READVAR: a variable list of the system (assoc 0) or an association
)

// Wire constants.
const (
	HeaderLen       = 12  // bytes of the mode 6 header
	MaxFragmentData = 468 // most data bytes one fragment carries
	// MaxPacketLen is the largest datagram a conforming mode 6 peer sends: a
	// header, 468 data bytes, and (outside this package's use) up to 96 bytes
	// of authenticator. Anything longer is rejected as oversized.
	MaxPacketLen = HeaderLen + MaxFragmentData + 96
	// ControlVersion is the NTP version sent in requests (ntpq sends 2).
	ControlVersion = 2
	modeControl    = 6
)

// Packet errors, for callers that branch on the kind of malformation.
var (
	ErrTruncated = errors.New("truncated mode 6 packet")
	ErrOversized = errors.New("oversized mode 6 packet")
	ErrNotMode6  = errors.New("not a mode 6 packet")
)

// Packet is one mode 6 datagram: a request or one fragment of a response.
// Count is len(Data).
type Packet struct {
	Leap     uint8 // 0..3
	Version  uint8 // 0..7
	Response bool  // R bit: set in replies
	Error    bool  // E bit: the high byte of Status is an error code
	More     bool  // M bit: more fragments follow
	Opcode   uint8 // 0..31
	Sequence uint16
	Status   uint16 // system or peer status word, or error code << 8
	AssocID  uint16 // 0 is the system
	Offset   uint16 // offset of Data in the whole response
	Data     []byte
}

// ParsePacket decodes one datagram. It checks the mode (6), that the count
// fits the datagram (ErrTruncated) and that neither the count nor the
// datagram exceed what a mode 6 peer may send (ErrOversized). Data aliases b.
// Padding and any trailing authenticator are ignored.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < HeaderLen {
		return Packet{}, fmt.Errorf("%w: %d bytes, header needs %d", ErrTruncated, len(b), HeaderLen)
	}
	if len(b) > MaxPacketLen {
		return Packet{}, fmt.Errorf("%w: %d bytes (limit %d)", ErrOversized, len(b), MaxPacketLen)
	}
	if mode := b[0] & 7; mode != modeControl {
		return Packet{}, fmt.Errorf("%w: mode %d", ErrNotMode6, mode)
	}
	p := Packet{
		Leap:     b[0] >> 6,
		Version:  (b[0] >> 3) & 7,
		Response: b[1]&0x80 != 0,
		Error:    b[1]&0x40 != 0,
		More:     b[1]&0x20 != 0,
		Opcode:   b[1] & 0x1f,
		Sequence: binary.BigEndian.Uint16(b[2:]),
		Status:   binary.BigEndian.Uint16(b[4:]),
		AssocID:  binary.BigEndian.Uint16(b[6:]),
		Offset:   binary.BigEndian.Uint16(b[8:]),
	}
	count := int(binary.BigEndian.Uint16(b[10:]))
	if count > MaxFragmentData {
		return Packet{}, fmt.Errorf("%w: count %d (limit %d)", ErrOversized, count, MaxFragmentData)
	}
	if HeaderLen+count > len(b) {
		return Packet{}, fmt.Errorf("%w: count %d but %d data bytes", ErrTruncated, count, len(b)-HeaderLen)
	}
	p.Data = b[HeaderLen : HeaderLen+count : HeaderLen+count]
	return p, nil
}

// Append encodes p after b, padding the data to a multiple of 4 bytes, and
// returns the extended slice. It panics if Data is longer than 65535 bytes
// (a programming error; callers fragment at MaxFragmentData).
func (p Packet) Append(b []byte) []byte {
	if len(p.Data) > 0xffff {
		panic("ntp: packet data longer than 65535 bytes")
	}
	var h [HeaderLen]byte
	h[0] = p.Leap<<6 | (p.Version&7)<<3 | modeControl
	h[1] = p.Opcode & 0x1f
	if p.Response {
		h[1] |= 0x80
	}
	if p.Error {
		h[1] |= 0x40
	}
	if p.More {
		h[1] |= 0x20
	}
	binary.BigEndian.PutUint16(h[2:], p.Sequence)
	binary.BigEndian.PutUint16(h[4:], p.Status)
	binary.BigEndian.PutUint16(h[6:], p.AssocID)
	binary.BigEndian.PutUint16(h[8:], p.Offset)
	binary.BigEndian.PutUint16(h[10:], uint16(len(p.Data)))
	b = append(b, h[:]...)
	b = append(b, p.Data...)
	for pad := (4 - len(p.Data)%4) % 4; pad > 0; pad-- {
		b = append(b, 0)
	}
	return b
}

// ErrorCode is the code a server puts in the high byte of the status word
// of a reply with the E bit set.
type ErrorCode uint8

// Error codes (RFC 9327 section 2.4, ntpd's CERR_*).
const (
	CodeUnspecified    ErrorCode = 0
	CodePermission     ErrorCode = 1
	CodeBadFormat      ErrorCode = 2
	CodeBadOpcode      ErrorCode = 3
	CodeUnknownAssoc   ErrorCode = 4
	CodeUnknownVar     ErrorCode = 5
	CodeBadValue       ErrorCode = 6
	CodeAccessRestrict ErrorCode = 7
)

var errorCodeText = [...]string{
	CodeUnspecified:    "unspecified error",
	CodePermission:     "permission denied",
	CodeBadFormat:      "bad request format",
	CodeBadOpcode:      "unknown opcode",
	CodeUnknownAssoc:   "unknown association",
	CodeUnknownVar:     "unknown variable",
	CodeBadValue:       "bad value",
	CodeAccessRestrict: "access restricted",
}

// String is the text ntpq shows for the code ("unknown variable").
func (c ErrorCode) String() string {
	if int(c) < len(errorCodeText) {
		return errorCodeText[c]
	}
	return fmt.Sprintf("error code %d", uint8(c))
}

// ServerError is a reply with the E bit set.
type ServerError struct {
	Opcode  uint8
	AssocID uint16
	Code    ErrorCode
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("server error on %s assoc %d: %s", opName(e.Opcode), e.AssocID, e.Code)
}

func opName(op uint8) string {
	switch op {
	case OpReadStat:
		return "READSTAT"
	case OpReadVar:
		return "READVAR"
	}
	return fmt.Sprintf("opcode %d", op)
}

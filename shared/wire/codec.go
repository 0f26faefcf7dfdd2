package wire

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Decode limits for untrusted input. A frame is at most HardMaxFrame bytes,
// and every CBOR item takes at least one byte, so MaxArrayElements bounds
// nothing a frame could not; the limits stop deep nesting and huge maps.
const (
	maxNesting       = 16
	maxArrayElements = 1 << 21
	maxMapPairs      = 4096
)

// Codec encodes and decodes messages. It is safe for concurrent use.
type Codec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

// NewCodec builds the encoder (core deterministic: shortest floats and
// integers) and the limited decoder (bounded nesting, array and map sizes;
// no indefinite lengths, no tags, no duplicate map keys, valid UTF-8 only).
func NewCodec() (*Codec, error) {
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return nil, fmt.Errorf("cbor encoder: %w", err)
	}
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  maxNesting,
		MaxArrayElements: maxArrayElements,
		MaxMapPairs:      maxMapPairs,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		return nil, fmt.Errorf("cbor decoder: %w", err)
	}
	return &Codec{enc: enc, dec: dec}, nil
}

// Marshal encodes a message body (without the frame header).
func (c *Codec) Marshal(m Message) ([]byte, error) {
	b, err := c.enc.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type(), err)
	}
	return b, nil
}

// AppendFrame appends the message as a whole frame to dst.
func (c *Codec) AppendFrame(dst []byte, m Message) ([]byte, error) {
	body, err := c.Marshal(m)
	if err != nil {
		return dst, err
	}
	if len(body)+1 > HardMaxFrame {
		return dst, fmt.Errorf("encode %s: %w: %d bytes", m.Type(), ErrFrameTooLarge, len(body)+1)
	}
	dst = AppendFrameHeader(dst, m.Type(), len(body))
	return append(dst, body...), nil
}

// Unmarshal decodes body into m with the limited decode mode, then validates it.
func (c *Codec) Unmarshal(body []byte, m Message) error {
	if b, ok := m.(*Batch); ok && IsArrayForm(body) {
		var v1 batchV1
		if err := c.dec.Unmarshal(body, &v1); err != nil {
			return fmt.Errorf("decode %s (version 1): %w", m.Type(), err)
		}
		*b = Batch{Seq: v1.Seq, Groups: v1.Groups, Statuses: v1.Statuses, Hosts: v1.Hosts, Dropped: v1.Dropped}
		return m.Validate()
	}
	if err := c.dec.Unmarshal(body, m); err != nil {
		return fmt.Errorf("decode %s: %w", m.Type(), err)
	}
	return m.Validate()
}

// IsArrayForm reports whether a CBOR body starts with an array (major type
// 4): how a record written by an earlier version whose structure has since
// become a map with integer keys (major type 5) is told apart.
func IsArrayForm(body []byte) bool {
	return len(body) > 0 && body[0]>>5 == 4
}

// Decode decodes the body of a frame of type t into a new message of that type.
func (c *Codec) Decode(t Type, body []byte) (Message, error) {
	var m Message
	switch t {
	case TypeHello:
		m = new(Hello)
	case TypeHelloAck:
		m = new(HelloAck)
	case TypeSeries:
		m = new(Series)
	case TypeBatch:
		m = new(Batch)
	case TypeAck:
		m = new(Ack)
	case TypeError:
		m = new(Error)
	default:
		return nil, fmt.Errorf("unknown message %s", t)
	}
	if err := c.Unmarshal(body, m); err != nil {
		return nil, err
	}
	return m, nil
}

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
// no indefinite lengths, no tags, no duplicate map keys). Text strings are
// decoded even when they are not valid UTF-8: a device string that slipped
// past an agent's cleaning must not make a whole frame undecodable (that
// wedged a site, issue 15). Receivers clean what they keep or show
// (shared/safetext). The encoder writes strings as they are: senders
// clean device strings first (the agent's batcher guard).
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
		UTF8:             cbor.UTF8DecodeInvalid,
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

// DecodeBatch decodes a batch body without validating it: the collector
// screens it (Batch.Screen), keeping what is usable. It also returns the
// batch's seq when the body is too broken to decode but the seq can still
// be read (0 if not), so the batch can be refused by number.
func (c *Codec) DecodeBatch(body []byte) (*Batch, uint64, error) {
	b := new(Batch)
	var err error
	if IsArrayForm(body) {
		var v1 batchV1
		if err = c.dec.Unmarshal(body, &v1); err == nil {
			*b = Batch{Seq: v1.Seq, Groups: v1.Groups, Statuses: v1.Statuses, Hosts: v1.Hosts, Dropped: v1.Dropped}
			return b, b.Seq, nil
		}
	} else if err = c.dec.Unmarshal(body, b); err == nil {
		return b, b.Seq, nil
	}
	return nil, peekSeq(body), fmt.Errorf("decode batch: %w", err)
}

// peekSeq reads a batch's seq from the start of its body without decoding
// the rest: the first item of the version 1 array, or the value of key 1,
// which a deterministic encoder writes first in the version 2 map. 0 when
// the body does not start that way.
func peekSeq(body []byte) uint64 {
	if len(body) < 2 {
		return 0
	}
	var rest []byte
	switch {
	case body[0]>>5 == 4 && body[0]&0x1f < 24 && body[0]&0x1f > 0: // array of up to 23 items
		rest = body[1:]
	case body[0]>>5 == 5 && body[0]&0x1f < 24 && body[0]&0x1f > 0 && body[1] == 0x01: // map, first key 1
		rest = body[2:]
	default:
		return 0
	}
	if len(rest) == 0 || rest[0]>>5 != 0 { // an unsigned integer
		return 0
	}
	info := rest[0] & 0x1f
	var n int
	switch {
	case info < 24:
		return uint64(info)
	case info == 24:
		n = 1
	case info == 25:
		n = 2
	case info == 26:
		n = 4
	case info == 27:
		n = 8
	default:
		return 0
	}
	if len(rest) < 1+n {
		return 0
	}
	var v uint64
	for _, b := range rest[1 : 1+n] {
		v = v<<8 | uint64(b)
	}
	return v
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
	case TypeReject:
		m = new(Reject)
	default:
		return nil, fmt.Errorf("unknown message %s", t)
	}
	if err := c.Unmarshal(body, m); err != nil {
		return nil, err
	}
	return m, nil
}

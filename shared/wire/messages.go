package wire

import (
	"fmt"
	"math"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
)

// Message is implemented by every message type.
type Message interface {
	// Type is the frame type that carries the message.
	Type() Type
	// Validate checks what CBOR decoding cannot: pairing of arrays, valid enums.
	Validate() error
}

// Hello opens a session (agent to collector).
type Hello struct {
	_        struct{} `cbor:",toarray"`
	Agent    string   // the agent's name; must match its certificate
	Software string   // agent build version, for logs and the UI
	Proto    uint16   // ProtocolVersion
	Epoch    uint64   // spool epoch: random, fixed for the life of the spool
	FirstSeq uint64   // oldest batch still in the spool (0 if empty)
	LastSeq  uint64   // newest batch in the spool (0 if none yet)
	Dropped  Drops    // cumulative drop counters of this epoch
}

// HelloAck answers Hello; the link is up only once it arrives.
type HelloAck struct {
	_         struct{} `cbor:",toarray"`
	Collector string   // collector name
	Software  string   // collector build version
	Epoch     uint64   // the epoch AckedSeq refers to (the agent's, echoed)
	AckedSeq  uint64   // highest seq of Epoch durably stored; 0 when the epoch is new
	MaxFrame  uint32   // largest frame the collector reads
	Hosts     []string // host name patterns the agent may write
}

// SeriesDef defines one series number.
type SeriesDef struct {
	_    struct{} `cbor:",toarray"`
	Host string
	Attr string
	DS   string
	Kind sample.Kind
}

// Series defines series numbers First, First+1, ... for the rest of the connection.
type Series struct {
	_     struct{} `cbor:",toarray"`
	First uint32
	Defs  []SeriesDef
}

// Group holds the samples of one poll time.
type Group struct {
	_        struct{}  `cbor:",toarray"`
	Time     int64     // Unix milliseconds
	Ints     []uint64  // pairs: series id, value (kinds with IsInteger)
	FloatIDs []uint32  // series ids of Floats, index for index
	Floats   []float64 // values of Gauge and Derive series
	Resets   []uint32  // series ids whose sample follows a discontinuity
}

// AttrStatus reports the state of an attribute.
type AttrStatus struct {
	_      struct{} `cbor:",toarray"`
	Host   string
	Attr   string
	Status status.Status
	Reason string // short human text: "ifOperStatus down", "offset 210 ms > 100 ms"
	Time   int64  // Unix milliseconds
}

// Attribute kinds (Attr.Kind).
const (
	KindHost      = "host"      // reachability and poll round-trip time; key "host"
	KindInterface = "interface" // an IF-MIB interface; key "if:<identity>"
	KindNTP       = "ntp"       // an NTP server's synchronisation; key "ntp"
	KindNTPPeer   = "ntp-peer"  // one association of an NTP server; key "ntp-peer:<address>"
	KindOID       = "oid"       // a user-listed OID; key "oid:<name>"
	KindStorage   = "storage"   // HOST-RESOURCES-MIB storage; key "storage:<descr>"
	KindProcessor = "processor" // HOST-RESOURCES-MIB processor; key "cpu:<index>"
)

// DSDef describes one data source of an attribute's archive.
type DSDef struct {
	_    struct{} `cbor:",toarray"`
	Name string
	Kind sample.Kind
	Min  float64 // NaN: no lower limit
	Max  float64 // NaN: no upper limit
}

// Attr describes an attribute of a host, as discovered.
type Attr struct {
	_        struct{}          `cbor:",toarray"`
	Key      string            // stable identity within the host
	Kind     string            // one of the Kind* constants
	Name     string            // short display name ("ge-0/0/1")
	Descr    string            // longer description (ifAlias, sysDescr...)
	Props    map[string]string // kind-specific facts (ifIndex, ifSpeed, refid...)
	Interval uint32            // poll interval in seconds: the archive's step
	DS       []DSDef           // the archive's data sources
}

// Host describes a polled device or server, as discovered.
type Host struct {
	_           struct{} `cbor:",toarray"`
	Name        string   // configured target name: the host's identity
	Address     string
	SysName     string
	SysDescr    string
	SysObjectID string
	Location    string
	Contact     string
	Attrs       []Attr
	// Complete means Attrs is the host's whole attribute list: attributes
	// the collector knows but that are not listed are gone from the device.
	Complete bool
}

// Drops counts what the agent's spool lost, cumulatively for the epoch.
type Drops struct {
	_       struct{} `cbor:",toarray"`
	Batches uint64   // whole batches dropped because the spool was full or too old
	Samples uint64   // samples in those batches
	Corrupt uint64   // records skipped because their checksum failed
}

// Max returns the larger of each counter. The counters only grow within an
// epoch, but a batch spooled before a drop carries older ones than the
// Hello that declared the drop.
func (d Drops) Max(o Drops) Drops {
	return Drops{Batches: max(d.Batches, o.Batches), Samples: max(d.Samples, o.Samples), Corrupt: max(d.Corrupt, o.Corrupt)}
}

// Batch is one spool record: everything polled in a short window.
//
// Since protocol version 2 a Batch travels as a CBOR map with integer keys,
// so later versions can add fields that older collectors skip: the keys
// below are fixed forever, and a receiver ignores keys it does not know.
// Version 1 sent the same first five fields as an array; Codec decodes both
// forms (spools and journals written by version 1 stay readable).
type Batch struct {
	Seq      uint64       `cbor:"1,keyasint"`
	Groups   []Group      `cbor:"2,keyasint,omitempty"`
	Statuses []AttrStatus `cbor:"3,keyasint,omitempty"`
	Hosts    []Host       `cbor:"4,keyasint,omitempty"`
	Dropped  Drops        `cbor:"5,keyasint"`
	// Traps are the SNMP notifications the agent received (traps.go).
	Traps []Trap `cbor:"6,keyasint,omitempty"`
	// Devices are the hardware entities and neighbours of the hosts
	// discovered in this batch (devices.go). Since protocol version 2;
	// older collectors skip the key.
	Devices []DeviceFacts `cbor:"7,keyasint,omitempty"`
	// Parts marks host inventories split over several batches because
	// they would not fit one frame (see HostPart).
	Parts []HostPart `cbor:"8,keyasint,omitempty"`
}

// HostPart says that the inventory of host Name in this batch is part
// Index (from 0) of Count: a host with more attributes than one frame holds
// (10,000 interfaces with long descriptions) travels in Count consecutive
// batches, each with a Host entry carrying some of its attributes. Only
// the last part carries the host's Complete flag; the receiver then takes
// the attributes of all parts together as the host's list (attributes
// seen in none of them are gone). Since protocol version 2.
type HostPart struct {
	Name  string `cbor:"1,keyasint"`
	Index uint32 `cbor:"2,keyasint"`
	Count uint32 `cbor:"3,keyasint"`
}

// MinMaxFrame is the frame size every collector accepts (its
// listen.max_frame cannot be set lower): agents size batches and
// inventory parts to fit it, whatever the collector they talk to.
const MinMaxFrame = 1 << 20

// batchV1 is a Batch as protocol version 1 encoded it: an array.
type batchV1 struct {
	_        struct{} `cbor:",toarray"`
	Seq      uint64
	Groups   []Group
	Statuses []AttrStatus
	Hosts    []Host
	Dropped  Drops
}

// Ack tells the agent that every batch up to Seq is durably stored.
type Ack struct {
	_   struct{} `cbor:",toarray"`
	Seq uint64
}

// Reject tells an agent (protocol version 2 and later) that the collector
// refused all or part of batch Seq for good: retrying would not change the
// outcome. The collector has durably recorded the refusal before it sends
// Reject, and the Ack that follows covers Seq, so the agent's spool moves
// past the batch and a reconnect never sends it again. An agent counts
// rejects by Kind and shows the latest Reason. Agents of version 1 get the
// Ack only.
//
// Reject is a CBOR map with integer keys: later versions add keys that
// older agents skip.
type Reject struct {
	Seq    uint64 `cbor:"1,keyasint"`
	Kind   string `cbor:"2,keyasint"`           // what was refused: RejectFrame, RejectHost, ...
	Reason string `cbor:"3,keyasint,omitempty"` // human text (may quote device strings: escape when shown)
	Count  uint64 `cbor:"4,keyasint,omitempty"` // units refused: samples, hosts, traps (0 when Whole)
	Whole  bool   `cbor:"5,keyasint,omitempty"` // the whole batch was refused
}

// Reject kinds. The set is open: an agent counts kinds it does not know
// under their own name.
const (
	RejectFrame     = "frame"      // undecodable or invalid content
	RejectOversize  = "oversize"   // a frame over the collector's limit
	RejectClockSkew = "clock-skew" // samples too far ahead of the collector's clock
	RejectHost      = "host"       // a host outside the agent's assigned patterns
	RejectQuota     = "quota"      // a per-agent or per-host quota exceeded
)

// Error codes.
const (
	ErrCodeProtocol      uint16 = 1 // malformed or unexpected message
	ErrCodeUnauthorized  uint16 = 2 // unknown or revoked agent, name/cert mismatch
	ErrCodeForbiddenHost uint16 = 3 // a host the agent is not assigned
	ErrCodeUnknownSeries uint16 = 4 // a series number with no definition
	ErrCodeInternal      uint16 = 5 // the collector could not store the batch
	ErrCodeOverloaded    uint16 = 6 // try again later
)

// Error reports a problem; Fatal means the sender closes the connection.
type Error struct {
	_       struct{} `cbor:",toarray"`
	Code    uint16
	Message string
	Fatal   bool
}

func (*Hello) Type() Type    { return TypeHello }
func (*HelloAck) Type() Type { return TypeHelloAck }
func (*Series) Type() Type   { return TypeSeries }
func (*Batch) Type() Type    { return TypeBatch }
func (*Ack) Type() Type      { return TypeAck }
func (*Error) Type() Type    { return TypeError }
func (*Reject) Type() Type   { return TypeReject }

// Validate checks the protocol version and agent name.
func (m *Hello) Validate() error {
	if m.Agent == "" {
		return fmt.Errorf("hello: empty agent name")
	}
	if m.Proto < MinProtocolVersion || m.Proto > ProtocolVersion {
		return fmt.Errorf("hello: protocol version %d, want %d to %d", m.Proto, MinProtocolVersion, ProtocolVersion)
	}
	if m.LastSeq < m.FirstSeq {
		return fmt.Errorf("hello: last seq %d before first seq %d", m.LastSeq, m.FirstSeq)
	}
	return nil
}

// Validate accepts every HelloAck.
func (m *HelloAck) Validate() error { return nil }

// Validate checks that the numbers do not overflow. A definition that is
// unusable on its own (Check) does not make the message invalid: the
// receiver refuses the samples of that number only, so one bad definition
// cannot stop an agent's other series.
func (m *Series) Validate() error {
	if uint64(m.First)+uint64(len(m.Defs)) > math.MaxUint32+1 {
		return fmt.Errorf("series: numbers overflow")
	}
	return nil
}

// Check reports why a definition is unusable: an invalid kind, or an empty
// host, attribute or data source name.
func (d *SeriesDef) Check() error {
	if !d.Kind.Valid() {
		return fmt.Errorf("invalid kind %d", d.Kind)
	}
	if d.Host == "" || d.Attr == "" || d.DS == "" {
		return fmt.Errorf("empty host, attribute or data source")
	}
	return nil
}

// Validate checks that arrays pair up and statuses are defined.
func (m *Batch) Validate() error {
	if err := m.validateShape(); err != nil {
		return err
	}
	for _, s := range m.Statuses {
		if !s.Status.Valid() {
			return fmt.Errorf("batch %d: attribute %s/%s has invalid status %d", m.Seq, s.Host, s.Attr, s.Status)
		}
	}
	for _, h := range m.Hosts {
		if h.Name == "" {
			return fmt.Errorf("batch %d: host with empty name", m.Seq)
		}
		for _, a := range h.Attrs {
			if a.Key == "" {
				return fmt.Errorf("batch %d: host %s: attribute with empty key", m.Seq, h.Name)
			}
			for _, d := range a.DS {
				if !d.Kind.Valid() {
					return fmt.Errorf("batch %d: %s/%s/%s: invalid kind %d", m.Seq, h.Name, a.Key, d.Name, d.Kind)
				}
			}
		}
	}
	for i := range m.Traps {
		if err := m.Traps[i].Validate(); err != nil {
			return fmt.Errorf("batch %d: %w", m.Seq, err)
		}
	}
	for _, p := range m.Parts {
		if err := p.check(); err != nil {
			return fmt.Errorf("batch %d: %w", m.Seq, err)
		}
	}
	for i := range m.Devices {
		if err := m.Devices[i].Validate(); err != nil {
			return fmt.Errorf("batch %d: %w", m.Seq, err)
		}
	}
	return nil
}

func (p HostPart) check() error {
	if p.Name == "" || p.Count < 2 || p.Index >= p.Count {
		return fmt.Errorf("host part %q %d of %d", p.Name, p.Index, p.Count)
	}
	return nil
}

// validateShape checks what makes a batch unusable as a whole: seq 0, or
// sample arrays that do not pair up.
func (m *Batch) validateShape() error {
	if m.Seq == 0 {
		return fmt.Errorf("batch: seq 0")
	}
	for i := range m.Groups {
		g := &m.Groups[i]
		if len(g.Ints)%2 != 0 {
			return fmt.Errorf("batch %d group %d: odd number of integer id/value items", m.Seq, i)
		}
		for j := 0; j < len(g.Ints); j += 2 {
			if g.Ints[j] > math.MaxUint32 {
				return fmt.Errorf("batch %d group %d: series id %d out of range", m.Seq, i, g.Ints[j])
			}
		}
		if len(g.FloatIDs) != len(g.Floats) {
			return fmt.Errorf("batch %d group %d: %d float ids for %d floats", m.Seq, i, len(g.FloatIDs), len(g.Floats))
		}
	}
	return nil
}

// Screen is the receiver's lenient Validate. It returns an error only when
// the batch is unusable as a whole (seq 0, sample arrays that do not pair
// up); otherwise it removes the parts that Validate would refuse (a status
// with an undefined value, a host without a name, an attribute without a
// key or with an invalid data source kind, a trap out of bounds) and
// returns why each was removed, so the rest of the batch is kept.
func (m *Batch) Screen() (removed []string, err error) {
	if err := m.validateShape(); err != nil {
		return nil, err
	}
	keptS := m.Statuses[:0]
	for _, st := range m.Statuses {
		if !st.Status.Valid() {
			removed = append(removed, fmt.Sprintf("attribute %s/%s has invalid status %d", st.Host, st.Attr, st.Status))
			continue
		}
		keptS = append(keptS, st)
	}
	m.Statuses = keptS
	keptH := m.Hosts[:0]
	for _, h := range m.Hosts {
		if h.Name == "" {
			removed = append(removed, "host with empty name")
			continue
		}
		keptA := h.Attrs[:0]
	attrs:
		for _, a := range h.Attrs {
			if a.Key == "" {
				removed = append(removed, fmt.Sprintf("host %s: attribute with empty key", h.Name))
				continue
			}
			for _, d := range a.DS {
				if !d.Kind.Valid() {
					removed = append(removed, fmt.Sprintf("%s/%s/%s: invalid kind %d", h.Name, a.Key, d.Name, d.Kind))
					continue attrs
				}
			}
			keptA = append(keptA, a)
		}
		h.Attrs = keptA
		keptH = append(keptH, h)
	}
	m.Hosts = keptH
	keptT := m.Traps[:0]
	for i := range m.Traps {
		if err := m.Traps[i].Validate(); err != nil {
			removed = append(removed, err.Error())
			continue
		}
		keptT = append(keptT, m.Traps[i])
	}
	m.Traps = keptT
	keptP := m.Parts[:0]
	for _, p := range m.Parts {
		if err := p.check(); err != nil {
			removed = append(removed, err.Error())
			continue
		}
		keptP = append(keptP, p)
	}
	m.Parts = keptP
	keptD := m.Devices[:0]
	for i := range m.Devices {
		if err := m.Devices[i].Validate(); err != nil {
			removed = append(removed, err.Error())
			continue
		}
		keptD = append(keptD, m.Devices[i])
	}
	m.Devices = keptD
	return removed, nil
}

// Samples counts the samples in the batch.
func (m *Batch) Samples() int {
	n := 0
	for i := range m.Groups {
		n += len(m.Groups[i].Ints)/2 + len(m.Groups[i].Floats)
	}
	return n
}

// Validate accepts every Ack.
func (m *Ack) Validate() error { return nil }

// Validate accepts every Error.
func (m *Error) Validate() error { return nil }

// Validate checks that a Reject names a batch and a kind.
func (m *Reject) Validate() error {
	if m.Seq == 0 || m.Kind == "" {
		return fmt.Errorf("reject: seq %d kind %q", m.Seq, m.Kind)
	}
	return nil
}

// Error makes a received Error usable as a Go error.
func (m *Error) Error() string { return fmt.Sprintf("collector error %d: %s", m.Code, m.Message) }

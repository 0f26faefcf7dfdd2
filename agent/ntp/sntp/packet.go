package sntp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// Wire constants.
const (
	// HeaderLen is the NTP header without extension fields or MAC.
	HeaderLen = 48
	// MaxPacketLen is the longest reply read: a header, NTS or other
	// extension fields and a MAC fit well within it. Longer datagrams are
	// ignored (ErrOversized).
	MaxPacketLen = 1024
	// Version is the NTP version of requests (4).
	Version = 4

	ModeClient = 3
	ModeServer = 4

	// LeapAlarm is the leap indicator of an unsynchronised server.
	LeapAlarm = 3
	// MaxStratum is the stratum of an unsynchronised server (16).
	MaxStratum = 16
)

// Packet errors.
var (
	ErrTruncated = errors.New("truncated NTP packet")
	ErrOversized = errors.New("oversized NTP packet")
)

// Timestamp is an NTP timestamp: seconds since 1900 (of some era) in the
// high 32 bits, the fraction of a second in the low 32 bits.
type Timestamp uint64

// ntpUnixDelta is the seconds from 1900-01-01 (era 0) to 1970-01-01.
const ntpUnixDelta = 2208988800

// TimestampOf converts t to an NTP timestamp (the era folded away).
func TimestampOf(t time.Time) Timestamp {
	sec := t.Unix() + ntpUnixDelta
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return Timestamp(uint64(uint32(sec))<<32 | frac)
}

// Time unfolds the timestamp into the era that puts it nearest to ref, so
// a timestamp is read correctly across the 2036 era boundary as long as
// it is within 68 years of ref.
func (ts Timestamp) Time(ref time.Time) time.Time {
	refSec := ref.Unix() + ntpUnixDelta
	sec := int64(ts >> 32)
	// The era whose second is nearest refSec: the difference of the low
	// 32 bits, read as a signed number.
	d := int64(int32(uint32(sec) - uint32(refSec)))
	unix := refSec + d - ntpUnixDelta
	nsec := (uint64(uint32(ts)) * 1e9) >> 32
	return time.Unix(unix, int64(nsec))
}

// Short is NTP's 16.16 short format (root delay, root dispersion).
type Short uint32

// Duration converts a short value to a duration.
func (s Short) Duration() time.Duration {
	return time.Duration(float64(s) / 65536 * float64(time.Second))
}

// Packet is an NTP header (mode 3 request or mode 4 reply); extension
// fields and MAC are ignored.
type Packet struct {
	Leap      uint8 // 0..3; 3 = the server's clock is not synchronised
	Version   uint8 // 0..7
	Mode      uint8 // 0..7; 3 client, 4 server
	Stratum   uint8 // 0 = Kiss-o'-Death or unspecified, 1 primary, 16 unsynchronised
	Poll      int8  // log2 seconds
	Precision int8  // log2 seconds
	RootDelay Short
	RootDisp  Short
	RefID     uint32
	RefTime   Timestamp
	Origin    Timestamp // T1 as the client sent it (here: the nonce)
	Receive   Timestamp // T2: when the server received the request
	Transmit  Timestamp // T3: when the server sent the reply
}

// Parse decodes one datagram: at least HeaderLen bytes (ErrTruncated), at
// most MaxPacketLen (ErrOversized). It checks nothing else: what makes a
// reply acceptable is Client's business.
func Parse(b []byte) (Packet, error) {
	if len(b) < HeaderLen {
		return Packet{}, fmt.Errorf("%w: %d bytes, the header needs %d", ErrTruncated, len(b), HeaderLen)
	}
	if len(b) > MaxPacketLen {
		return Packet{}, fmt.Errorf("%w: %d bytes (limit %d)", ErrOversized, len(b), MaxPacketLen)
	}
	be := binary.BigEndian
	return Packet{
		Leap:      b[0] >> 6,
		Version:   (b[0] >> 3) & 7,
		Mode:      b[0] & 7,
		Stratum:   b[1],
		Poll:      int8(b[2]),
		Precision: int8(b[3]),
		RootDelay: Short(be.Uint32(b[4:])),
		RootDisp:  Short(be.Uint32(b[8:])),
		RefID:     be.Uint32(b[12:]),
		RefTime:   Timestamp(be.Uint64(b[16:])),
		Origin:    Timestamp(be.Uint64(b[24:])),
		Receive:   Timestamp(be.Uint64(b[32:])),
		Transmit:  Timestamp(be.Uint64(b[40:])),
	}, nil
}

// Append encodes the header onto b.
func (p Packet) Append(b []byte) []byte {
	be := binary.BigEndian
	b = append(b, p.Leap<<6|(p.Version&7)<<3|p.Mode&7, p.Stratum, byte(p.Poll), byte(p.Precision))
	b = be.AppendUint32(b, uint32(p.RootDelay))
	b = be.AppendUint32(b, uint32(p.RootDisp))
	b = be.AppendUint32(b, p.RefID)
	b = be.AppendUint64(b, uint64(p.RefTime))
	b = be.AppendUint64(b, uint64(p.Origin))
	b = be.AppendUint64(b, uint64(p.Receive))
	b = be.AppendUint64(b, uint64(p.Transmit))
	return b
}

// KissCode returns the reference ID as a kiss code ("RATE", "DENY") when
// the packet is a Kiss-o'-Death (stratum 0), cleaned of anything a server
// could send (shared/safetext).
func (p Packet) KissCode() (string, bool) {
	if p.Stratum != 0 {
		return "", false
	}
	return asciiRefID(p.RefID), true
}

// RefIDString renders a reference ID as ntpq shows it: a dotted quad at
// stratum 2 and above (the IPv4 address of the server's source, or an
// IPv6 hash), the ASCII code (trailing NULs dropped, anything not
// printable escaped) at stratum 0 and 1.
func RefIDString(stratum uint8, refID uint32) string {
	if stratum >= 2 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], refID)
		return netip.AddrFrom4(a).String()
	}
	return asciiRefID(refID)
}

func asciiRefID(refID uint32) string {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], refID)
	return safetext.Line(strings.TrimRight(string(a[:]), "\x00"), 16)
}

// maxDelay bounds a believable round-trip delay; larger ones are ignored
// as broken (2^16 s, the span of NTP's short format).
const maxDelay = time.Duration(math.MaxUint16) * time.Second

package chrony

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	fb "github.com/facebook/time/ntp/chrony"
)

// Leap status values of Tracking.Leap (chrony's ntp.h).
const (
	LeapNormal         = 0
	LeapInsertSecond   = 1
	LeapDeleteSecond   = 2
	LeapUnsynchronised = 3
)

// Mode is how chronyd uses a source.
type Mode uint16

// Source modes (RPY_SD_MD_*).
const (
	ModeClient Mode = 0 // a server it polls
	ModePeer   Mode = 1 // a symmetric peer
	ModeRef    Mode = 2 // a reference clock
)

// Char is chronyc's mode column: '^' server, '=' peer, '#' local clock.
func (m Mode) Char() byte {
	switch m {
	case ModeClient:
		return '^'
	case ModePeer:
		return '='
	case ModeRef:
		return '#'
	}
	return ' '
}

// State is the selection state of a source.
type State uint16

// Source states (RPY_SD_ST_*).
const (
	StateSelected      State = 0 // the current best: chronyd is synchronised to it
	StateNonselectable State = 1 // unusable
	StateFalseticker   State = 2 // may be in error
	StateJittery       State = 3 // too variable
	StateUnselected    State = 4 // combined with the selected one
	StateSelectable    State = 5 // not combined
)

// Char is chronyc's state column: '*', '?', 'x', '~', '+', '-'.
func (s State) Char() byte {
	if int(s) < len("*?x~+-") {
		return "*?x~+-"[s]
	}
	return ' '
}

// String names the state.
func (s State) String() string {
	names := []string{"selected", "unusable", "may be in error", "too variable", "combined", "not combined"}
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("state %d", uint16(s))
}

// Tracking is chronyd's own synchronisation (`chronyc tracking`).
type Tracking struct {
	RefID uint32
	// RefName is the reference's address, or (a reference clock, or no
	// reference) the reference ID as text, as chronyc -n shows it in
	// parentheses.
	RefName        string
	Stratum        int
	Leap           int       // LeapNormal ... LeapUnsynchronised
	RefTime        time.Time // UTC
	SystemTime     float64   // s: how far the system clock is from NTP time; positive is slow
	LastOffset     float64   // s
	RMSOffset      float64   // s
	FreqPPM        float64   // positive is fast
	ResidFreqPPM   float64
	SkewPPM        float64
	RootDelay      float64 // s
	RootDispersion float64 // s
	UpdateInterval float64 // s
}

// Synced reports whether chronyd is synchronised: leap status not 3 and
// a stratum from 1 to 15 (what `chronyc tracking` shows as "Leap status :
// Not synchronised" and stratum 0). The reason explains false.
func (t Tracking) Synced() (bool, string) {
	switch {
	case t.Leap == LeapUnsynchronised:
		return false, "leap status: not synchronised"
	case t.Stratum <= 0 || t.Stratum >= 16:
		return false, fmt.Sprintf("stratum %d", t.Stratum)
	}
	return true, ""
}

// Source is one source with its statistics (`sources` and `sourcestats`).
type Source struct {
	// Name is the source as chronyc -n shows it: its IP address, or a
	// reference clock's reference ID ("PPS0", "GPS").
	Name  string
	IsID  bool // an unresolved source (chronyc shows it only with -a)
	Mode  Mode
	State State
	// Stratum and Poll (log2 seconds) as chronyd reports them.
	Stratum int
	Poll    int
	Reach   uint16 // the reachability register; 8 bits in a sane reply
	// LastRx is the age of the last sample in seconds; NoSample when none.
	LastRx     uint32
	Offset     float64 // s: the last sample, adjusted
	OrigOffset float64 // s: the last sample as measured
	Error      float64 // s: its estimated error (+/-)
	Stats      SourceStats
}

// NoSample is Source.LastRx when the source never gave a sample.
const NoSample = ^uint32(0)

// SourceStats is a source's line of `sourcestats`.
type SourceStats struct {
	Name         string // as sourcestats prints it
	NSamples     uint32
	NRuns        uint32
	Span         uint32  // seconds
	ResidFreqPPM float64 // "Frequency"
	SkewPPM      float64 // "Freq Skew"
	Offset       float64 // s, estimated
	StdDev       float64 // s
	OffsetErr    float64 // s
}

// Snapshot is what one round of commands learned from a daemon.
type Snapshot struct {
	Time     time.Time
	Tracking Tracking
	// Sources in chronyd's order, unresolved ones (IsID) included.
	Sources []Source
	// Truncated is set when the daemon claimed more than MaxSources.
	Truncated int
}

// SelectedSource returns the source chronyd is synchronised to, if any.
func (s *Snapshot) SelectedSource() (Source, bool) {
	for _, src := range s.Sources {
		if src.State == StateSelected {
			return src, true
		}
	}
	return Source{}, false
}

// Tracking asks for the daemon's tracking report.
func (s *Session) Tracking(ctx context.Context) (Tracking, error) {
	r, err := s.query(ctx, fb.NewTrackingPacket(), fb.RpyTracking)
	if err != nil {
		return Tracking{}, err
	}
	return trackingFrom(r.(*fb.ReplyTracking)), nil
}

func trackingFrom(tr *fb.ReplyTracking) Tracking {
	t := Tracking{
		RefID: tr.RefID, Stratum: int(tr.Stratum), Leap: int(tr.LeapStatus), RefTime: tr.RefTime.UTC(),
		SystemTime: tr.CurrentCorrection, LastOffset: tr.LastOffset, RMSOffset: tr.RMSOffset,
		FreqPPM: tr.FreqPPM, ResidFreqPPM: tr.ResidFreqPPM, SkewPPM: tr.SkewPPM,
		RootDelay: tr.RootDelay, RootDispersion: tr.RootDispersion, UpdateInterval: tr.LastUpdateInterval,
	}
	if tr.IPAddr == nil {
		t.RefName = RefIDString(tr.RefID)
	} else {
		t.RefName = ipString(tr.IPAddr)
	}
	return t
}

// NumSources asks how many sources the daemon has.
func (s *Session) NumSources(ctx context.Context) (int, error) {
	r, err := s.query(ctx, fb.NewSourcesPacket(), fb.RpyNSources)
	if err != nil {
		return 0, err
	}
	return r.(*fb.ReplySources).NSources, nil
}

// errGone is a source that vanished between REQ_N_SOURCES and its data.
var errGone = errors.New("source gone")

// Source asks for source i's data and statistics.
func (s *Session) Source(ctx context.Context, i int) (Source, error) {
	r, err := s.query(ctx, fb.NewSourceDataPacket(int32(i)), fb.RpySourceData)
	if err != nil {
		return Source{}, goneOr(err)
	}
	src := sourceFrom(r.(*fb.ReplySourceData))
	r, err = s.query(ctx, fb.NewSourceStatsPacket(int32(i)), fb.RpySourceStats)
	if err != nil {
		return Source{}, goneOr(err)
	}
	src.Stats = statsFrom(r.(*fb.ReplySourceStats))
	return src, nil
}

func sourceFrom(sd *fb.ReplySourceData) Source {
	src := Source{
		Mode: Mode(sd.Mode), State: State(sd.State), Stratum: int(sd.Stratum), Poll: int(sd.Poll),
		Reach: sd.Reachability, LastRx: sd.SinceSample,
		Offset: sd.LatestMeas, OrigOffset: sd.OrigLatestMeas, Error: sd.LatestMeasErr,
	}
	ip := *sd.IPAddr
	switch {
	case src.Mode == ModeRef && ip.Family == fb.IPAddrInet4:
		src.Name = RefIDString(binary.BigEndian.Uint32(ip.IP[:4]))
	default:
		src.Name = addrString(ip)
		src.IsID = ip.Family == fb.IPAddrID
	}
	return src
}

func statsFrom(st *fb.ReplySourceStats) SourceStats {
	stats := SourceStats{
		NSamples: st.NSamples, NRuns: st.NRuns, Span: st.SpanSeconds,
		ResidFreqPPM: st.ResidFreqPPM, SkewPPM: st.SkewPPM, Offset: st.EstimatedOffset,
		StdDev: st.StandardDeviation, OffsetErr: st.EstimatedOffsetErr,
	}
	if st.IPAddr.Family == fb.IPAddrUnspec {
		stats.Name = RefIDString(st.RefID)
	} else {
		stats.Name = addrString(*st.IPAddr)
	}
	return stats
}

func goneOr(err error) error {
	var se *StatusError
	if errors.As(err, &se) && se.Status == StatusNoSuchSource {
		return errGone
	}
	return err
}

// Fetch runs one round: tracking, the number of sources, then each
// source's data and statistics. A source that vanished in between is
// left out; any other failure fails the round. now supplies the
// snapshot's time (nil: time.Now).
func Fetch(ctx context.Context, s *Session, now func() time.Time) (*Snapshot, error) {
	if now == nil {
		now = time.Now
	}
	tr, err := s.Tracking(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.NumSources(ctx)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Tracking: tr}
	if n > MaxSources {
		snap.Truncated = n - MaxSources
		n = MaxSources
	}
	for i := 0; i < n; i++ {
		src, err := s.Source(ctx, i)
		if errors.Is(err, errGone) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("source %d: %w", i, err)
		}
		snap.Sources = append(snap.Sources, src)
	}
	snap.Time = now()
	return snap, nil
}

// RefIDString renders a reference ID as chronyc does: its printable
// ASCII characters, the others left out.
func RefIDString(id uint32) string {
	var b []byte
	for i := 0; i < 4; i++ {
		c := byte(id >> (24 - 8*i))
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

// addrString is chronyc's UTI_IPToString.
func addrString(ip fb.IPAddr) string {
	switch ip.Family {
	case fb.IPAddrUnspec:
		return "[UNSPEC]"
	case fb.IPAddrInet4:
		return netip.AddrFrom4([4]byte(ip.IP[:4])).String()
	case fb.IPAddrInet6:
		return netip.AddrFrom16(ip.IP).String()
	case fb.IPAddrID:
		return fmt.Sprintf("ID#%010d", binary.BigEndian.Uint32(ip.IP[:4]))
	}
	return "[UNKNOWN]"
}

func ipString(ip []byte) string {
	if a, ok := netip.AddrFromSlice(ip); ok {
		if a.Is4In6() && len(ip) == 4 {
			a = a.Unmap()
		}
		return a.String()
	}
	return ""
}

// Package ntpsim is a simulated NTP server that answers mode 6 control
// queries (READSTAT and READVAR) the way ntpsec's ntpd does: the same
// variable names, number formats and line breaks, fragments of at most 468
// data bytes padded to 4, error replies with ntpd's codes. It does not
// speak the time protocol itself (mode 3/4): it exists to give the agent
// live-looking associations — unicast peers with real offsets and delays —
// that a loopback ntpd cannot have, for tests and the demo site.
//
// The system state and the peer list can be changed while serving
// (SetPeers, SetSystem); faults can be switched on to test a client's
// reassembly (reorder, duplicate, drop a fragment, wrong sequence, error
// bit, silence). The clock is injectable (Config.Now), so "when" columns and
// timestamps are deterministic in tests.
//
// Invariants: every reply echoes the request's sequence number (unless the
// WrongSequence fault is on), opcode and association id; the fragments of
// one reply tile its data exactly; a Server never sends more than
// 12+468 bytes in one datagram.
package ntpsim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/agent/ntp"
)

// Mode values (RFC 5905 association modes) for Peer.HMode.
const (
	ModeActive    = 1 // symmetric active: ntpq type 's'
	ModePassive   = 2 // symmetric passive: 'S'
	ModeClient    = 3 // client of a server: 'u' (or 'l' for a refclock, 'p' for a pool)
	ModeBroadcast = 5 // broadcast server: 'B' ('M' for a 224.x address)
	ModeBClient   = 6 // broadcast client: 'b'
)

// Peer is one simulated association.
type Peer struct {
	// Address is the remote IP ("192.0.2.10"), or 127.127.T.U for a
	// reference clock (then set RefClock too).
	Address string
	// RefClock is the clock's display name ("LOCAL(0)", "SHM(0)"); ntpd
	// sends it as srchost and ntpq prints it, with type 'l'.
	RefClock string
	// Pool marks a pool association (refid POOL, type 'p').
	Pool    bool
	Stratum int
	// RefID: for stratum 0/1 (and 16) a code up to 4 characters ("GPS",
	// "INIT"); for stratum >= 2 the upstream server's IPv4 address.
	RefID string
	// Offset, Delay, Jitter are the peer's clock filter outputs.
	Offset, Delay, Jitter time.Duration
	// Dispersion; zero means 1.5 ms.
	Dispersion time.Duration
	// Reach is the 8-bit reachability shift register.
	Reach uint8
	// Selection is the selection code 0..7 (6 = system peer).
	Selection uint8
	// HMode is the association mode; zero means ModeClient.
	HMode int
	// PPoll, HPoll are log2 poll intervals; zero means 6 (64 s).
	PPoll, HPoll int
	// LastReceived is when the last packet arrived; zero means never
	// (rec=0x00000000.00000000, "when" shows "-").
	LastReceived time.Time
	// AssocID is the association id; zero means one is assigned from
	// 17767 up (where ntpd starts numbering) in list order.
	AssocID uint16
	// Vars replaces variables with raw text, as sent after "name=" with no
	// quoting (a variable not in the list is appended, in name order). A
	// hostile server: offset=-1e20, stratum=99, a refid with escape
	// sequences or markup. See Hostile.
	Vars map[string]string
}

// System is the simulated server's own state.
type System struct {
	// Leap is the leap indicator; 3 means unsynchronised.
	Leap int
	// Stratum of the server; zero means one more than the system peer's
	// (16 when there is none).
	Stratum int
	// Offset and Jitter of the system clock (sys_jitter).
	Offset, Jitter time.Duration
	// RootDelay, RootDisp.
	RootDelay, RootDisp time.Duration
	// Version is the version string; default "ntpd ntpsec-1.2.2 (simulated)".
	Version string
	// Vars replaces system variables with raw text, as Peer.Vars does.
	Vars map[string]string
}

// Faults make the server misbehave, for testing clients. Each applies to
// every reply until cleared.
type Faults struct {
	Reorder       bool // send the fragments of a reply in reverse order
	Duplicate     bool // send every fragment twice
	DropFragment  int  // drop the fragment with this 1-based index; 0 drops none
	WrongSequence bool // reply with the request's sequence number + 1
	ErrorCode     int  // >0: answer every request with the error bit and this code
	Silent        bool // answer nothing
	// Fragment, if > 0, replaces the 468-byte fragment size (to force more
	// fragments in small replies).
	Fragment int
}

// Config is a simulated server's initial state.
type Config struct {
	System System
	Peers  []Peer
	Faults Faults
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
}

// Server is a simulated NTP server. Its methods are safe for concurrent use.
type Server struct {
	now func() time.Time
	log *slog.Logger

	mu     sync.Mutex
	system System
	peers  []Peer
	faults Faults
	events uint8 // system event counter shown in the status word
}

// New returns a server in the state cfg describes.
func New(cfg Config) *Server {
	s := &Server{now: cfg.Now, log: cfg.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.SetSystem(cfg.System)
	s.SetPeers(cfg.Peers)
	s.SetFaults(cfg.Faults)
	return s
}

// SetPeers replaces the association list. Peers with AssocID 0 get ids
// 17767, 17768, ... in list order (skipping ids already used).
func (s *Server) SetPeers(peers []Peer) {
	ps := append([]Peer(nil), peers...)
	used := map[uint16]bool{}
	for _, p := range ps {
		used[p.AssocID] = true
	}
	next := uint16(17767)
	for i := range ps {
		if ps[i].AssocID != 0 {
			continue
		}
		for used[next] {
			next++
		}
		ps[i].AssocID = next
		used[next] = true
	}
	s.mu.Lock()
	s.peers = ps
	s.events = (s.events + 1) & 0xf
	s.mu.Unlock()
}

// Peers returns a copy of the association list (with assigned ids).
func (s *Server) Peers() []Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Peer(nil), s.peers...)
}

// SetSystem replaces the system state.
func (s *Server) SetSystem(sys System) {
	s.mu.Lock()
	s.system = sys
	s.mu.Unlock()
}

// SetFaults replaces the fault settings.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// ListenAndServe listens on addr ("127.0.0.1:0" for any free port), calls
// ready (if not nil) with the bound address, and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("ntpsim: listen %s: %w", addr, err)
	}
	if ready != nil {
		ready(pc.LocalAddr())
	}
	return s.Serve(ctx, pc)
}

// Serve answers requests on pc until ctx ends, then closes pc and returns
// nil. Datagrams that are not mode 6 requests are ignored.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { _ = pc.Close() })
	defer stop()
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("ntpsim: read: %w", err)
		}
		for _, reply := range s.Handle(buf[:n]) {
			if _, err := pc.WriteTo(reply, from); err != nil && ctx.Err() == nil {
				s.log.Debug("ntpsim: write", "to", from, "err", err)
			}
		}
	}
}

// Handle answers one request datagram with the datagrams to send back (in
// order), faults applied. A datagram that is not a mode 6 request gets no
// answer.
func (s *Server) Handle(req []byte) [][]byte {
	p, err := ntp.ParsePacket(req)
	if err != nil || p.Response {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	s.log.Debug("ntpsim: request", "op", p.Opcode, "assoc", p.AssocID, "seq", p.Sequence)
	if f.Silent {
		return nil
	}
	seq := p.Sequence
	if f.WrongSequence {
		seq++
	}
	reply := ntp.Packet{Version: p.Version, Response: true, Opcode: p.Opcode, Sequence: seq, AssocID: p.AssocID}
	fail := func(code ntp.ErrorCode) [][]byte {
		reply.Error = true
		reply.Status = uint16(code) << 8
		return [][]byte{reply.Append(nil)}
	}
	if f.ErrorCode > 0 {
		return fail(ntp.ErrorCode(f.ErrorCode))
	}
	now := s.now()
	var data []byte
	switch p.Opcode {
	case ntp.OpReadStat:
		if p.AssocID != 0 {
			pi := s.find(p.AssocID)
			if pi < 0 {
				return fail(ntp.CodeUnknownAssoc)
			}
			reply.Status = s.peerStatus(s.peers[pi])
			break
		}
		reply.Status = s.systemStatus()
		// ntpd lists associations newest first.
		for i := len(s.peers) - 1; i >= 0; i-- {
			data = binary.BigEndian.AppendUint16(data, s.peers[i].AssocID)
			data = binary.BigEndian.AppendUint16(data, s.peerStatus(s.peers[i]))
		}
	case ntp.OpReadVar:
		var vars []kv
		if p.AssocID == 0 {
			reply.Status = s.systemStatus()
			vars = s.systemVars(now)
		} else {
			pi := s.find(p.AssocID)
			if pi < 0 {
				return fail(ntp.CodeUnknownAssoc)
			}
			reply.Status = s.peerStatus(s.peers[pi])
			vars = peerVars(s.peers[pi], now)
		}
		if len(p.Data) > 0 {
			var ok bool
			if vars, ok = selectVars(vars, string(p.Data)); !ok {
				return fail(ntp.CodeUnknownVar)
			}
		}
		data = formatVars(vars)
	default:
		return fail(ntp.CodeBadOpcode)
	}
	return fragment(reply, data, f)
}

func (s *Server) find(id uint16) int {
	for i, p := range s.peers {
		if p.AssocID == id {
			return i
		}
	}
	return -1
}

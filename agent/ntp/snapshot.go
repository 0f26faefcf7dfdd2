package ntp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Leap indicator value meaning "not synchronised".
const LeapAlarm = 3

// System is a server's system variables (READVAR on assoc 0).
type System struct {
	Status    SystemStatus
	Leap      int     // leap indicator, 3 = alarm (unsynchronised); from "leap"
	Stratum   int     // 16 = unsynchronised; 0 if absent
	RefID     string  // "refid" as sent
	PeerID    uint16  // "peer": assoc id of the system peer, 0 if none
	OffsetMS  float64 // "offset", milliseconds
	JitterMS  float64 // "sys_jitter", milliseconds
	RootDelay float64 // "rootdelay", milliseconds
	RootDisp  float64 // "rootdisp", milliseconds
	Version   string  // "version"
	Vars      VarList // everything the server sent
}

// Peer is one association: its status word and variables.
type Peer struct {
	AssocID uint16
	Status  PeerStatus
	Vars    VarList
}

// Address is the association's remote address: srcadr, or for a pool slot
// or a refclock the srchost name when srcadr is absent.
func (p Peer) Address() string {
	if a, ok := p.Vars.Get("srcadr"); ok && a != "" {
		return a
	}
	a, _ := p.Vars.Get("srchost")
	return a
}

// Snapshot is everything one round of queries learned from a server.
type Snapshot struct {
	// Time is when the round ended (the reference for "when").
	Time   time.Time
	System System
	// Peers in ascending association id order, as ntpq lists them.
	Peers []Peer
}

// SystemPeer returns the association with selection code 6 (or 7, the PPS
// peer, which is also the system peer), if any.
func (s *Snapshot) SystemPeer() (Peer, bool) {
	for _, p := range s.Peers {
		if sel := p.Status.Selection(); sel == SelSysPeer || sel == SelPPSPeer {
			return p, true
		}
	}
	return Peer{}, false
}

// Synced reports whether the server is synchronised: it has a system peer,
// its leap indicator is not 3 (alarm) and its stratum is below 16. The
// reason explains a false answer ("no system peer", "leap indicator 3
// (alarm)", "stratum 16").
func (s *Snapshot) Synced() (bool, string) {
	if _, ok := s.SystemPeer(); !ok {
		return false, "no system peer"
	}
	if s.System.Leap == LeapAlarm {
		return false, "leap indicator 3 (alarm: clock not synchronised)"
	}
	if s.System.Stratum >= 16 || s.System.Stratum <= 0 {
		return false, fmt.Sprintf("stratum %d", s.System.Stratum)
	}
	return true, ""
}

// Fetch runs one round against the server: READSTAT, READVAR of the system
// variables, then READVAR of every association (one that the server no
// longer knows — demobilised in between — is left out). Any other failure
// fails the round. now supplies the time recorded in the snapshot (nil
// means time.Now).
func Fetch(ctx context.Context, s *Session, now func() time.Time) (*Snapshot, error) {
	if now == nil {
		now = time.Now
	}
	sysStatus, assocs, err := s.ReadStat(ctx)
	if err != nil {
		return nil, err
	}
	st, vars, err := s.ReadVar(ctx, 0)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{System: systemFromVars(SystemStatus(st), vars)}
	if snap.System.Status == 0 {
		snap.System.Status = sysStatus
	}
	slices.SortFunc(assocs, func(a, b Association) int { return int(a.ID) - int(b.ID) })
	for _, a := range assocs {
		st, vars, err := s.ReadVar(ctx, a.ID)
		var se *ServerError
		if errors.As(err, &se) && se.Code == CodeUnknownAssoc {
			continue // demobilised since READSTAT: it is gone
		}
		if err != nil {
			return nil, fmt.Errorf("association %d: %w", a.ID, err)
		}
		snap.Peers = append(snap.Peers, Peer{AssocID: a.ID, Status: PeerStatus(st), Vars: vars})
	}
	snap.Time = now()
	return snap, nil
}

func systemFromVars(st SystemStatus, v VarList) System {
	sys := System{Status: st, Leap: int(st.Leap()), Vars: v}
	if n, err := v.Int("leap"); err == nil {
		sys.Leap = int(n)
	}
	if n, err := v.Int("stratum"); err == nil {
		sys.Stratum = int(n)
	}
	sys.RefID, _ = v.Get("refid")
	if n, err := v.Int("peer"); err == nil && n >= 0 && n <= 0xffff {
		sys.PeerID = uint16(n)
	}
	sys.OffsetMS, _ = v.Float("offset")
	sys.JitterMS, _ = v.Float("sys_jitter")
	sys.RootDelay, _ = v.Float("rootdelay")
	sys.RootDisp, _ = v.Float("rootdisp")
	sys.Version, _ = v.Get("version")
	return sys
}

package ntp

// PeerStatus is the 16-bit peer status word of an association: bits 15-11
// flags, 10-8 the selection code, 7-4 the event count, 3-0 the last event.
type PeerStatus uint16

// Peer status flags.
const (
	PeerConfigured  PeerStatus = 0x8000
	PeerAuthEnabled PeerStatus = 0x4000
	PeerAuthentic   PeerStatus = 0x2000
	PeerReachable   PeerStatus = 0x1000
	PeerBroadcast   PeerStatus = 0x0800
)

// Selection codes (bits 10-8 of the peer status word).
const (
	SelReject    uint8 = 0 // discarded: unreachable, or insane
	SelFalsetick uint8 = 1 // discarded by the intersection algorithm
	SelExcess    uint8 = 2 // discarded: not among the first maxclock survivors
	SelOutlier   uint8 = 3 // discarded by the cluster algorithm
	SelCandidate uint8 = 4 // included by the combine algorithm
	SelBackup    uint8 = 5 // backup (more than tos maxclock sources)
	SelSysPeer   uint8 = 6 // the system peer
	SelPPSPeer   uint8 = 7 // the PPS peer (when the prefer peer is valid)
)

// Selection is the selection code, 0..7.
func (s PeerStatus) Selection() uint8 { return uint8(s>>8) & 7 }

// Tally is the character ntpq -p prints before the remote for the
// selection code: ' ', 'x', '.', '-', '+', '#', '*', 'o' for 0..7.
func (s PeerStatus) Tally() byte { return " x.-+#*o"[s.Selection()] }

// Has reports whether all of flags are set.
func (s PeerStatus) Has(flags PeerStatus) bool { return s&flags == flags }

// SystemStatus is the 16-bit system status word: bits 15-14 leap
// indicator, 13-8 clock source, 7-4 event count, 3-0 last event.
type SystemStatus uint16

// Leap is the leap indicator: 0 none, 1 insert, 2 delete, 3 alarm (the
// server's clock is not synchronised).
func (s SystemStatus) Leap() uint8 { return uint8(s >> 14) }

// Source is the clock source code (0 unspecified, 1 PPS, ... 5 local, 6 NTP ...).
func (s SystemStatus) Source() uint8 { return uint8(s>>8) & 0x3f }

// EventCount is the number of system events since the last read (0..15).
func (s SystemStatus) EventCount() uint8 { return uint8(s>>4) & 0xf }

// Event is the code of the most recent system event.
func (s SystemStatus) Event() uint8 { return uint8(s) & 0xf }

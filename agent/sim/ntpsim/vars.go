package ntpsim

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/agent/ntp"
)

// kv is one variable as ntpd formats it: Text is "name=value".
type kv struct {
	Name, Text string
}

func v(name, format string, args ...any) kv {
	return kv{Name: name, Text: name + "=" + fmt.Sprintf(format, args...)}
}

// override replaces the items named in raw by their raw text and appends
// the others in name order.
func override(vars []kv, raw map[string]string) []kv {
	if len(raw) == 0 {
		return vars
	}
	out := append([]kv(nil), vars...)
	done := map[string]bool{}
	for i := range out {
		if text, ok := raw[out[i].Name]; ok {
			out[i].Text = out[i].Name + "=" + text
			done[out[i].Name] = true
		}
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		if !done[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, kv{Name: name, Text: name + "=" + raw[name]})
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// maxLine is ntpd's MAXDATALINELEN: an item that would make the line reach
// it starts a new line.
const maxLine = 72

// formatVars lays the items out as ntpd's ctl_putdata does: ", " between
// items, ",\r\n" when the next item would make the line 72 characters or
// longer, and a final "\r\n".
func formatVars(vars []kv) []byte {
	var b strings.Builder
	line := 0
	for i, it := range vars {
		if i > 0 {
			b.WriteByte(',')
			line++
			if len(it.Text)+line+1 >= maxLine {
				b.WriteString("\r\n")
				line = 0
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(it.Text)
		line += len(it.Text)
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// selectVars keeps the requested names, in request order; ok is false if a
// name is unknown (ntpd answers error 5 then).
func selectVars(vars []kv, request string) ([]kv, bool) {
	var out []kv
	for _, name := range strings.Split(request, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, it := range vars {
			if it.Name == name {
				out = append(out, it)
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}

// sysPeer returns the index of the system peer, or -1.
func (s *Server) sysPeer() int {
	for i, p := range s.peers {
		if p.Selection == 6 || p.Selection == 7 {
			return i
		}
	}
	return -1
}

func isRefClock(p Peer) bool { return strings.HasPrefix(p.Address, "127.127.") }

// stratum is the system stratum: configured, else one more than the system
// peer's, else 16.
func (s *Server) stratum() int {
	if s.system.Stratum != 0 {
		return s.system.Stratum
	}
	if i := s.sysPeer(); i >= 0 {
		return s.peers[i].Stratum + 1
	}
	return 16
}

func (s *Server) systemStatus() uint16 {
	source := 0 // unspecified
	if i := s.sysPeer(); i >= 0 {
		source = 6 // sync_ntp
		if isRefClock(s.peers[i]) {
			source = 5 // sync_local
		}
	}
	const lastEvent = 6 // "restart"... any fixed code; clients read the leap and source bits
	return uint16(s.system.Leap&3)<<14 | uint16(source)<<8 | uint16(s.events&0xf)<<4 | lastEvent
}

func (s *Server) peerStatus(p Peer) uint16 {
	st := uint16(0x80) // configured
	if p.Reach != 0 {
		st |= 0x10 // reachable
	}
	st = st<<8 | uint16(p.Selection&7)<<8
	event := uint16(0x1) // mobilize
	if p.Selection == 6 || p.Selection == 7 {
		event = 0xa // sys_peer
	} else if p.Reach != 0 {
		event = 0x4 // reachable
	}
	return st | 1<<4 | event
}

func (s *Server) systemVars(now time.Time) []kv {
	sys := s.system
	stratum := s.stratum()
	refid := "INIT"
	var reftime ntp.Timestamp
	peerID := uint16(0)
	if i := s.sysPeer(); i >= 0 {
		p := s.peers[i]
		peerID = p.AssocID
		if stratum <= 1 {
			refid = p.RefID
		} else {
			refid = p.Address
		}
		if !p.LastReceived.IsZero() {
			reftime = ntp.TimestampOf(p.LastReceived)
		}
	}
	version := sys.Version
	if version == "" {
		version = "ntpd ntpsec-1.2.2 (simulated)"
	}
	return override([]kv{
		v("leap", "%d", sys.Leap&3),
		v("stratum", "%d", stratum),
		v("precision", "%d", -24),
		v("rootdelay", "%.3f", ms(sys.RootDelay)),
		v("rootdisp", "%.3f", ms(sys.RootDisp)),
		v("refid", "%s", refid),
		v("reftime", "%s", reftime),
		v("tc", "%d", 6),
		v("peer", "%d", peerID),
		v("offset", "%.6f", ms(sys.Offset)),
		v("frequency", "%.6f", 0.0),
		v("sys_jitter", "%.6f", ms(sys.Jitter)),
		v("clk_jitter", "%.6f", ms(sys.Jitter)/2),
		v("clock", "%s", ntp.TimestampOf(now)),
		v("processor", "%q", "x86_64"),
		v("system", "%q", "Linux/outpost-sim"),
		v("version", "%q", version),
		v("clk_wander", "%.6f", 0.0),
		v("mintc", "%d", 0),
	}, sys.Vars)
}

// peerRefID renders the refid the way ntpd does: a dotted quad for an
// upstream address at stratum >= 2, else the code.
func peerRefID(p Peer) string {
	if p.Pool {
		return "POOL"
	}
	if p.RefID == "" {
		return "INIT"
	}
	return p.RefID
}

func peerVars(p Peer, now time.Time) []kv {
	hmode := p.HMode
	if hmode == 0 {
		hmode = ModeClient
	}
	ppoll, hpoll := p.PPoll, p.HPoll
	if ppoll == 0 {
		ppoll = 6
	}
	if hpoll == 0 {
		hpoll = 6
	}
	disp := p.Dispersion
	if disp == 0 {
		disp = 1500 * time.Microsecond
	}
	var rec, reftime ntp.Timestamp
	if !p.LastReceived.IsZero() {
		rec = ntp.TimestampOf(p.LastReceived)
		if !isRefClock(p) {
			reftime = ntp.TimestampOf(p.LastReceived.Add(-17 * time.Second))
		}
	}
	xmt := ntp.TimestampOf(now.Add(-time.Second))
	stratum := p.Stratum
	leap := 0
	if stratum == 0 && !isRefClock(p) || p.Reach == 0 {
		leap = 3
	}
	dst := "127.0.0.1"
	if a, err := netip.ParseAddr(p.Address); err == nil && a.Is6() && !a.Is4In6() {
		dst = "::1"
	}
	filt := func(d time.Duration) string {
		var b strings.Builder
		for i := 0; i < 8; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.2f", ms(d))
		}
		return b.String()
	}
	vars := []kv{
		v("srcadr", "%s", p.Address),
		v("srcport", "%d", 123),
		v("dstadr", "%s", dst),
		v("dstport", "%d", 123),
		v("leap", "%d", leap),
		v("hmode", "%d", hmode),
		v("stratum", "%d", stratum),
		v("ppoll", "%d", ppoll),
		v("hpoll", "%d", hpoll),
		v("precision", "%d", -24),
		v("rootdelay", "%.3f", ms(p.Delay)/2),
		v("rootdisp", "%.3f", ms(disp)*2),
		v("refid", "%s", peerRefID(p)),
		v("reftime", "%s", reftime),
		v("rec", "%s", rec),
		v("xmt", "%s", xmt),
		v("reach", "0x%x", p.Reach),
		v("unreach", "%d", 0),
		v("delay", "%.6f", ms(p.Delay)),
		v("offset", "%.6f", ms(p.Offset)),
		v("jitter", "%.6f", ms(p.Jitter)),
		v("dispersion", "%.6f", ms(disp)),
		v("keyid", "%d", 0),
		v("filtdelay", "%s", filt(p.Delay)),
		v("filtoffset", "%s", filt(p.Offset)),
		v("pmode", "%d", 4),
		v("filtdisp", "%s", filt(disp)),
		v("flash", "0x%x", 0),
		v("mode", "%d", 0),
		v("headway", "%d", 0),
	}
	if p.RefClock != "" {
		vars = append(vars, v("srchost", "%q", p.RefClock))
	}
	return override(append(vars, v("ntscookies", "%d", -1)), p.Vars)
}

// fragment splits data into reply datagrams of at most size data bytes
// (ntp.MaxFragmentData unless the Fragment fault overrides it) and applies
// the delivery faults.
func fragment(reply ntp.Packet, data []byte, f Faults) [][]byte {
	size := ntp.MaxFragmentData
	if f.Fragment > 0 && f.Fragment < size {
		size = f.Fragment
	}
	// The offset field has 16 bits: ntpd can send no more (raw Vars can
	// ask for more).
	data = data[:min(len(data), 0xffff)]
	var out [][]byte
	for off := 0; ; off += size {
		end := min(off+size, len(data))
		p := reply
		p.Offset = uint16(off)
		p.Data = data[off:end]
		p.More = end < len(data)
		out = append(out, p.Append(nil))
		if !p.More {
			break
		}
	}
	if f.DropFragment > 0 && f.DropFragment <= len(out) {
		out = append(out[:f.DropFragment-1:f.DropFragment-1], out[f.DropFragment:]...)
	}
	if f.Reorder {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	if f.Duplicate {
		dup := make([][]byte, 0, 2*len(out))
		for _, d := range out {
			dup = append(dup, d, d)
		}
		out = dup
	}
	return out
}

package ntp

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// Row is one line of the `ntpq -pn` peer table: the display columns exactly
// as ntpq prints them (Tally ... Jitter), and the numbers behind them.
//
// The display columns follow ntpsec's PeerSummary (pylib/util.py):
//   - Tally: the selection code's character (6 = '*');
//   - Remote: srcadr, or the srchost name ntpd sends for a refclock
//     127.127.T.U (driver name and unit: "LOCAL(0)", "SHM(0)") or a pool;
//   - RefID: as sent, wrapped in dots when it is a code rather than an
//     address (".GPS.", ".INIT."); left-truncated with '-' past 15 characters;
//   - Type: from hmode and the address ('u', 'l', 'p', 'b', 'B', 'M', 's', 'S', 'a');
//   - When: seconds since rec (or reftime), with m/h/d above 2048 s, '-' never;
//   - Poll: 2^min(ppoll, hpoll) seconds, same units;
//   - Reach: the register in octal;
//   - Delay, Offset, Jitter: milliseconds in 8 columns, 4 decimals when the
//     server sends 6 (ntpsec), 3 otherwise; jitter falls back to dispersion.
type Row struct {
	AssocID uint16 `json:"assoc_id"`
	// Address is the association's address (srcadr), the attribute identity.
	Address   string `json:"address"`
	Selection uint8  `json:"selection"`

	Tally   string `json:"tally"`
	Remote  string `json:"remote"`
	RefID   string `json:"refid"`
	Stratum int    `json:"st"`
	Type    string `json:"t"`
	When    string `json:"when"`
	Poll    string `json:"poll"`
	Reach   string `json:"reach"`
	Delay   string `json:"delay"`
	Offset  string `json:"offset"`
	Jitter  string `json:"jitter"`

	// WhenSeconds is the age of the last packet in seconds, -1 for never.
	WhenSeconds int64 `json:"when_s"`
	// PollSeconds is the poll interval in seconds.
	PollSeconds int64 `json:"poll_s"`
	// ReachBits is the 8-bit reachability register.
	ReachBits uint8 `json:"reach_bits"`
	// DelayMS, OffsetMS, JitterMS are the values in milliseconds (NaN when
	// the server did not send them). JSON: delay_ms, offset_ms, jitter_ms,
	// omitted when NaN.
	DelayMS  float64 `json:"-"`
	OffsetMS float64 `json:"-"`
	JitterMS float64 `json:"-"`
}

// MarshalJSON adds delay_ms, offset_ms and jitter_ms (when known) to the
// row's fields.
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	num := func(f float64) *float64 {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return &f
	}
	return json.Marshal(struct {
		plain
		DelayMS  *float64 `json:"delay_ms,omitempty"`
		OffsetMS *float64 `json:"offset_ms,omitempty"`
		JitterMS *float64 `json:"jitter_ms,omitempty"`
	}{plain(r), num(r.DelayMS), num(r.OffsetMS), num(r.JitterMS)})
}

// position returns the index of the first item called name, -1 if none:
// ntpq keeps variables in a dict ordered by first appearance.
func (l VarList) position(name string) int {
	for i, v := range l {
		if v.Name == name {
			return i
		}
	}
	return -1
}

// pyNumber mimics ntpq's cast of a value: int(value, 0), else float(value).
func pyNumber(s string) (float64, bool) {
	digits := strings.TrimLeft(s, "+-")
	// Python's int(s, 0) refuses "017" (Go would read octal); float takes it.
	legacyOctal := len(digits) > 1 && digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9'
	if n, err := strconv.ParseInt(s, 0, 64); err == nil && !legacyOctal {
		return float64(n), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	return f, true
}

func (l VarList) num(name string, def float64) float64 {
	if s, ok := l.Get(name); ok {
		if f, ok := pyNumber(s); ok {
			return f
		}
	}
	return def
}

// Row computes the peer's table line as of now (the reference for When).
func (p Peer) Row(now time.Time) Row {
	v := p.Vars
	r := Row{AssocID: p.AssocID, Address: p.Address(), Selection: p.Status.Selection(), Tally: string(p.Status.Tally())}

	srcadr, haveSrc := v.Get("srcadr")
	srchost, haveHost := v.Get("srchost")
	switch {
	case haveSrc && srcadr != "0.0.0.0" && srcadr != "::" && !strings.HasPrefix(srcadr, "127.127"):
		r.Remote = srcadr
	case haveHost:
		r.Remote = srchost
	case haveSrc:
		// A refclock without srchost: ntpq shows the address itself.
		r.Remote = srcadr
	}

	rawRefID, _ := v.Get("refid")
	refid := rawRefID
	if !strings.ContainsAny(refid, ".:") {
		refid = "." + refid + "."
	}
	r.RefID = refid

	r.Stratum = int(v.num("stratum", 20))

	hmode := int(v.num("hmode", 0))
	r.Type = "?"
	switch hmode {
	case 6:
		r.Type = "b"
	case 5:
		r.Type = "B"
		if strings.HasPrefix(srcadr, "224.") {
			r.Type = "M"
		}
	case 3:
		cookies := int(v.num("ntscookies", -1))
		switch {
		case haveHost && strings.Contains(srchost, "("):
			r.Type = "l"
		case rawRefID == "POOL":
			r.Type = "p"
		case strings.HasPrefix(srcadr, "224."):
			r.Type = "a"
		case cookies > -1 && cookies < 10:
			r.Type = string(rune('0' + cookies))
		default:
			r.Type = "u"
		}
	case 1:
		r.Type = "s"
	case 2:
		r.Type = "S"
	}

	// "when": from rec or reftime, whichever ntpq saw last (rec, with ntpd's order).
	r.WhenSeconds = -1
	stampVar := ""
	if pr, pt := v.position("rec"), v.position("reftime"); pr >= 0 || pt >= 0 {
		stampVar = "rec"
		if pt > pr {
			stampVar = "reftime"
		}
	}
	if stampVar != "" {
		if ts, err := v.Timestamp(stampVar); err == nil {
			age := now.Sub(ts.Time(now)).Seconds()
			if n := int64(age); n > 0 {
				r.WhenSeconds = n
			}
		}
	}
	r.When = prettyInterval(r.WhenSeconds)

	ppoll := max(int(v.num("ppoll", 0)), 0)
	hpoll := max(int(v.num("hpoll", 0)), 0)
	r.PollSeconds = int64(1) << min(ppoll, hpoll, 62)
	r.Poll = prettyInterval(r.PollSeconds)

	reach := int64(v.num("reach", 0))
	r.ReachBits = uint8(reach)
	r.Reach = strconv.FormatInt(reach, 8)

	rawDelay, _ := v.Get("delay")
	fmtMS := f8dot3
	if len(rawDelay) > 6 && rawDelay[len(rawDelay)-7] == '.' {
		fmtMS = f8dot4
	}
	col := func(names ...string) (string, float64) {
		// The last of names present in ntpq's order wins (rootdisp vs dispersion).
		best := -1
		name := ""
		for _, n := range names {
			if pos := v.position(n); pos > best {
				best, name = pos, n
			}
		}
		if name == "" {
			return "       .", math.NaN()
		}
		s, _ := v.Get(name)
		f, ok := pyNumber(s)
		if !ok {
			return fmt.Sprintf("%8s", s), math.NaN()
		}
		return fmtMS(f), f
	}
	r.Delay, r.DelayMS = col("delay")
	r.Offset, r.OffsetMS = col("offset")
	if v.position("jitter") >= 0 {
		r.Jitter, r.JitterMS = col("jitter")
	} else {
		r.Jitter, r.JitterMS = col("rootdisp", "dispersion")
	}
	return r
}

// prettyInterval is ntpq's interval format: '-' for <= 0, seconds up to
// 2048, then rounded minutes up to 300, hours up to 96, then days.
func prettyInterval(sec int64) string {
	if sec <= 0 {
		return "-"
	}
	if sec <= 2048 {
		return strconv.FormatInt(sec, 10)
	}
	d := float64(sec+29) / 60
	if d <= 300 {
		return fmt.Sprintf("%dm", int64(d))
	}
	d = (d + 29) / 60
	if d <= 96 {
		return fmt.Sprintf("%dh", int64(d))
	}
	d = (d + 11) / 24
	return fmt.Sprintf("%dd", int64(d))
}

// f8dot4 formats milliseconds in 8 columns with 4 decimals, fewer as the
// magnitude grows (ntpq's f8dot4).
func f8dot4(f float64) string {
	if math.IsNaN(f) {
		return "     nan"
	}
	prec := -1
	if f >= 0 {
		switch {
		case f < 1000:
			prec = 4
		case f < 10000:
			prec = 3
		case f < 100000:
			prec = 2
		case f < 1000000:
			prec = 1
		}
	} else {
		switch {
		case f > -100:
			prec = 4
		case f > -1000:
			prec = 3
		case f > -10000:
			prec = 2
		case f > -100000:
			prec = 1
		}
	}
	return fixed8(f, prec)
}

// f8dot3 is f8dot4 with one decimal less (servers that send 3 decimals).
func f8dot3(f float64) string {
	if math.IsNaN(f) {
		return "     nan"
	}
	prec := -1
	if f >= 0 {
		switch {
		case f < 10000:
			prec = 3
		case f < 100000:
			prec = 2
		case f < 1000000:
			prec = 1
		}
	} else {
		switch {
		case f > -1000:
			prec = 3
		case f > -10000:
			prec = 2
		case f > -100000:
			prec = 1
		}
	}
	return fixed8(f, prec)
}

func fixed8(f float64, prec int) string {
	if prec < 0 {
		if math.IsInf(f, 0) || math.Abs(f) >= 1<<62 {
			// Beyond int64 (an absurd value a server sent): all its digits,
			// as Python's int() prints them.
			return fmt.Sprintf("%8s", strconv.FormatFloat(math.Trunc(f), 'f', -1, 64))
		}
		return fmt.Sprintf("%8d", int64(f))
	}
	return fmt.Sprintf("%8.*f", prec, f)
}

// TableHeader is ntpq -pn's header line (80-column layout).
const TableHeader = "     remote           refid      st t when poll reach   delay   offset   jitter"

// Format renders the row as ntpq -pn prints it (without newline). The
// columns are the server's text, so each is first made one clean line of
// ASCII and visible escapes (shared/safetext; what ParseVarList leaves is
// ASCII, and escapes are ASCII): a server cannot move the terminal's
// cursor or send escape sequences through the table, and byte counts are
// column widths.
func (r Row) Format() string {
	clean := func(s string) string { return safetext.Line(s, safetext.MaxName) }
	var b strings.Builder
	tally := clean(r.Tally)
	if tally == "" {
		tally = " "
	}
	remote := clean(r.Remote)
	if len(remote) > 15 {
		remote = remote[:15]
	}
	fmt.Fprintf(&b, "%s%-15s ", tally, remote)
	refid := clean(r.RefID)
	if len(refid) > 15 {
		b.WriteString("-" + refid[len(refid)-14:])
	} else {
		b.WriteString(refid + strings.Repeat(" ", 15-len(refid)))
	}
	fmt.Fprintf(&b, " %2d %s %4.4s %4.4s  %3s %s %s %s",
		r.Stratum, clean(r.Type), clean(r.When), clean(r.Poll), clean(r.Reach), clean(r.Delay), clean(r.Offset), clean(r.Jitter))
	return b.String()
}

// WriteTable prints the header, the === line and the rows, as ntpq -pn does.
func WriteTable(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString(TableHeader + "\n")
	b.WriteString(strings.Repeat("=", 79) + "\n")
	for _, r := range rows {
		b.WriteString(r.Format() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Rows computes the table of a snapshot, in association id order.
func (s *Snapshot) Rows() []Row {
	rows := make([]Row, 0, len(s.Peers))
	for _, p := range s.Peers {
		rows = append(rows, p.Row(s.Time))
	}
	return rows
}

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/shared/safetext"
)

// Exit codes of `probe ntp` besides 0 and 2 (usage).
const (
	exitNTPTimeout     = 1 // no (complete) answer within the timeout and retries
	exitNTPRefused     = 3 // ICMP port unreachable: nothing listens on the port
	exitNTPServerError = 4 // the server answered with the error bit
)

// newProbeNTPCmd is `outpost-agent probe ntp`: one round of mode 6 queries,
// printed as `ntpq -pn` prints it.
func newProbeNTPCmd() *cobra.Command {
	var (
		timeout time.Duration
		retries int
		asJSON  bool
		tp      timeProbe // --protocol and what chrony, sntp and auto take
	)
	cmd := &cobra.Command{
		Use:   "ntp [flags] HOST[:PORT]",
		Short: "Query an NTP server (mode 6, chrony, or mode 3) and print what the agent sees",
		Long: `Query an NTP server once the way the agent does and print what it answered.

--protocol mode6 (the default): mode 6 control messages (READSTAT, then
READVAR of the system and of every association), printed in ntpq -pn's
layout. --protocol chrony: chronyd's command port (default port 323),
printed as chronyc -n sources prints it (--report sourcestats or tracking
for those). --protocol sntp: plain client requests, one line per sample
with the offset against this machine's clock, the delay, stratum and
refid. --protocol auto: mode 6, then chrony (--chrony-port), then mode 3,
as an NTP target with protocol auto; the protocol that answered is
printed on stderr. --json prints JSON for each.

Unlike ntpq, it exits non-zero when the server cannot be queried and says
why: exit 3 "no NTP daemon listening (ICMP port unreachable)" when the port
is refused, exit 1 "request timed out" (with what was missing) when nothing
complete came back, exit 4 when the server answered with an error
(permission denied, unknown association...).`,
		Example: `  outpost-agent probe ntp 127.0.0.1
  outpost-agent probe ntp --json -t 500ms ntp1.example.net:123
  outpost-agent probe ntp --protocol chrony 127.0.0.1
  outpost-agent probe ntp --protocol chrony --report tracking 127.0.0.1:323
  outpost-agent probe ntp --protocol sntp pool.example.net
  outpost-agent probe ntp --protocol auto 192.0.2.10`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tp.protocol != ntp.ProtocolMode6 {
				return tp.run(cmd, args[0], timeout, retries, asJSON)
			}
			addr, err := ntpHostPort(args[0])
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if retries == 0 {
				retries = -1 // ntp.Client: negative means a single attempt
			}
			sess, err := ntp.Client{Addr: addr, Timeout: timeout, Retries: retries}.Dial(cmd.Context())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			defer sess.Close()
			snap, err := ntp.Fetch(cmd.Context(), sess, nil)
			if err != nil {
				return probeNTPError(err)
			}
			if asJSON {
				return writeNTPJSON(cmd.OutOrStdout(), addr, snap)
			}
			return ntp.WriteTable(cmd.OutOrStdout(), snap.Rows())
		},
	}
	f := cmd.Flags()
	f.DurationVarP(&timeout, "timeout", "t", ntp.DefaultTimeout, "wait for each reply (all its fragments)")
	f.IntVarP(&retries, "retries", "r", ntp.DefaultRetries, "attempts after a timed-out one")
	f.BoolVar(&asJSON, "json", false, "print JSON: the system variables and the table rows")
	tp.flags(f)
	return cmd
}

func probeNTPError(err error) error {
	var se *ntp.ServerError
	switch {
	case errors.Is(err, ntp.ErrRefused):
		return &ExitError{Code: exitNTPRefused, Err: deviceError{err}}
	case errors.As(err, &se):
		return &ExitError{Code: exitNTPServerError, Err: deviceError{err}}
	default:
		return &ExitError{Code: exitNTPTimeout, Err: deviceError{err}}
	}
}

// ntpHostPort accepts HOST, HOST:PORT, [V6] and [V6]:PORT; the port defaults to 123.
func ntpHostPort(arg string) (string, error) {
	host, port := arg, strconv.Itoa(ntp.DefaultPort)
	if h, p, err := net.SplitHostPort(arg); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(arg, "[") && strings.HasSuffix(arg, "]") {
		host = arg[1 : len(arg)-1]
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bad port in %q", arg)
	}
	if host == "" {
		return "", fmt.Errorf("no host in %q", arg)
	}
	return net.JoinHostPort(host, port), nil
}

type ntpProbeJSON struct {
	Server   string          `json:"server"`
	Protocol string          `json:"protocol"`
	Time     time.Time       `json:"time"`
	System   ntpSystemJSON   `json:"system"`
	Peers    []ntp.Row       `json:"peers"`
	Vars     []ntpVarJSONRow `json:"system_variables"`
}

type ntpSystemJSON struct {
	Leap       int      `json:"leap"`
	Stratum    int      `json:"stratum"`
	RefID      string   `json:"refid"`
	Peer       uint16   `json:"peer"`
	OffsetMS   *float64 `json:"offset_ms"`     // null when the server sent no number
	JitterMS   *float64 `json:"sys_jitter_ms"` // null when the server sent no number
	Synced     bool     `json:"synced"`
	SyncReason string   `json:"sync_reason,omitempty"`
	Version    string   `json:"version"`
}

type ntpVarJSONRow struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// writeNTPJSON prints the snapshot as JSON: every string the server sent
// cleaned but not cut to a column (shared/safetext, MaxText), and numbers
// that are not finite (NaN, Inf: a server can send them) as null.
func writeNTPJSON(w io.Writer, addr string, snap *ntp.Snapshot) error {
	synced, why := snap.Synced()
	clean := func(s string) string { return safetext.Line(s, safetext.MaxText) }
	finite := func(f float64) *float64 {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return &f
	}
	rows := snap.Rows()
	for i := range rows {
		r := &rows[i]
		for _, f := range []*string{&r.Address, &r.Tally, &r.Remote, &r.RefID, &r.Type, &r.When, &r.Poll, &r.Reach, &r.Delay, &r.Offset, &r.Jitter} {
			*f = clean(*f)
		}
	}
	out := ntpProbeJSON{
		Server: addr, Protocol: ntp.ProtocolMode6, Time: snap.Time, Peers: rows,
		System: ntpSystemJSON{
			Leap: snap.System.Leap, Stratum: snap.System.Stratum, RefID: clean(snap.System.RefID),
			Peer: snap.System.PeerID, OffsetMS: finite(snap.System.OffsetMS), JitterMS: finite(snap.System.JitterMS),
			Synced: synced, SyncReason: clean(why), Version: clean(snap.System.Version),
		},
	}
	for _, v := range snap.System.Vars {
		out.Vars = append(out.Vars, ntpVarJSONRow{Name: clean(v.Name), Value: clean(v.Value)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

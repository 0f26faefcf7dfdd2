package cli

import (
	"context"
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
	"github.com/spf13/pflag"

	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/ntp/chrony"
	"github.com/outpost-nms/outpost/agent/ntp/sntp"
	"github.com/outpost-nms/outpost/shared/safetext"
)

// timeProbe is `probe ntp` for the protocols beyond mode 6: chrony's
// command port, plain client requests (sntp), and auto.
type timeProbe struct {
	protocol   string
	chronyPort int
	report     string
	samples    int
}

// chrony reports --report selects.
var chronyReports = []string{"sources", "sourcestats", "tracking"}

func (p *timeProbe) flags(f *pflag.FlagSet) {
	f.StringVar(&p.protocol, "protocol", ntp.ProtocolMode6, "mode6, chrony, sntp or auto")
	f.IntVar(&p.chronyPort, "chrony-port", ntp.DefaultChronyPort, "chronyd's command port, for --protocol auto")
	f.StringVar(&p.report, "report", "sources", "with --protocol chrony: sources, sourcestats or tracking")
	f.IntVar(&p.samples, "samples", sntp.DefaultSamples, "with --protocol sntp: requests to send")
}

func (p *timeProbe) run(cmd *cobra.Command, arg string, timeout time.Duration, retries int, asJSON bool) error {
	if !strings.Contains(" chrony sntp auto ", " "+p.protocol+" ") {
		return &ExitError{Code: 2, Err: fmt.Errorf("unknown --protocol %q (want mode6, chrony, sntp or auto)", p.protocol)}
	}
	if !strings.Contains(" "+strings.Join(chronyReports, " ")+" ", " "+p.report+" ") {
		return &ExitError{Code: 2, Err: fmt.Errorf("unknown --report %q (want %s)", p.report, strings.Join(chronyReports, ", "))}
	}
	if p.samples < 1 || p.samples > sntp.MaxSamples {
		return &ExitError{Code: 2, Err: fmt.Errorf("--samples %d out of range (1-%d)", p.samples, sntp.MaxSamples)}
	}
	if p.chronyPort < 1 || p.chronyPort > 65535 {
		return &ExitError{Code: 2, Err: fmt.Errorf("--chrony-port %d out of range", p.chronyPort)}
	}
	if retries == 0 {
		retries = -1 // the clients: negative means a single attempt
	}
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	switch p.protocol {
	case ntp.ProtocolChrony:
		addr, err := hostPortDefault(arg, ntp.DefaultChronyPort)
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		return p.chrony(ctx, out, addr, timeout, retries, asJSON)
	case ntp.ProtocolSNTP:
		addr, err := ntpHostPort(arg)
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		return p.sntp(ctx, out, addr, timeout, asJSON)
	}
	// auto: mode 6, then chrony, then mode 3, one attempt each.
	addr, err := ntpHostPort(arg)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	host, _, _ := net.SplitHostPort(addr)
	chronyAddr := net.JoinHostPort(host, strconv.Itoa(p.chronyPort))
	var reasons []string
	if sess, err := (ntp.Client{Addr: addr, Timeout: timeout, Retries: -1}).Dial(ctx); err == nil {
		snap, err := ntp.Fetch(ctx, sess, nil)
		sess.Close()
		if err == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "protocol: mode6 (%s answered mode 6 control queries)\n", addr)
			if asJSON {
				return writeNTPJSON(out, addr, snap)
			}
			return ntp.WriteTable(out, snap.Rows())
		}
		reasons = append(reasons, "mode6: "+err.Error())
	}
	if sess, err := (chrony.Client{Addr: chronyAddr, Timeout: timeout, Retries: -1}).Dial(ctx); err == nil {
		snap, err := chrony.Fetch(ctx, sess, nil)
		sess.Close()
		if err == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "protocol: chrony (%s answered chrony commands)\n", chronyAddr)
			return p.writeChrony(out, chronyAddr, snap, asJSON)
		}
		reasons = append(reasons, "chrony: "+err.Error())
	}
	res, err := sntp.Client{Addr: addr, Timeout: timeout, Samples: p.samples}.Query(ctx)
	if err == nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "protocol: sntp (%s answered only client requests)\n", addr)
		return p.writeSNTP(ctx, out, addr, res, asJSON)
	}
	reasons = append(reasons, "sntp: "+err.Error())
	return &ExitError{Code: timeProbeExit(err), Err: deviceError{fmt.Errorf("%s: no answer by any protocol: %s", addr, strings.Join(reasons, "; "))}}
}

// timeProbeExit maps an error to the exit codes of `probe ntp`.
func timeProbeExit(err error) int {
	var se *chrony.StatusError
	var kiss *sntp.KissError
	switch {
	case errors.Is(err, chrony.ErrRefused), errors.Is(err, sntp.ErrRefused), errors.Is(err, ntp.ErrRefused):
		return exitNTPRefused
	case errors.As(err, &se), errors.As(err, &kiss):
		return exitNTPServerError
	}
	return exitNTPTimeout
}

func (p *timeProbe) chrony(ctx context.Context, out io.Writer, addr string, timeout time.Duration, retries int, asJSON bool) error {
	sess, err := chrony.Client{Addr: addr, Timeout: timeout, Retries: retries}.Dial(ctx)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer sess.Close()
	snap, err := chrony.Fetch(ctx, sess, nil)
	if err != nil {
		return &ExitError{Code: timeProbeExit(err), Err: deviceError{err}}
	}
	return p.writeChrony(out, addr, snap, asJSON)
}

func (p *timeProbe) writeChrony(out io.Writer, addr string, snap *chrony.Snapshot, asJSON bool) error {
	if asJSON {
		return writeChronyJSON(out, addr, snap)
	}
	switch p.report {
	case "tracking":
		return chrony.WriteTracking(out, snap.Tracking)
	case "sourcestats":
		return chrony.WriteSourceStats(out, snap.Sources)
	}
	return chrony.WriteSources(out, snap.Sources)
}

func (p *timeProbe) sntp(ctx context.Context, out io.Writer, addr string, timeout time.Duration, asJSON bool) error {
	res, err := sntp.Client{Addr: addr, Timeout: timeout, Samples: p.samples}.Query(ctx)
	if err != nil {
		return &ExitError{Code: timeProbeExit(err), Err: deviceError{err}}
	}
	return p.writeSNTP(ctx, out, addr, res, asJSON)
}

// writeSNTP prints one line per sample (the best marked '*'), then what
// the offsets are measured against: this machine's clock and its state.
func (p *timeProbe) writeSNTP(ctx context.Context, out io.Writer, addr string, res *sntp.Result, asJSON bool) error {
	clock := (&ntp.LocalClock{}).State(ctx)
	if asJSON {
		return writeSNTPJSON(out, addr, res, clock)
	}
	cols := []column{{title: " "}, {title: "sample", right: true}, {title: "offset(ms)", right: true}, {title: "delay(ms)", right: true},
		{title: "st", right: true}, {title: "refid", max: 16}, {title: "leap", right: true}}
	var rows [][]string
	for i, s := range res.Samples {
		best := " "
		if i == res.Best {
			best = "*"
		}
		rows = append(rows, []string{best, strconv.Itoa(i + 1), fmt.Sprintf("%+.3f", ms(s.Offset)), fmt.Sprintf("%.3f", ms(s.Delay)),
			strconv.Itoa(int(s.Stratum)), s.RefIDString(), strconv.Itoa(int(s.Leap))})
	}
	if err := writeTable(out, cols, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "offset: %s's clock minus this machine's clock (this machine's clock: %s)\n", addr, safetext.Line(clock.String(), safetext.MaxText))
	if res.Lost > 0 || res.Ignored != "" {
		fmt.Fprintf(out, "%d of %d requests unanswered; %s\n", res.Lost, res.Lost+len(res.Samples), safetext.Line(res.Ignored, safetext.MaxText))
	}
	return err
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

type sntpSampleJSON struct {
	OffsetMS    float64 `json:"offset_ms"`
	DelayMS     float64 `json:"delay_ms"`
	Stratum     int     `json:"stratum"`
	RefID       string  `json:"refid"`
	Leap        int     `json:"leap"`
	Version     int     `json:"version"`
	Poll        int     `json:"poll"`
	RootDelayMS float64 `json:"root_delay_ms"`
	RootDispMS  float64 `json:"root_dispersion_ms"`
	Synced      bool    `json:"synced"`
}

func writeSNTPJSON(w io.Writer, addr string, res *sntp.Result, clock ntp.ClockState) error {
	out := struct {
		Server      string           `json:"server"`
		Protocol    string           `json:"protocol"`
		Samples     []sntpSampleJSON `json:"samples"`
		Best        int              `json:"best"`
		Lost        int              `json:"lost"`
		Ignored     string           `json:"ignored,omitempty"`
		OffsetOf    string           `json:"offset_reference"`
		AgentClock  string           `json:"agent_clock"`
		AgentSynced *bool            `json:"agent_clock_synced"`
	}{Server: addr, Protocol: ntp.ProtocolSNTP, Best: res.Best, Lost: res.Lost, Ignored: safetext.Line(res.Ignored, safetext.MaxText),
		OffsetOf: "this machine's clock", AgentClock: safetext.Line(clock.String(), safetext.MaxText)}
	if clock.Known {
		out.AgentSynced = &clock.Synced
	}
	for _, s := range res.Samples {
		ok, _ := s.Synced()
		out.Samples = append(out.Samples, sntpSampleJSON{OffsetMS: ms(s.Offset), DelayMS: ms(s.Delay), Stratum: int(s.Stratum),
			RefID: s.RefIDString(), Leap: int(s.Leap), Version: int(s.Version), Poll: int(s.Poll),
			RootDelayMS: ms(s.RootDelay), RootDispMS: ms(s.RootDisp), Synced: ok})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type chronySourceJSON struct {
	Name         string   `json:"name"`
	Mode         string   `json:"mode"`
	State        string   `json:"state"`
	MS           string   `json:"ms"`
	Stratum      int      `json:"stratum"`
	Poll         int      `json:"poll"`
	Reach        string   `json:"reach"`
	LastRxS      *uint32  `json:"last_rx_s"`
	OffsetS      *float64 `json:"offset_s"`
	OrigOffsetS  *float64 `json:"orig_offset_s"`
	ErrorS       *float64 `json:"error_s"`
	Line         string   `json:"line"`
	NP           uint32   `json:"np"`
	NR           uint32   `json:"nr"`
	SpanS        uint32   `json:"span_s"`
	FrequencyPPM *float64 `json:"frequency_ppm"`
	SkewPPM      *float64 `json:"freq_skew_ppm"`
	EstOffsetS   *float64 `json:"est_offset_s"`
	StdDevS      *float64 `json:"std_dev_s"`
	StatsLine    string   `json:"stats_line"`
}

func writeChronyJSON(w io.Writer, addr string, snap *chrony.Snapshot) error {
	finite := func(f float64) *float64 {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return &f
	}
	tr := snap.Tracking
	synced, why := tr.Synced()
	type trackingJSON struct {
		RefID           string   `json:"refid"`
		RefName         string   `json:"ref_name"`
		Stratum         int      `json:"stratum"`
		RefTime         string   `json:"ref_time"`
		SystemTimeS     *float64 `json:"system_time_s"`
		LastOffsetS     *float64 `json:"last_offset_s"`
		RMSOffsetS      *float64 `json:"rms_offset_s"`
		FrequencyPPM    *float64 `json:"frequency_ppm"`
		ResidFreqPPM    *float64 `json:"residual_freq_ppm"`
		SkewPPM         *float64 `json:"skew_ppm"`
		RootDelayS      *float64 `json:"root_delay_s"`
		RootDispersionS *float64 `json:"root_dispersion_s"`
		UpdateIntervalS *float64 `json:"update_interval_s"`
		Leap            string   `json:"leap_status"`
		Synced          bool     `json:"synced"`
		SyncReason      string   `json:"sync_reason,omitempty"`
	}
	out := struct {
		Server    string             `json:"server"`
		Protocol  string             `json:"protocol"`
		Time      time.Time          `json:"time"`
		Tracking  trackingJSON       `json:"tracking"`
		Sources   []chronySourceJSON `json:"sources"`
		Truncated int                `json:"sources_not_read,omitempty"`
	}{Server: addr, Protocol: ntp.ProtocolChrony, Time: snap.Time, Truncated: snap.Truncated,
		Tracking: trackingJSON{
			RefID: fmt.Sprintf("%08X", tr.RefID), RefName: safetext.Line(tr.RefName, safetext.MaxText), Stratum: tr.Stratum,
			RefTime: tr.RefTime.UTC().Format(time.RFC3339Nano), SystemTimeS: finite(tr.SystemTime), LastOffsetS: finite(tr.LastOffset),
			RMSOffsetS: finite(tr.RMSOffset), FrequencyPPM: finite(tr.FreqPPM), ResidFreqPPM: finite(tr.ResidFreqPPM),
			SkewPPM: finite(tr.SkewPPM), RootDelayS: finite(tr.RootDelay), RootDispersionS: finite(tr.RootDispersion),
			UpdateIntervalS: finite(tr.UpdateInterval), Leap: chrony.LeapString(tr.Leap), Synced: synced, SyncReason: why,
		}}
	modes := map[chrony.Mode]string{chrony.ModeClient: "server", chrony.ModePeer: "peer", chrony.ModeRef: "refclock"}
	for _, s := range snap.Sources {
		j := chronySourceJSON{
			Name: safetext.Line(s.Name, safetext.MaxText), Mode: modes[s.Mode], State: s.State.String(),
			MS: string([]byte{s.Mode.Char(), s.State.Char()}), Stratum: s.Stratum, Poll: s.Poll, Reach: chrony.ReachString(s.Reach),
			OffsetS: finite(s.Offset), OrigOffsetS: finite(s.OrigOffset), ErrorS: finite(s.Error), Line: s.SourceLine(),
			NP: s.Stats.NSamples, NR: s.Stats.NRuns, SpanS: s.Stats.Span, FrequencyPPM: finite(s.Stats.ResidFreqPPM),
			SkewPPM: finite(s.Stats.SkewPPM), EstOffsetS: finite(s.Stats.Offset), StdDevS: finite(s.Stats.StdDev), StatsLine: s.StatsLine(),
		}
		if s.LastRx != chrony.NoSample {
			v := s.LastRx
			j.LastRxS = &v
		}
		out.Sources = append(out.Sources, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// hostPortDefault is ntpHostPort with another default port.
func hostPortDefault(arg string, def int) (string, error) {
	if _, _, err := net.SplitHostPort(arg); err == nil {
		return ntpHostPort(arg)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(arg, "["), "]")
	if host == "" {
		return "", fmt.Errorf("no host in %q", arg)
	}
	return net.JoinHostPort(host, strconv.Itoa(def)), nil
}

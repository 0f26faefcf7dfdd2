package cli

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/collector/rrd"
)

// newRRDCmd is `outpost-collector rrd`: the archive engine driven with
// rrdtool's own argument syntax and output formats.
func newRRDCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "rrd",
		Short: "Round-robin archives with rrdtool's syntax (create, update, fetch, info, xport, last, first)",
		Long: `rrd drives Outpost's archive engine with rrdtool's argument syntax and
prints rrdtool's output formats, so that scripts written for rrdtool work and
the engine can be compared with rrdtool. Files are rrdtool's own format.
Errors are reported as rrdtool does ("ERROR: ...", exit status 1).`,
	}
	c.AddCommand(newRRDCreateCmd(), newRRDUpdateCmd(), newRRDFetchCmd(), newRRDInfoCmd(),
		newRRDLastCmd(), newRRDFirstCmd(), newRRDXportCmd())
	return c
}

// rrdtoolText rewords engine errors the way rrdtool words them.
func rrdtoolText(path string, err error) error {
	switch {
	case errors.Is(err, rrd.ErrNoMatchingRRA):
		return rrd.ErrNoMatchingRRA
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("opening '%s': No such file or directory", path)
	}
	return err
}

// rrdErr formats an error as rrdtool prints it.
func rrdErr(err error) error {
	return &ExitError{Code: 1, Err: fmt.Errorf("ERROR: %w", err)}
}

func newRRDCreateCmd() *cobra.Command {
	var start, step string
	var noOverwrite bool
	c := &cobra.Command{
		Use:   "create FILE [--start|-b T] [--step|-s S] [--no-overwrite|-O] DS:name:TYPE:heartbeat:min:max... RRA:CF:xff:steps:rows...",
		Short: "Create an archive (rrdtool create)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := parseCreateArgs(args[1:], start, step, time.Now())
			if err != nil {
				return rrdErr(err)
			}
			path := args[0]
			if _, err := os.Stat(path); err == nil {
				if noOverwrite {
					return rrdErr(fmt.Errorf("creating '%s': File exists", path))
				}
				if err := os.Remove(path); err != nil {
					return rrdErr(err)
				}
			}
			if err := rrd.Create(path, spec); err != nil {
				return rrdErr(err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&start, "start", "b", "", "time of the notional last update (default now-10s)")
	c.Flags().StringVarP(&step, "step", "s", "300", "primary data point interval (seconds, or with a unit: 1m)")
	c.Flags().BoolVarP(&noOverwrite, "no-overwrite", "O", false, "fail if the file exists")
	return c
}

// parseDuration reads a count of seconds, or a number with an rrdtool unit
// suffix (s, m, h, d, w, M for 31 days, y for 366 days).
func parseDuration(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 1 {
		switch s[n-1] {
		case 's':
			s = s[:n-1]
		case 'm':
			mult, s = 60, s[:n-1]
		case 'h':
			mult, s = 3600, s[:n-1]
		case 'd':
			mult, s = 86400, s[:n-1]
		case 'w':
			mult, s = 7*86400, s[:n-1]
		case 'M':
			mult, s = 31*86400, s[:n-1]
		case 'y':
			mult, s = 366*86400, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return v * mult, nil
}

func parseLimit(s string) (float64, error) {
	if s == "U" || s == "" {
		return math.NaN(), nil
	}
	v, err := rrd.ParseValue(s)
	if err != nil || v.IsUnknown() {
		return 0, fmt.Errorf("invalid min/max %q", s)
	}
	f, _ := strconv.ParseFloat(v.String(), 64)
	return f, nil
}

func parseCreateArgs(args []string, start, step string, now time.Time) (rrd.Spec, error) {
	var spec rrd.Spec
	st, err := parseDuration(step)
	if err != nil || st < 1 {
		return spec, fmt.Errorf("step size should be no less than one second")
	}
	spec.Step = st
	spec.Start = now.Add(-10 * time.Second).Truncate(time.Second)
	if start != "" {
		ts, err := rrd.ParseTimeSpec(start)
		if err != nil {
			return spec, fmt.Errorf("start time: %w", err)
		}
		s, _, err := rrd.ResolveStartEnd(ts, mustSpec("now"), now)
		if err != nil {
			return spec, err
		}
		spec.Start = s
	}
	for _, a := range args {
		f := strings.Split(a, ":")
		switch {
		case f[0] == "DS" && len(f) == 6:
			hb, err := parseDuration(f[3])
			if err != nil {
				return spec, fmt.Errorf("%s: heartbeat: %w", a, err)
			}
			lo, err := parseLimit(f[4])
			if err != nil {
				return spec, fmt.Errorf("%s: %w", a, err)
			}
			hi, err := parseLimit(f[5])
			if err != nil {
				return spec, fmt.Errorf("%s: %w", a, err)
			}
			spec.DS = append(spec.DS, rrd.DS{Name: f[1], Type: f[2], Heartbeat: hb, Min: lo, Max: hi})
		case f[0] == "RRA" && len(f) == 5:
			xff, err := strconv.ParseFloat(f[2], 64)
			if err != nil {
				return spec, fmt.Errorf("%s: invalid xff", a)
			}
			steps, err := rrdCount(f[3], st, 1)
			if err != nil {
				return spec, fmt.Errorf("%s: steps: %w", a, err)
			}
			rows, err := rrdCount(f[4], st, steps)
			if err != nil {
				return spec, fmt.Errorf("%s: rows: %w", a, err)
			}
			spec.RRAs = append(spec.RRAs, rrd.RRA{CF: f[1], XFF: xff, Steps: int(steps), Rows: int(rows)})
		default:
			return spec, fmt.Errorf("can't parse argument '%s'", a)
		}
	}
	return spec, nil
}

// rrdCount reads an RRA's steps or rows: a plain count, or a duration with a
// unit that is divided by step*per seconds (rrdtool 1.5+ syntax).
func rrdCount(s string, step, per int64) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return 0, err
	}
	if d%(step*per) != 0 {
		return 0, fmt.Errorf("%s is not a multiple of %d seconds", s, step*per)
	}
	return d / (step * per), nil
}

func mustSpec(s string) rrd.TimeSpec {
	ts, _ := rrd.ParseTimeSpec(s)
	return ts
}

func newRRDUpdateCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "update FILE [--template|-t ds:ds...] [--] T:v:v... (T: seconds, N, or negative for now-relative)",
		Short:              "Update an archive (rrdtool update)",
		DisableFlagParsing: true, // "-5:1:2" is a reading, not a flag
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
				return cmd.Help()
			}
			var template []string
			var rest []string
			for i := 0; i < len(args); i++ {
				a := args[i]
				switch {
				case a == "--":
					rest = append(rest, args[i+1:]...)
					i = len(args)
				case (a == "--template" || a == "-t") && i+1 < len(args):
					template = strings.Split(args[i+1], ":")
					i++
				case strings.HasPrefix(a, "--template="):
					template = strings.Split(strings.TrimPrefix(a, "--template="), ":")
				default:
					rest = append(rest, a)
				}
			}
			if len(rest) < 2 {
				//lint:ignore ST1005 rrdtool's own message, kept verbatim (tests compare with rrdtool)
				return rrdErr(errors.New("Not enough arguments"))
			}
			return runUpdate(rest[0], template, rest[1:], time.Now())
		},
	}
}

func runUpdate(path string, template, readings []string, now time.Time) error {
	info, err := rrd.ReadInfo(path)
	if err != nil {
		return rrdErr(rrdtoolText(path, err))
	}
	idx := make([]int, 0, len(info.DS))
	if template == nil {
		for i := range info.DS {
			idx = append(idx, i)
		}
	} else {
		for _, name := range template {
			found := -1
			for i, d := range info.DS {
				if d.Name == name {
					found = i
				}
			}
			if found < 0 {
				return rrdErr(fmt.Errorf("unknown DS name '%s'", name))
			}
			idx = append(idx, found)
		}
	}
	var ups []rrd.Update
	var parseErr error
	for _, r := range readings {
		ts, vals, ok := strings.Cut(r, ":")
		if !ok {
			parseErr = fmt.Errorf("%s: expected timestamp not found in data source from %s", path, r)
			break
		}
		f := strings.Split(vals, ":")
		if len(f) > len(idx) {
			parseErr = fmt.Errorf("%s: found extra data on update argument: %s", path, strings.Join(f[len(idx):], ":"))
			break
		}
		if len(f) < len(idx) {
			parseErr = fmt.Errorf("%s: expected %d data source readings (got %d) from %s", path, len(idx), len(f), ts)
			break
		}
		t, err := rrd.ParseUpdateTime(ts, now)
		if err != nil {
			parseErr = fmt.Errorf("%s: %w", path, err)
			break
		}
		u := rrd.Update{Time: t, Values: make([]rrd.Value, len(info.DS))}
		for j, s := range f {
			u.Values[idx[j]] = rrd.TextValue(s)
		}
		ups = append(ups, u)
	}
	if len(ups) > 0 {
		if err := rrd.UpdateFile(path, ups); err != nil {
			return rrdErr(err)
		}
	}
	if parseErr != nil {
		return rrdErr(parseErr)
	}
	return nil
}

func newRRDFetchCmd() *cobra.Command {
	var start, end, res string
	var align bool
	c := &cobra.Command{
		Use:   "fetch FILE CF [--start|-s T] [--end|-e T] [--resolution|-r S] [--align-start|-a]",
		Short: "Fetch consolidated data (rrdtool fetch)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFetch(cmd.OutOrStdout(), args[0], args[1], start, end, res, align, time.Now())
		},
	}
	c.Flags().StringVarP(&start, "start", "s", "end-1d", "start time (rrdtool syntax)")
	c.Flags().StringVarP(&end, "end", "e", "now", "end time (rrdtool syntax)")
	c.Flags().StringVarP(&res, "resolution", "r", "1", "wished resolution in seconds")
	c.Flags().BoolVarP(&align, "align-start", "a", false, "align start to the resolution")
	return c
}

func runFetch(w io.Writer, path, cf, start, end, res string, align bool, now time.Time) error {
	s, e, err := startEnd(start, end, now)
	if err != nil {
		return rrdErr(err)
	}
	r, err := parseDuration(res)
	if err != nil || r < 1 {
		return rrdErr(fmt.Errorf("resolution: invalid %q", res))
	}
	if s.Unix() < 3600*24*365*10 {
		return rrdErr(errors.New("the first entry to fetch should be after 1980"))
	}
	if align {
		d := time.Duration(s.Unix()%r) * time.Second
		s, e = s.Add(-d), e.Add(-d)
	}
	if e.Before(s) {
		return rrdErr(fmt.Errorf("start (%d) should be less than end (%d)", s.Unix(), e.Unix()))
	}
	out, err := rrd.Fetch(path, cf, s, e, time.Duration(r)*time.Second)
	if err != nil {
		return rrdErr(rrdtoolText(path, err))
	}
	return out.WriteText(w)
}

func startEnd(start, end string, now time.Time) (time.Time, time.Time, error) {
	ss, err := rrd.ParseTimeSpec(start)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("start time: %w", err)
	}
	es, err := rrd.ParseTimeSpec(end)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("end time: %w", err)
	}
	return rrd.ResolveStartEnd(ss, es, now)
}

func newRRDInfoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "info FILE",
		Short: "Print an archive's header (rrdtool info)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := rrd.ReadInfo(args[0])
			if err != nil {
				return rrdErr(rrdtoolText(args[0], err))
			}
			return in.WriteText(cmd.OutOrStdout())
		},
	}
}

func newRRDLastCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "last FILE",
		Short: "Print the time of the last update (rrdtool last)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := rrd.LastUpdate(args[0])
			if err != nil {
				return rrdErr(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Unix())
			return nil
		},
	}
}

func newRRDFirstCmd() *cobra.Command {
	var idx int
	c := &cobra.Command{
		Use:   "first FILE [--rraindex N]",
		Short: "Print the time of an archive's first row (rrdtool first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := rrd.First(args[0], idx)
			if err != nil {
				return rrdErr(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Unix())
			return nil
		},
	}
	c.Flags().IntVar(&idx, "rraindex", 0, "archive index")
	return c
}

func newRRDXportCmd() *cobra.Command {
	var start, end string
	var step int64
	var maxRows int
	var jsonOut bool
	c := &cobra.Command{
		Use:   "xport [--start|-s T] [--end|-e T] [--step S] [--maxrows|-m N] [--json] DEF:v=FILE:ds:CF... XPORT:v[:legend]...",
		Short: "Export data (rrdtool xport, DEF and XPORT only)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, e, err := startEnd(start, end, time.Now())
			if err != nil {
				return rrdErr(err)
			}
			spec := rrd.XportSpec{Start: s, End: e, Step: time.Duration(step) * time.Second, MaxRows: maxRows}
			for _, a := range args {
				switch {
				case strings.HasPrefix(a, "DEF:"):
					vname, rest, ok := strings.Cut(a[4:], "=")
					f := strings.Split(rest, ":")
					if !ok || len(f) < 3 {
						return rrdErr(fmt.Errorf("can't parse '%s'", a))
					}
					n := len(f)
					spec.Defs = append(spec.Defs, rrd.XportDef{VName: vname, Path: strings.Join(f[:n-2], ":"), DS: f[n-2], CF: f[n-1]})
				case strings.HasPrefix(a, "XPORT:"):
					vname, legend, _ := strings.Cut(a[6:], ":")
					spec.Columns = append(spec.Columns, rrd.XportColumn{VName: vname, Legend: legend})
				default:
					return rrdErr(fmt.Errorf("can't parse '%s' (only DEF and XPORT are supported)", a))
				}
			}
			res, err := rrd.Xport(spec)
			if err != nil {
				return rrdErr(err)
			}
			if jsonOut {
				return res.WriteJSON(cmd.OutOrStdout())
			}
			return res.WriteXML(cmd.OutOrStdout())
		},
	}
	c.Flags().StringVarP(&start, "start", "s", "end-1d", "start time (rrdtool syntax)")
	c.Flags().StringVarP(&end, "end", "e", "now", "end time (rrdtool syntax)")
	c.Flags().Int64Var(&step, "step", 0, "wished step in seconds")
	c.Flags().IntVarP(&maxRows, "maxrows", "m", 400, "most rows to export")
	c.Flags().BoolVar(&jsonOut, "json", false, "JSON output like rrdtool xport --json")
	return c
}

package rrd

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"time"
)

// Info is what `rrdtool info` reports: the definitions and the live state of
// an archive file.
type Info struct {
	Filename   string
	Version    string // "0003" or "0005"
	Step       int64  // seconds
	LastUpdate time.Time
	HeaderSize int64 // bytes before the first row
	DS         []DSInfo
	RRA        []RRAInfo
}

// DSInfo is one data source: its definition and the state of the primary
// data point being built.
type DSInfo struct {
	DS
	LastDS     string  // the last reading as text, "U" if unknown
	Value      float64 // accumulated rate x seconds of the current step (NaN unknown)
	UnknownSec uint64  // unknown seconds in the current step
}

// RRAInfo is one archive: its definition, current row and per-DS
// consolidation state.
type RRAInfo struct {
	RRA
	CurRow int
	CDP    []CDPInfo
}

// CDPInfo is the consolidation state of one DS in one archive.
type CDPInfo struct {
	Value             float64 // the value being consolidated
	UnknownDatapoints uint64  // unknown primary points in the current row
}

// ReadInfo reads the header of the archive at path.
func ReadInfo(path string) (*Info, error) {
	f, h, err := openHeader(path)
	if err != nil {
		return nil, fmt.Errorf("info %w", err)
	}
	f.Close()
	return h.info(path), nil
}

// Spec returns the definition the archive was created with (Start is its
// last update).
func (in *Info) Spec() Spec {
	s := Spec{Step: in.Step, Start: in.LastUpdate}
	for _, d := range in.DS {
		s.DS = append(s.DS, d.DS)
	}
	for _, r := range in.RRA {
		s.RRAs = append(s.RRAs, r.RRA)
	}
	return s
}

func (h *header) info(path string) *Info {
	in := &Info{Filename: path, Version: h.version, Step: int64(h.step),
		LastUpdate: time.Unix(h.lastUp, h.lastUsec*1000), HeaderSize: h.headerLen()}
	for i, d := range h.ds {
		p := h.pdp[i]
		in.DS = append(in.DS, DSInfo{
			DS:     DS{Name: d.name, Type: d.typ, Heartbeat: int64(d.heartbeat), Min: d.min, Max: d.max},
			LastDS: p.text(), Value: p.val, UnknownSec: p.unknSec,
		})
	}
	for r, a := range h.rra {
		ri := RRAInfo{RRA: RRA{CF: a.cf, XFF: a.xff, Steps: int(a.pdpCnt), Rows: int(a.rows)}, CurRow: int(h.curRow[r])}
		for d := range h.ds {
			ri.CDP = append(ri.CDP, CDPInfo{Value: h.cdpFloat(r, d, cdpVal), UnknownDatapoints: h.cdp[r*len(h.ds)+d][cdpUnknPDP]})
		}
		in.RRA = append(in.RRA, ri)
	}
	return in
}

// WriteText writes the info in `rrdtool info`'s format (key = value lines).
func (in *Info) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	val := func(v float64) string {
		if math.IsNaN(v) {
			return "NaN"
		}
		return CFormatE(v)
	}
	fmt.Fprintf(bw, "filename = \"%s\"\n", in.Filename)
	fmt.Fprintf(bw, "rrd_version = \"%s\"\n", in.Version)
	fmt.Fprintf(bw, "step = %d\n", in.Step)
	fmt.Fprintf(bw, "last_update = %d\n", in.LastUpdate.Unix())
	fmt.Fprintf(bw, "header_size = %d\n", in.HeaderSize)
	for i, d := range in.DS {
		k := "ds[" + d.Name + "]."
		fmt.Fprintf(bw, "%sindex = %d\n", k, i)
		fmt.Fprintf(bw, "%stype = \"%s\"\n", k, d.Type)
		fmt.Fprintf(bw, "%sminimal_heartbeat = %d\n", k, d.Heartbeat)
		fmt.Fprintf(bw, "%smin = %s\n", k, val(d.Min))
		fmt.Fprintf(bw, "%smax = %s\n", k, val(d.Max))
		fmt.Fprintf(bw, "%slast_ds = \"%s\"\n", k, d.LastDS)
		fmt.Fprintf(bw, "%svalue = %s\n", k, val(d.Value))
		fmt.Fprintf(bw, "%sunknown_sec = %d\n", k, d.UnknownSec)
	}
	for i, r := range in.RRA {
		k := fmt.Sprintf("rra[%d].", i)
		fmt.Fprintf(bw, "%scf = \"%s\"\n", k, r.CF)
		fmt.Fprintf(bw, "%srows = %d\n", k, r.Rows)
		fmt.Fprintf(bw, "%scur_row = %d\n", k, r.CurRow)
		fmt.Fprintf(bw, "%spdp_per_row = %d\n", k, r.Steps)
		fmt.Fprintf(bw, "%sxff = %s\n", k, val(r.XFF))
		for j, c := range r.CDP {
			fmt.Fprintf(bw, "%scdp_prep[%d].value = %s\n", k, j, val(c.Value))
			fmt.Fprintf(bw, "%scdp_prep[%d].unknown_datapoints = %d\n", k, j, c.UnknownDatapoints)
		}
	}
	return bw.Flush()
}

// CFormatE formats v as C's printf("%0.10e"): "1.0000000000e+01", "-nan",
// "nan", "inf", "-inf". rrdtool prints unknown (a negative NaN) as "-nan".
func CFormatE(v float64) string {
	switch {
	case math.IsNaN(v):
		if math.Signbit(v) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	// Go's %e prints at least two exponent digits, like C.
	return fmt.Sprintf("%.10e", v)
}

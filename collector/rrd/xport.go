package rrd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// XportDef is a DEF of rrdtool xport: VName is the DS's values of the archive
// at Path, consolidated with CF.
type XportDef struct {
	VName, Path, DS, CF string
}

// XportColumn is an XPORT: the values of VName with a legend.
type XportColumn struct {
	VName, Legend string
}

// XportSpec is a simple `rrdtool xport`: DEFs and XPORTs (no CDEF or VDEF).
// Step is the wished resolution (0: automatic); MaxRows (default 400) bounds
// the rows the way xport's --maxrows does, by coarsening the step.
type XportSpec struct {
	Start, End time.Time
	Step       time.Duration
	MaxRows    int
	Defs       []XportDef
	Columns    []XportColumn
}

// XportResult is the answer of Xport. Rows[i] is stamped Start+(i+1)*Step
// (rrdtool's "meta start" is the first stamp), one value per column.
type XportResult struct {
	Start, End time.Time
	Step       time.Duration
	Legends    []string
	Rows       [][]float64
}

type xportData struct {
	start, step int64
	ds          int
	nds         int
	data        []float64
}

// Xport computes an export with rrd_xport's semantics for DEF/XPORT: each
// DEF is fetched with resolution max(Step, (End-Start)/MaxRows) and, when the
// archive is finer than that, reduced as rrd_reduce_data does (AVERAGE of
// the known values, MIN, MAX, LAST); the common step is the greatest common
// divisor of the columns' steps; start is rounded down and end up to it.
func Xport(spec XportSpec) (*XportResult, error) {
	if spec.MaxRows == 0 {
		spec.MaxRows = 400
	}
	if spec.MaxRows < 10 {
		return nil, errors.New("maxrows below 10 rows")
	}
	start, end := spec.Start.Unix(), spec.End.Unix()
	if end < start {
		return nil, fmt.Errorf("start (%d) should be less than end (%d)", start, end)
	}
	imStep := max(int64(spec.Step/time.Second), (end-start)/int64(spec.MaxRows))
	if len(spec.Columns) == 0 {
		return nil, errors.New("no XPORT found, nothing to do")
	}
	defs := map[string]*xportData{}
	for _, d := range spec.Defs {
		if _, dup := defs[d.VName]; dup {
			return nil, fmt.Errorf("duplicate variable '%s'", d.VName)
		}
		xd, err := xportFetch(d, start, end, imStep)
		if err != nil {
			return nil, err
		}
		defs[d.VName] = xd
	}
	var g int64
	cols := make([]*xportData, len(spec.Columns))
	res := &XportResult{}
	for i, c := range spec.Columns {
		xd := defs[c.VName]
		if xd == nil {
			return nil, fmt.Errorf("unknown variable '%s'", c.VName)
		}
		cols[i] = xd
		g = gcd(g, xd.step)
		res.Legends = append(res.Legends, strings.TrimLeft(c.Legend, " \t\n\v\f\r"))
	}
	s := start - start%g
	e := end - end%g
	if end > e {
		e += g
	}
	n := (e - s) / g
	res.Start, res.End, res.Step = time.Unix(s, 0), time.Unix(e, 0), time.Duration(g)*time.Second
	res.Rows = make([][]float64, n)
	for r := int64(0); r < n; r++ {
		row := make([]float64, len(cols))
		now := s + r*g
		for i, xd := range cols {
			idx := int64(math.Floor(float64(now-xd.start)/float64(xd.step)))*int64(xd.nds) + int64(xd.ds)
			if idx < 0 || idx >= int64(len(xd.data)) {
				row[i] = unknownValue
			} else {
				row[i] = xd.data[idx]
			}
		}
		res.Rows[r] = row
	}
	return res, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func xportFetch(d XportDef, start, end, imStep int64) (*xportData, error) {
	f, h, err := openHeader(d.Path)
	if err != nil {
		return nil, fmt.Errorf("xport %w", err)
	}
	defer f.Close()
	ds := -1
	for i := range h.ds {
		if h.ds[i].name == d.DS {
			ds = i
		}
	}
	if ds < 0 {
		//lint:ignore ST1005 rrdtool's own message, kept verbatim (tests compare with rrdtool)
		return nil, fmt.Errorf("No DS called '%s' in '%s'", d.DS, d.Path)
	}
	r, err := fetchOpen(f, h, d.CF, start, end, imStep, FetchLimits{})
	if err != nil {
		return nil, fmt.Errorf("xport %s: %w", d.Path, err)
	}
	nds := len(h.ds)
	xd := &xportData{start: r.Start.Unix(), step: int64(r.Step / time.Second), ds: ds, nds: nds}
	xd.data = make([]float64, 0, len(r.Rows)*nds)
	for _, row := range r.Rows {
		xd.data = append(xd.data, row...)
	}
	if xd.step < imStep {
		end := r.End.Unix()
		if err := reduceData(d.CF, xd, &end, imStep); err != nil {
			return nil, err
		}
	}
	return xd, nil
}

// reduceData is rrd_reduce_data: combine rows of the fetched step into rows
// of a multiple of it that is at least want.
func reduceData(cf string, xd *xportData, end *int64, want int64) error {
	cur := xd.step
	factor := int64(math.Ceil(float64(want) / float64(cur)))
	step := cur * factor
	nds := int64(xd.nds)
	src := xd.data
	var dst []float64
	rowCnt := (*end - xd.start) / cur
	endOff := *end % step
	startOff := xd.start % step
	if startOff != 0 {
		xd.start -= startOff
		skip := factor - startOff/cur
		src = src[min(skip*nds, int64(len(src))):]
		for c := int64(0); c < nds; c++ {
			dst = append(dst, unknownValue)
		}
		rowCnt -= skip
	}
	if endOff != 0 {
		*end = *end - endOff + step
		rowCnt -= endOff / cur
	}
	if rowCnt < 0 || rowCnt%factor != 0 {
		return fmt.Errorf("SANITY CHECK: %d rows cannot be reduced by %d", rowCnt, factor)
	}
	for ; rowCnt >= factor; rowCnt -= factor {
		for c := int64(0); c < nds; c++ {
			v := unknownValue
			valid := 0
			for i := int64(0); i < factor; i++ {
				x := src[i*nds+c]
				if math.IsNaN(x) {
					continue
				}
				valid++
				if math.IsNaN(v) {
					v = x
					continue
				}
				switch cf {
				case Average:
					v += x
				case Min:
					v = math.Min(v, x)
				case Max:
					v = math.Max(v, x)
				case Last:
					v = x
				}
			}
			if valid > 0 && cf == Average {
				v /= float64(valid)
			}
			dst = append(dst, v)
		}
		src = src[factor*nds:]
	}
	if endOff != 0 {
		for c := int64(0); c < nds; c++ {
			dst = append(dst, unknownValue)
		}
	}
	xd.step = step
	xd.data = dst
	return nil
}

// WriteJSON writes the result as `rrdtool xport --json` does.
func (r *XportResult) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	step := int64(r.Step / time.Second)
	fmt.Fprintf(bw, "{ \"about\": \"RRDtool graph JSON output\",\n  \"meta\": {\n")
	fmt.Fprintf(bw, "    \"start\": %d,\n", r.Start.Unix()+step)
	fmt.Fprintf(bw, "    \"end\": %d,\n", r.End.Unix())
	fmt.Fprintf(bw, "    \"step\": %d,\n", step)
	fmt.Fprintf(bw, "    \"legend\": [\n")
	for i, l := range r.Legends {
		fmt.Fprintf(bw, "      \"%s\"", escapeJSON(l))
		if i < len(r.Legends)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("          ]\n     },\n  \"data\": [\n")
	for i, row := range r.Rows {
		bw.WriteString("    [ ")
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				bw.WriteString("null")
			} else {
				bw.WriteString(CFormatE(v))
			}
			if j < len(row)-1 {
				bw.WriteString(", ")
			}
		}
		bw.WriteString(" ]")
		if i < len(r.Rows)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("  ]\n}\n")
	return bw.Flush()
}

// escapeJSON escapes a legend for a JSON string.
func escapeJSON(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c < 0x20:
			fmt.Fprintf(&b, "\\u%04x", c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// WriteXML writes the result as `rrdtool xport` (without --json) does.
func (r *XportResult) WriteXML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	step := int64(r.Step / time.Second)
	bw.WriteString("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\n<xport>\n  <meta>\n")
	fmt.Fprintf(bw, "    <start>%d</start>\n    <end>%d</end>\n    <step>%d</step>\n", r.Start.Unix()+step, r.End.Unix(), step)
	fmt.Fprintf(bw, "    <rows>%d</rows>\n    <columns>%d</columns>\n    <legend>\n", len(r.Rows), len(r.Legends))
	for _, l := range r.Legends {
		fmt.Fprintf(bw, "      <entry>%s</entry>\n", l)
	}
	bw.WriteString("    </legend>\n  </meta>\n  <data>\n")
	for _, row := range r.Rows {
		bw.WriteString("    <row>")
		for _, v := range row {
			if math.IsNaN(v) {
				bw.WriteString("<v>NaN</v>")
			} else {
				bw.WriteString("<v>" + CFormatE(v) + "</v>")
			}
		}
		bw.WriteString("</row>\n")
	}
	bw.WriteString("  </data>\n</xport>\n")
	return bw.Flush()
}

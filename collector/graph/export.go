package graph

import (
	"bufio"
	"cmp"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// columns lists the exported columns: per series its AVERAGE, then its
// MAX when present. Each legend names the data source, the consolidation
// and, when the values have one, their unit: "in_octets AVERAGE (bit/s)"
// (the values of an octet counter are exported in bits per second).
func (d *Data) columns() (legend []string, cols [][]float64) {
	unit := ""
	if d.Unit != "" {
		unit = " (" + d.Unit + ")"
	}
	for _, s := range d.Series {
		legend = append(legend, s.Name+" "+cmp.Or(s.AvgCF, CFAverage)+unit)
		cols = append(cols, s.Avg)
		if s.Max != nil {
			legend = append(legend, s.Name+" MAX"+unit)
			cols = append(cols, s.Max)
		}
	}
	return legend, cols
}

// appendCSVText appends a text cell: quoted, with quotes doubled (RFC
// 4180), made valid UTF-8 without control characters (safetext), and
// guarded against spreadsheet formula injection: a cell that starts with
// =, +, -, @ (or a tab or carriage return) gets a leading apostrophe, so
// spreadsheet programs show it as text instead of evaluating it.
func appendCSVText(b []byte, s string) []byte {
	s = safetext.Line(s, safetext.MaxText)
	b = append(b, '"')
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		b = append(b, '\'')
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func appendNum(b []byte, v float64, unknown string) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, unknown...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// WriteCSV writes one header line ("time" and the legend, see columns)
// and one line per row: the row's end stamp in Unix seconds and its
// values; unknown values are empty cells. Text cells are written by
// appendCSVText.
func WriteCSV(w io.Writer, d *Data) error {
	bw := bufio.NewWriter(w)
	legend, cols := d.columns()
	b := []byte(`"time"`)
	for _, l := range legend {
		b = append(b, ',')
		b = appendCSVText(b, l)
	}
	b = append(b, '\n')
	bw.Write(b)
	for i, t := range d.Stamps {
		b = strconv.AppendInt(b[:0], t.Unix(), 10)
		for _, c := range cols {
			b = append(b, ',')
			b = appendNum(b, c[i], "")
		}
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// XportMeta is the "meta" object of `rrdtool xport --json`.
type XportMeta struct {
	Start  int64    `json:"start"` // stamp of the first row, Unix seconds
	End    int64    `json:"end"`   // stamp of the last row
	Step   int64    `json:"step"`  // seconds
	Legend []string `json:"legend"`
}

// Xport is the document `rrdtool xport --json` prints: meta and rows of
// values, null for unknown.
type Xport struct {
	About string       `json:"about"`
	Meta  XportMeta    `json:"meta"`
	Data  [][]*float64 `json:"data"`
}

// XportOf builds the xport document of d.
func XportOf(d *Data) Xport {
	legend, cols := d.columns()
	x := Xport{About: "RRDtool graph JSON output", Meta: XportMeta{Step: int64(d.Step.Seconds()), Legend: legend}, Data: make([][]*float64, len(d.Stamps))}
	if n := len(d.Stamps); n > 0 {
		x.Meta.Start, x.Meta.End = d.Stamps[0].Unix(), d.Stamps[n-1].Unix()
	}
	for i := range d.Stamps {
		row := make([]*float64, len(cols))
		for j, c := range cols {
			if v := c[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
				row[j] = &v
			}
		}
		x.Data[i] = row
	}
	return x
}

// WriteXportJSON writes d in the layout of `rrdtool xport --json` (the
// document XportOf builds), a row at a time: the output is the only copy
// of the values it makes.
func WriteXportJSON(w io.Writer, d *Data) error {
	legend, cols := d.columns()
	x := Xport{About: "RRDtool graph JSON output", Meta: XportMeta{Step: int64(d.Step.Seconds()), Legend: legend}}
	if n := len(d.Stamps); n > 0 {
		x.Meta.Start, x.Meta.End = d.Stamps[0].Unix(), d.Stamps[n-1].Unix()
	}
	about, err := json.Marshal(x.About)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(x.Meta)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"about":`)
	bw.Write(about)
	bw.WriteString(`,"meta":`)
	bw.Write(meta)
	bw.WriteString(`,"data":[`)
	b := make([]byte, 0, 64)
	for i := range d.Stamps {
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, c := range cols {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendNum(b, c[i], "null")
		}
		b = append(b, ']')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// Chart is the JSON the interactive chart reads: uPlot's columnar layout
// (x in Unix seconds, one array per line, null for unknown).
type Chart struct {
	Start    int64         `json:"start"`
	End      int64         `json:"end"`
	Step     int64         `json:"step"`
	P95Step  int64         `json:"p95_step"`
	Unit     string        `json:"unit"`
	Title    string        `json:"title"`
	X        []int64       `json:"x"`
	Series   []ChartSeries `json:"series"`
	Unknowns int           `json:"unknown_rows"` // rows where every average is unknown
}

// ChartSeries is one data source of a Chart.
type ChartSeries struct {
	Name string     `json:"name"`
	Avg  []*float64 `json:"avg"`
	Max  []*float64 `json:"max,omitempty"`
	P95  *float64   `json:"p95"`
}

func nullable(v []float64) []*float64 {
	if v == nil {
		return nil
	}
	out := make([]*float64, len(v))
	for i := range v {
		if x := v[i]; !math.IsNaN(x) && !math.IsInf(x, 0) {
			out[i] = &x
		}
	}
	return out
}

// ChartOf builds the chart JSON of d.
func ChartOf(d *Data) Chart {
	c := Chart{Start: d.RangeStart.Unix(), End: d.RangeEnd.Unix(), Step: int64(d.Step.Seconds()), P95Step: int64(d.P95Step.Seconds()),
		Unit: d.Unit, Title: d.Title, X: make([]int64, len(d.Stamps)), Series: []ChartSeries{}}
	for i, t := range d.Stamps {
		c.X[i] = t.Unix()
	}
	for _, s := range d.Series {
		cs := ChartSeries{Name: s.Name, Avg: nullable(s.Avg), Max: nullable(s.Max)}
		if p := s.P95; !math.IsNaN(p) && !math.IsInf(p, 0) {
			cs.P95 = &p
		}
		c.Series = append(c.Series, cs)
	}
	for i := range d.Stamps {
		all := true
		for _, s := range d.Series {
			if !math.IsNaN(s.Avg[i]) {
				all = false
			}
		}
		if all {
			c.Unknowns++
		}
	}
	return c
}

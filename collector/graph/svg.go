package graph

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

func appendPath(b []byte, polys [][]point, closed bool) []byte {
	for _, p := range polys {
		for i, q := range p {
			if i == 0 {
				b = append(b, 'M')
			} else {
				b = append(b, 'L')
			}
			b = strconv.AppendFloat(b, math.Round(q.x*10)/10, 'f', -1, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, math.Round(q.y*10)/10, 'f', -1, 64)
		}
		if closed {
			b = append(b, 'Z')
		}
	}
	return b
}

// RenderSVG draws d as a standalone SVG document of o.Width x o.Height.
// The drawing matches RenderPNG's geometry.
func RenderSVG(w io.Writer, d *Data, o Options) error {
	o = clampSize(o)
	f := newFrame(d, o)
	bw := bufio.NewWriter(w)
	esc := func(s string) string { return html.EscapeString(label(s)) }
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans Mono,monospace" font-size="11">`+"\n", f.w, f.h, f.w, f.h)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", f.w, f.h)
	fmt.Fprintf(bw, `<rect x="%g" y="%g" width="%g" height="%g" fill="#fbfbfb"/>`+"\n", f.x0, f.y0, f.x1-f.x0, f.y1-f.y0)
	bw.WriteString(`<g stroke="#e2e2e2" stroke-width="1">`)
	for _, t := range f.yticks {
		y := math.Round(t.pos) + 0.5
		fmt.Fprintf(bw, `<line x1="%g" y1="%g" x2="%g" y2="%g"/>`, f.x0, y, f.x1, y)
	}
	for _, t := range f.xticks {
		x := math.Round(t.pos) + 0.5
		fmt.Fprintf(bw, `<line x1="%g" y1="%g" x2="%g" y2="%g"/>`, x, f.y0, x, f.y1)
	}
	bw.WriteString("</g>\n<g fill=\"#222\">")
	for _, t := range f.yticks {
		fmt.Fprintf(bw, `<text x="%g" y="%g" text-anchor="end">%s</text>`, f.x0-6, math.Round(t.pos)+4, esc(t.label))
	}
	for _, t := range f.xticks {
		fmt.Fprintf(bw, `<text x="%g" y="%g" text-anchor="middle">%s</text>`, math.Round(t.pos), f.y1+15, esc(t.label))
	}
	if d.Title != "" {
		fmt.Fprintf(bw, `<text x="%g" y="17" font-weight="bold">%s</text>`, f.x0, esc(d.Title))
	}
	if d.Unit != "" {
		fmt.Fprintf(bw, `<text x="%d" y="17" text-anchor="end" fill="#707070">%s</text>`, f.w-padRight, esc(d.Unit))
	}
	bw.WriteString("</g>\n")
	var b []byte
	for i, s := range d.Series {
		pal := seriesColors[i%len(seriesColors)]
		runs := f.runs(s.Avg, o.Style)
		if pal.area != "" && len(runs) > 0 {
			var polys [][]point
			for _, r := range runs {
				polys = append(polys, f.area(r))
			}
			b = appendPath(b[:0], polys, true)
			fmt.Fprintf(bw, `<path class="avg-area" fill="%s" fill-opacity="0.69" d="%s"/>`+"\n", pal.area, b)
		}
		if mr := f.runs(s.Max, o.Style); s.Max != nil && len(mr) > 0 {
			b = appendPath(b[:0], mr, false)
			fmt.Fprintf(bw, `<path class="max" fill="none" stroke="%s" stroke-opacity="0.56" stroke-width="1" d="%s"/>`+"\n", pal.max, b)
		}
		if len(runs) > 0 {
			b = appendPath(b[:0], runs, false)
			fmt.Fprintf(bw, `<path class="avg" fill="none" stroke="%s" stroke-width="1.5" stroke-linejoin="round" d="%s"/>`+"\n", pal.line, b)
		}
	}
	for i, s := range d.Series {
		if math.IsNaN(s.P95) || math.IsInf(s.P95, 0) {
			continue
		}
		col := "#d32f2f"
		if i > 0 {
			col = seriesColors[i%len(seriesColors)].max
		}
		y := math.Round(f.y(s.P95)) + 0.5
		fmt.Fprintf(bw, `<line class="p95" x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-dasharray="5,4"/>`+"\n", f.x0, y, f.x1, y, col)
	}
	fmt.Fprintf(bw, `<path d="M%g,%gV%gH%g" fill="none" stroke="#707070"/>`+"\n", f.x0-0.5, f.y0, f.y1+0.5, f.x1)
	for i, s := range d.Series {
		pal := seriesColors[i%len(seriesColors)]
		ly := f.y1 + axisBelow + 4 + float64(legendRow*i)
		sw := pal.area
		if sw == "" {
			sw = pal.line
		}
		fmt.Fprintf(bw, `<rect x="%g" y="%g" width="10" height="10" fill="%s" stroke="%s"/><text x="%g" y="%g" fill="#222">%s</text>`+"\n",
			f.x0, ly, sw, pal.line, f.x0+16, ly+9, esc(f.legend(s)))
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

package graph

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

func hexColor(s string, alpha uint8) color.NRGBA {
	var c [3]uint8
	for i := range c {
		var v uint8
		for _, ch := range s[1+2*i : 3+2*i] {
			v <<= 4
			switch {
			case ch >= '0' && ch <= '9':
				v |= uint8(ch - '0')
			case ch >= 'a' && ch <= 'f':
				v |= uint8(ch-'a') + 10
			case ch >= 'A' && ch <= 'F':
				v |= uint8(ch-'A') + 10
			}
		}
		c[i] = v
	}
	return color.NRGBA{c[0], c[1], c[2], alpha}
}

var (
	pngBG     = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	pngPlotBG = color.NRGBA{0xfb, 0xfb, 0xfb, 0xff}
	pngGrid   = color.NRGBA{0xe2, 0xe2, 0xe2, 0xff}
	pngAxis   = color.NRGBA{0x70, 0x70, 0x70, 0xff}
	pngText   = color.NRGBA{0x22, 0x22, 0x22, 0xff}
	pngP95    = color.NRGBA{0xd3, 0x2f, 0x2f, 0xff}
)

type pngCanvas struct {
	img *image.RGBA
	z   *vector.Rasterizer
}

func (c *pngCanvas) rect(x0, y0, x1, y1 int, col color.Color) {
	draw.Draw(c.img, image.Rect(x0, y0, x1, y1), image.NewUniform(col), image.Point{}, draw.Over)
}

// fill rasterises the polygons and paints them with col. Only the
// polygons' bounding box is rasterised: the cost of a Draw is its area.
func (c *pngCanvas) fill(polys [][]point, col color.Color) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range polys {
		if len(p) < 3 {
			continue
		}
		for _, q := range p {
			minX, minY, maxX, maxY = min(minX, q.x), min(minY, q.y), max(maxX, q.x), max(maxY, q.y)
		}
	}
	b := c.img.Bounds()
	r := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX))+1, int(math.Ceil(maxY))+1).Intersect(b)
	if r.Empty() {
		return
	}
	ox, oy := float32(r.Min.X), float32(r.Min.Y)
	c.z.Reset(r.Dx(), r.Dy())
	for _, p := range polys {
		if len(p) < 3 {
			continue
		}
		c.z.MoveTo(float32(p[0].x)-ox, float32(p[0].y)-oy)
		for _, q := range p[1:] {
			c.z.LineTo(float32(q.x)-ox, float32(q.y)-oy)
		}
		c.z.ClosePath()
	}
	c.z.Draw(c.img, r, image.NewUniform(col), image.Point{})
}

// stroke draws polylines of width w as one quad per segment.
func (c *pngCanvas) stroke(lines [][]point, w float64, col color.Color) {
	var quads [][]point
	for _, l := range lines {
		for i := 0; i+1 < len(l); i++ {
			a, b := l[i], l[i+1]
			dx, dy := b.x-a.x, b.y-a.y
			n := math.Hypot(dx, dy)
			if n == 0 {
				continue
			}
			// extend each segment by half the width so joins have no notch
			ex, ey := dx/n*w/2, dy/n*w/2
			nx, ny := -ey, ex
			quads = append(quads, []point{{a.x - ex + nx, a.y - ey + ny}, {b.x + ex + nx, b.y + ey + ny}, {b.x + ex - nx, b.y + ey - ny}, {a.x - ex - nx, a.y - ey - ny}})
		}
		if len(l) == 1 { // a lone known row in lines style: a dot
			p := l[0]
			quads = append(quads, []point{{p.x - w, p.y - w}, {p.x + w, p.y - w}, {p.x + w, p.y + w}, {p.x - w, p.y + w}})
		}
	}
	c.fill(quads, col)
}

func (c *pngCanvas) text(x, y int, s string, col color.Color) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// RenderPNG draws d as a PNG image of o.Width x o.Height pixels.
func RenderPNG(w io.Writer, d *Data, o Options) error {
	img := DrawImage(d, o)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	return enc.Encode(w, img)
}

// DrawImage draws d into a new RGBA image (what RenderPNG encodes).
func DrawImage(d *Data, o Options) *image.RGBA {
	o = clampSize(o)
	f := newFrame(d, o)
	c := &pngCanvas{img: image.NewRGBA(image.Rect(0, 0, f.w, f.h)), z: vector.NewRasterizer(f.w, f.h)}
	c.rect(0, 0, f.w, f.h, pngBG)
	x0, y0, x1, y1 := int(f.x0), int(f.y0), int(f.x1), int(f.y1)
	c.rect(x0, y0, x1, y1, pngPlotBG)
	for _, t := range f.yticks {
		y := int(math.Round(t.pos))
		c.rect(x0, y, x1, y+1, pngGrid)
		c.text(x0-6-charW*len([]rune(t.label)), y+4, t.label, pngText)
	}
	for _, t := range f.xticks {
		x := int(math.Round(t.pos))
		c.rect(x, y0, x+1, y1, pngGrid)
		c.rect(x, y1, x+1, y1+4, pngAxis)
		c.text(x-charW*len(t.label)/2, y1+15, t.label, pngText)
	}
	if d.Title != "" {
		c.text(x0, 17, label(d.Title), pngText)
	}
	if unit := label(d.Unit); unit != "" {
		c.text(f.w-padRight-charW*len([]rune(unit)), 17, unit, pngAxis)
	}
	for i, s := range d.Series {
		pal := seriesColors[i%len(seriesColors)]
		runs := f.runs(s.Avg, o.Style)
		if pal.area != "" {
			var polys [][]point
			for _, r := range runs {
				polys = append(polys, f.area(r))
			}
			c.fill(polys, hexColor(pal.area, 0xb0))
		}
		if s.Max != nil {
			c.stroke(f.runs(s.Max, o.Style), 1, hexColor(pal.max, 0x90))
		}
		c.stroke(runs, 1.5, hexColor(pal.line, 0xff))
	}
	for i, s := range d.Series {
		if math.IsNaN(s.P95) || math.IsInf(s.P95, 0) {
			continue
		}
		y := int(math.Round(f.y(s.P95)))
		p95 := pngP95
		if i > 0 {
			p95 = hexColor(seriesColors[i%len(seriesColors)].max, 0xff)
		}
		for x := x0; x < x1; x += 9 {
			c.rect(x, y, min(x+5, x1), y+1, p95)
		}
	}
	// axes on top
	c.rect(x0, y1, x1, y1+1, pngAxis)
	c.rect(x0-1, y0, x0, y1+1, pngAxis)
	for i, s := range d.Series {
		pal := seriesColors[i%len(seriesColors)]
		ly := int(f.y1) + axisBelow + 4 + legendRow*i
		sw := pal.area
		if sw == "" {
			sw = pal.line
		}
		c.rect(x0, ly, x0+10, ly+10, hexColor(sw, 0xff))
		c.rect(x0, ly, x0+10, ly+1, hexColor(pal.line, 0xff))
		c.text(x0+16, ly+10, f.legend(s), pngText)
	}
	return c.img
}

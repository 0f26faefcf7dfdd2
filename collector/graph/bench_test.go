package graph

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPNGOneDay renders one day of one interface (in and out, bits
// per second, AVERAGE + MAX + 95th) at 800x260, side by side with
// `rrdtool graph` drawing the same archive with the same elements.
func BenchmarkPNGOneDay(b *testing.B) {
	dir := b.TempDir()
	end := time.Now().Unix() / 60 * 60
	path := archive(b, dir, end)
	start := end - 86400
	req := Request{Path: path, Start: time.Unix(start, 0), End: time.Unix(end, 0), Width: 800 - padLeft - padRight, Scale: 8, Unit: "bit/s", Title: "r1 ge-0/0/1"}
	opts := Options{Width: 800, Height: 260}
	ctx := context.Background()
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/graph")
	}

	b.Run("outpost-render", func(b *testing.B) {
		d, err := Load(ctx, Engine{}, req)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := RenderPNG(io.Discard, d, opts); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("outpost-svg-render", func(b *testing.B) {
		d, err := Load(ctx, Engine{}, req)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := RenderSVG(io.Discard, d, opts); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("outpost-engine-fetch+render", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d, err := Load(ctx, Engine{}, req)
			if err != nil {
				b.Fatal(err)
			}
			if err := RenderPNG(io.Discard, d, opts); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("rrdtool-graph", func(b *testing.B) {
		args := []string{"graph", "-", "--imgformat", "PNG", "--start", strconv.FormatInt(start, 10), "--end", strconv.FormatInt(end, 10),
			"--width", "720", "--height", "180", "--title", "r1 ge-0/0/1", "--vertical-label", "bit/s",
			"DEF:in=" + path + ":in_octets:AVERAGE", "DEF:inmax=" + path + ":in_octets:MAX", "DEF:out=" + path + ":out_octets:AVERAGE",
			"CDEF:inb=in,8,*", "CDEF:inmaxb=inmax,8,*", "CDEF:outb=out,8,*", "VDEF:p95=inb,95,PERCENTNAN",
			"AREA:inb#8fd08f:in", "LINE1:inmaxb#1b5e20:in max", "LINE1:outb#1f5fbf:out", "HRULE:p95#d32f2f:95th:dashes"}
		var out bytes.Buffer
		for i := 0; i < b.N; i++ {
			out.Reset()
			cmd := exec.Command("rrdtool", args...)
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
		if !bytes.HasPrefix(out.Bytes(), []byte("\x89PNG")) {
			b.Fatalf("rrdtool graph wrote no PNG: %q", out.Bytes()[:min(out.Len(), 80)])
		}
		report(b)
	})
}

package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/collector/graph"
)

// newExportCmd is `outpost-collector export`: a graph or the data of one
// attribute's archive, as the web UI's export URLs serve them.
func newExportCmd() *cobra.Command {
	var f dataDirFlags
	var attr, format, start, end, out, style string
	var width, height int
	cmd := &cobra.Command{
		Use:   "export --attr HOST/ATTRKEY --format png|svg|csv|json [--start T] [--end T] [-o FILE]",
		Short: "Export an attribute's graph (PNG, SVG) or data (CSV, rrdtool xport JSON)",
		Long: `export reads the attribute's archive with the collector's engine and writes
what the web UI's export URLs serve: a PNG or SVG graph (AVERAGE, MAX, the 95th
percentile of the finest archive), or the data as CSV or in the layout of
rrdtool xport --json, at the archive's resolution. Interface octets are in
bits per second. Times: Unix seconds, RFC 3339, now, or -N[s|min|h|d|w|mon|y]
(a relative --start counts back from --end; default: the last day). Updates still in a running collector's write-back
cache are not seen until it flushes them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, key, ok := strings.Cut(attr, "/")
			if !ok || host == "" || key == "" {
				return fmt.Errorf("--attr %q: want HOST/ATTRKEY, e.g. r1/if:ge-0/0/1", attr)
			}
			st, err := graph.ParseStyle(style)
			if err != nil {
				return err
			}
			now := time.Now()
			t1, err := graph.ParseTime(end, now)
			if err != nil {
				return fmt.Errorf("--end: %w", err)
			}
			t0, err := graph.ParseTime(start, t1)
			if err != nil {
				return fmt.Errorf("--start: %w", err)
			}
			db, dir, err := f.openInventory(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			a, err := db.AttributeByKey(cmd.Context(), host, key)
			if err != nil {
				return err
			}
			if a.Archive == "" {
				return fmt.Errorf("%s/%s has no archive", host, key)
			}
			names := make([]string, 0, len(a.DS))
			for _, d := range a.DS {
				names = append(names, d.Name)
			}
			req := graph.Request{Path: a.Archive, Start: t0, End: t1, Title: host + " " + a.Name}
			if !filepath.IsAbs(req.Path) {
				req.Path = filepath.Join(dir, req.Path)
			}
			req.DS, req.Scale, req.Unit = graph.DefaultView(names)
			opts := graph.Options{Width: width, Height: height, Style: st}
			if format == "png" || format == "svg" {
				req.Width = max(width-80, 1)
			}
			d, err := graph.Load(cmd.Context(), graph.Engine{}, req)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			switch format {
			case "png":
				err = graph.RenderPNG(&buf, d, opts)
			case "svg":
				err = graph.RenderSVG(&buf, d, opts)
			case "csv":
				err = graph.WriteCSV(&buf, d)
			case "json":
				err = graph.WriteXportJSON(&buf, d)
			default:
				return fmt.Errorf("--format %q: want png, svg, csv or json", format)
			}
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			return os.WriteFile(out, buf.Bytes(), 0o644)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&attr, "attr", "", "HOST/ATTRKEY, e.g. r1/if:ge-0/0/1")
	cmd.Flags().StringVar(&format, "format", "png", "png, svg, csv or json")
	cmd.Flags().StringVar(&start, "start", "-1d", "range start")
	cmd.Flags().StringVar(&end, "end", "now", "range end")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (default standard output)")
	cmd.Flags().StringVar(&style, "style", "steps", "steps or lines (png, svg)")
	cmd.Flags().IntVar(&width, "width", 800, "image width, pixels (png, svg)")
	cmd.Flags().IntVar(&height, "height", 260, "image height, pixels (png, svg)")
	cmd.MarkFlagRequired("attr")
	return cmd
}

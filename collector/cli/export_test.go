package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/rrd"
)

// TestExportCommand writes an interface archive with the engine, registers
// it in an inventory and exports it in the four formats.
func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	end := time.Unix(1_700_000_000/60*60, 0)
	rel := "rrd/r1/if.rrd"
	path := filepath.Join(dir, rel)
	os.MkdirAll(filepath.Dir(path), 0o755)
	start := end.Add(-6 * time.Hour)
	if err := rrd.Create(path, rrd.Spec{Step: 60, Start: start.Add(-time.Minute),
		DS:   []rrd.DS{{Name: "in_octets", Type: rrd.Counter, Heartbeat: 120, Min: 0, Max: math.NaN()}, {Name: "out_octets", Type: rrd.Counter, Heartbeat: 120, Min: 0, Max: math.NaN()}},
		RRAs: []rrd.RRA{{CF: "AVERAGE", XFF: 0.5, Steps: 1, Rows: 600}, {CF: "MAX", XFF: 0.5, Steps: 1, Rows: 600}}}); err != nil {
		t.Fatal(err)
	}
	var ups []rrd.Update
	var in, out uint64
	for ts := start; !ts.After(end); ts = ts.Add(time.Minute) {
		in += 60 * 125_000 // 1 Mbit/s
		out += 60 * 12_500
		ups = append(ups, rrd.Update{Time: ts, Values: []rrd.Value{rrd.Uint(in), rrd.Uint(out)}})
	}
	if err := rrd.UpdateFile(path, ups); err != nil {
		t.Fatal(err)
	}
	db, err := inventory.Open(ctx, filepath.Join(dir, inventory.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := db.Writer().Exec(`INSERT INTO hosts(name, created_at, updated_at) VALUES ('r1', 1, 1)`)
	hid, _ := r.LastInsertId()
	if _, err := db.Writer().Exec(`INSERT INTO attributes(host_id, key, kind, name, ds, archive, created_at, updated_at) VALUES (?, 'if:ge-0/0/1', 'interface', 'ge-0/0/1',
		'[{"name":"in_octets","kind":"counter64"},{"name":"out_octets","kind":"counter64"}]', ?, 1, 1)`, hid, rel); err != nil {
		t.Fatal(err)
	}
	db.Close()

	span := []string{"--start", strconv.FormatInt(end.Add(-time.Hour).Unix(), 10), "--end", strconv.FormatInt(end.Unix(), 10), "--data-dir", dir, "--attr", "r1/if:ge-0/0/1"}
	csvOut, _, err := runCollector(t, "", append([]string{"export", "--format", "csv"}, span...)...)
	if err != nil {
		t.Fatal(err)
	}
	fetched, err := rrd.Fetch(path, "AVERAGE", end.Add(-time.Hour), end, 0)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil || len(recs) != len(fetched.Rows)+1 || recs[0][1] != "in_octets AVERAGE (bit/s)" {
		t.Fatalf("csv: %v %d rows (engine %d) %v", err, len(recs), len(fetched.Rows), recs[0])
	}
	known := 0
	for i, row := range fetched.Rows {
		if math.IsNaN(row[0]) {
			if recs[i+1][1] != "" {
				t.Fatalf("row %d: unknown exported as %q", i, recs[i+1][1])
			}
			continue
		}
		known++
		if want := strconv.FormatFloat(row[0]*8, 'g', -1, 64); recs[i+1][1] != want || want != "1e+06" {
			t.Fatalf("row %d: %q, engine %s (want 1 Mbit/s)", i, recs[i+1][1], want)
		}
	}
	if known < 59 {
		t.Errorf("only %d known rows", known)
	}
	jsonOut, _, err := runCollector(t, "", append([]string{"export", "--format", "json"}, span...)...)
	var x graph.Xport
	if err != nil || json.Unmarshal([]byte(jsonOut), &x) != nil || x.Meta.Step != 60 || len(x.Data) != len(fetched.Rows) {
		t.Fatalf("json: %v %+v", err, x.Meta)
	}
	pngFile := filepath.Join(dir, "g.png")
	if _, _, err := runCollector(t, "", append([]string{"export", "--format", "png", "--width", "640", "--height", "200", "-o", pngFile}, span...)...); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pngFile)
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 200 {
		t.Fatalf("png: %v", err)
	}
	svgOut, _, err := runCollector(t, "", append([]string{"export", "--format", "svg", "--style", "lines"}, span...)...)
	if err != nil || !strings.HasPrefix(svgOut, "<svg") || !strings.Contains(svgOut, `width="800"`) {
		t.Fatalf("svg: %v %.80s", err, svgOut)
	}
	for _, bad := range [][]string{{"--attr", "r1"}, {"--attr", "r1/if:nope"}, {"--format", "gif"}, {"--start", "yesterday"}} {
		args := append([]string{"export"}, span...)
		args = append(args, bad...)
		if _, _, err := runCollector(t, "", args...); err == nil {
			t.Errorf("export %v succeeded", bad)
		}
	}
}

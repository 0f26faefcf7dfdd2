package web

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/outpost-nms/outpost/collector/rrd"
)

// youngAttr adds to host r1 an interface whose archive (the default layout
// at a 60 s step) holds only the last age of data, and returns its id.
func youngAttr(t *testing.T, e *env, name string, age time.Duration) int64 {
	t.Helper()
	rel := "rrd/r1/" + strings.ReplaceAll(name, "+", "_") + ".rrd"
	path := filepath.Join(e.dir, rel)
	nan := math.NaN()
	end := e.now
	start := end.Add(-age)
	if err := rrd.Create(path, rrd.Spec{Step: 60, Start: start.Add(-60 * time.Second),
		DS:   []rrd.DS{{Name: "in_octets", Type: rrd.Counter, Heartbeat: 120, Min: 0, Max: nan}, {Name: "out_octets", Type: rrd.Counter, Heartbeat: 120, Min: 0, Max: nan}},
		RRAs: rrd.DefaultLayout(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var ups []rrd.Update
	for ts, n := start, uint64(0); !ts.After(end); ts, n = ts.Add(time.Minute), n+1 {
		ups = append(ups, rrd.Update{Time: ts, Values: []rrd.Value{rrd.Uint(n * 6_000_000), rrd.Uint(n * 600_000)}})
	}
	if err := rrd.UpdateFile(path, ups); err != nil {
		t.Fatal(err)
	}
	ms := e.now.UnixMilli()
	return exec1(t, e.db, `INSERT INTO attributes(host_id, key, kind, name, interval_s, ds, archive, status, created_at, updated_at)
		VALUES ((SELECT id FROM hosts WHERE name = 'r1'), ?, 'interface', ?, 60, '[{"name":"in_octets","kind":"counter64"},{"name":"out_octets","kind":"counter64"}]', ?, 1, ?, ?)`,
		"if:"+name, name, rel, ms, ms)
}

// A young archive (a fresh demo holds an hour) opens on the preset range
// that holds its data and says so; an archive with a day of data opens on
// the day.
func TestAttributePageRangeOfAYoungArchive(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.login(c, "viewer", viewerPass)
	rangeRE := regexp.MustCompile(`id="chart-panel"[^>]* data-range="([^"]+)"`)
	type rangeCase struct {
		name    string
		age     time.Duration
		want    string
		noteFor string
	}
	// Every alignment of the data's start to the week's 5-minute rows.
	var cases []rangeCase
	for m := time.Duration(0); m < 5; m++ {
		cases = append(cases, rangeCase{fmt.Sprintf("fresh+%dm", m), 46*time.Minute + m*time.Minute, "1h", "hour"},
			rangeCase{fmt.Sprintf("morning+%dm", m), 3*time.Hour + m*time.Minute, "6h", "6 hours"})
	}
	cases = append(cases, rangeCase{"yesterday", 20 * time.Hour, "1d", ""})
	for _, tc := range cases {
		id := youngAttr(t, e, tc.name, tc.age)
		res, body := get(t, c, fmt.Sprintf("%s/attributes/%d", e.ts.URL, id))
		m := rangeRE.FindSubmatch(body)
		if res.StatusCode != 200 || m == nil || string(m[1]) != tc.want {
			t.Errorf("%s (%v of data): range %q, want %s", tc.name, tc.age, m, tc.want)
			continue
		}
		note := regexp.MustCompile(`id="range-note">([^<]*)<`).FindSubmatch(body)
		switch {
		case tc.noteFor == "" && note != nil:
			t.Errorf("%s: a note on a well filled day: %s", tc.name, note[1])
		case tc.noteFor != "" && (note == nil || !strings.Contains(string(note[1]), "the last "+tc.noteFor+" instead of a day")):
			t.Errorf("%s: note %q", tc.name, note)
		}
		if tc.noteFor != "" && note != nil {
			since := e.now.Add(-tc.age).UTC().Format("2006-01-02 15:04")
			if !strings.Contains(string(note[1]), since) {
				t.Errorf("%s: note %q does not say the data starts at %s", tc.name, note[1], since)
			}
		}
	}
	_, body := get(t, c, fmt.Sprintf("%s/attributes/%d", e.ts.URL, e.ifAttr))
	if m := rangeRE.FindSubmatch(body); m == nil || string(m[1]) != "1d" || strings.Contains(string(body), "range-note") {
		t.Errorf("two days of data: %q", m)
	}
}

// In the browser, the chart of a fresh archive loads the last hour.
func TestBrowserYoungArchiveRange(t *testing.T) {
	forEachBrowser(t, func(t *testing.T, b *tab) {
		e := newEnv(t)
		id := youngAttr(t, e, "fresh", 50*time.Minute)
		b.step("open the login page", chromedp.Navigate(fmt.Sprintf("%s/attributes/%d", e.ts.URL, id)), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		b.login("viewer", viewerPass, "#chart-panel")
		b.waitFor("the chart", `window.outpostChart && window.outpostChart.loads >= 1 && outpostChart.last !== null`)
		if got := b.eval(`String(outpostChart.last.end - outpostChart.last.start) + " " + document.querySelector('#ranges button.on').dataset.range`); got != "3600 1h" {
			t.Errorf("fresh archive: range and button %q, want 3600 1h", got)
		}
	})
}

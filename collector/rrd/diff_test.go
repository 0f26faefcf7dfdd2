package rrd

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The differential suite: the same seeded random update streams go to
// rrdtool (the CLI, up to 150 updates per call) and to Outpost; then every
// archive is fetched from both, and rrdtool's fetch and info of Outpost's
// file, and Outpost's fetch of rrdtool's file, are compared too.

// scenario is one random archive definition and update stream.
type scenario struct {
	seed   uint64
	spec   Spec
	chunks [][]string // rrdtool update arguments, one call per chunk
	events map[string]int
}

var allTypes = []string{Gauge, Counter, Derive, Absolute, DCounter, DDerive}

func genScenario(seed uint64) scenario {
	r := rand.New(rand.NewPCG(seed, seed*7919+1))
	steps := []int64{1, 5, 10, 60, 300}
	step := steps[r.IntN(len(steps))]
	start := int64(1_100_000_000 + r.IntN(1_000_000))
	sc := scenario{seed: seed, spec: Spec{Step: step, Start: time.Unix(start, 0)}, events: map[string]int{}}
	nds := 1 + r.IntN(6)
	types := make([]string, nds)
	for i := range types {
		types[i] = allTypes[(i+int(seed))%len(allTypes)]
		if r.IntN(3) == 0 {
			types[i] = allTypes[r.IntN(len(allTypes))]
		}
		hb := step * int64(1+r.IntN(3))
		if r.IntN(5) == 0 {
			hb = max(1, step/2)
		}
		d := DS{Name: fmt.Sprintf("d%d_%s", i, strings.ToLower(types[i][:3])), Type: types[i], Heartbeat: hb, Min: nan(), Max: nan()}
		switch r.IntN(4) {
		case 0:
			d.Min = 0
		case 1:
			d.Max = float64(100 + r.IntN(5000))
		case 2:
			d.Min, d.Max = -float64(r.IntN(100)), float64(100+r.IntN(10000))
		}
		sc.spec.DS = append(sc.spec.DS, d)
	}
	cfs := []string{Average, Min, Max, Last}
	nrra := 2 + r.IntN(6)
	for i := 0; i < nrra; i++ {
		a := RRA{CF: cfs[r.IntN(4)], XFF: []float64{0, 0.3, 0.5, 0.9}[r.IntN(4)],
			Steps: []int{1, 1, 2, 3, 5, 7, 12}[r.IntN(7)], Rows: 3 + r.IntN(300)}
		sc.spec.RRAs = append(sc.spec.RRAs, a)
	}
	// The stream.
	n := 200 + r.IntN(800)
	t := float64(start)
	ctr := make([]uint64, nds)
	wrap64 := make([]bool, nds)
	dval := make([]float64, nds)
	speed := make([]uint64, nds) // a counter's largest increment per update
	for i := range speed {
		speed[i] = uint64(step) * 300
		if r.IntN(2) == 0 {
			speed[i] = 1 << 26 // a 32-bit counter wraps every ~100 updates
		}
	}
	for i := range ctr {
		ctr[i] = 1<<32 - r.Uint64N(uint64(step)*20000) // wraps 32 bits soon
		if r.IntN(3) == 0 {
			ctr[i] = math.MaxUint64 - r.Uint64N(uint64(step)*20000) // wraps 64 bits soon
			wrap64[i] = true
		}
		dval[i] = r.Float64() * 1000
	}
	var chunk []string
	for k := 0; k < n; k++ {
		// Time: mostly about a step, sometimes several in one step,
		// sometimes a gap longer than the heartbeat, sometimes fractional.
		var dt float64
		switch x := r.IntN(100); {
		case x < 55:
			dt = float64(step)
		case x < 75:
			dt = float64(1 + r.Int64N(max(1, step/3)))
		case x < 82:
			dt = float64(step * (2 + r.Int64N(3)))
		case x < 83:
			dt = float64(step * (5 + r.Int64N(40)))
		default:
			dt = float64(r.IntN(int(step)*2+1)) + float64(r.IntN(1000000))/1e6
		}
		if dt <= 0 {
			dt = 1
		}
		if dt != math.Floor(dt) {
			sc.events["fractional time"]++
		}
		if dt < float64(step) {
			sc.events["several updates in one step"]++
		}
		for _, d := range sc.spec.DS {
			if dt > float64(d.Heartbeat) {
				sc.events["interval > heartbeat (per DS)"]++
			}
		}
		t += dt
		ts := strconv.FormatFloat(t, 'f', -1, 64)
		if math.Floor(t) == t {
			ts = strconv.FormatInt(int64(t), 10)
		}
		args := []string{ts}
		for i := 0; i < nds; i++ {
			if r.IntN(25) == 0 {
				args = append(args, "U")
				sc.events["unknown input"]++
				continue
			}
			switch types[i] {
			case Counter:
				inc := r.Uint64N(speed[i])
				if wrap64[i] {
					inc <<= 33 // a 64-bit counter wraps every ~200 updates
					if ctr[i]+inc < ctr[i] {
						sc.events["64-bit counter wrap"]++
					}
					ctr[i] += inc // wraps past 2^64
				} else {
					if ctr[i]+inc >= 1<<32 {
						sc.events["32-bit counter wrap"]++
					}
					ctr[i] = (ctr[i] + inc) % (1 << 32) // 32-bit wrap
				}
				if r.IntN(100) == 0 {
					ctr[i] = r.Uint64N(1000) // reset
					sc.events["counter reset"]++
				}
				args = append(args, strconv.FormatUint(ctr[i], 10))
			case Derive:
				v := int64(r.IntN(2000000)) - 1000000
				args = append(args, strconv.FormatInt(v, 10))
			case Absolute:
				if r.IntN(2) == 0 {
					args = append(args, strconv.Itoa(r.IntN(100000)))
				} else {
					args = append(args, strconv.FormatFloat(r.Float64()*5000, 'f', 3, 64))
				}
			case Gauge:
				args = append(args, strconv.FormatFloat(r.NormFloat64()*3000, 'g', -1, 64))
			case DCounter:
				if r.IntN(30) == 0 {
					dval[i] -= r.Float64() * 100
				} else {
					dval[i] += r.Float64() * float64(step) * 50
				}
				args = append(args, strconv.FormatFloat(dval[i], 'f', 4, 64))
			case DDerive:
				dval[i] += r.NormFloat64() * 500
				args = append(args, strconv.FormatFloat(dval[i], 'g', 12, 64))
			}
		}
		arg := strings.Join(args, ":")
		switch r.IntN(400) {
		case 0: // a time not newer than the last: the rest of the call is lost
			sc.events["time not newer (rest of call refused)"]++
			chunk = append(chunk, strconv.FormatInt(int64(t)-int64(r.IntN(3)), 10)+arg[len(ts):])
		case 1, 2: // a value that is not an integer for a COUNTER/DERIVE, not a number for the others
			sc.events["bad value text"]++
			for i := range types {
				if types[i] == Counter || types[i] == Derive {
					parts := strings.Split(arg, ":")
					parts[i+1] = "1.5"
					arg = strings.Join(parts, ":")
					break
				}
				if r.IntN(2) == 0 {
					parts := strings.Split(arg, ":")
					parts[i+1] = []string{"12abc", "xyz"}[r.IntN(2)]
					arg = strings.Join(parts, ":")
					break
				}
			}
		}
		chunk = append(chunk, arg)
		if len(chunk) >= 150 || r.IntN(40) == 0 {
			sc.chunks = append(sc.chunks, chunk)
			chunk = nil
		}
	}
	if chunk != nil {
		sc.chunks = append(sc.chunks, chunk)
	}
	return sc
}

func (sc scenario) createArgs() []string {
	args := []string{"--start", strconv.FormatInt(sc.spec.Start.Unix(), 10), "--step", strconv.FormatInt(sc.spec.Step, 10)}
	lim := func(v float64) string {
		if math.IsNaN(v) {
			return "U"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	for _, d := range sc.spec.DS {
		args = append(args, fmt.Sprintf("DS:%s:%s:%d:%s:%s", d.Name, d.Type, d.Heartbeat, lim(d.Min), lim(d.Max)))
	}
	for _, a := range sc.spec.RRAs {
		args = append(args, fmt.Sprintf("RRA:%s:%g:%d:%d", a.CF, a.XFF, a.Steps, a.Rows))
	}
	return args
}

func runRRDtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("rrdtool", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%v: %s", err, strings.TrimSpace(out.String()+errb.String()))
	}
	return out.String(), nil
}

// parsedFetch is fetch output as stamps and values.
type parsedFetch struct {
	header string
	stamps []int64
	rows   [][]float64
}

func parseFetchText(t *testing.T, s string) parsedFetch {
	t.Helper()
	var p parsedFetch
	sc := bufio.NewScanner(strings.NewReader(s))
	for i := 0; sc.Scan(); i++ {
		line := sc.Text()
		if i == 0 {
			p.header = line
			continue
		}
		if line == "" {
			continue
		}
		ts, rest, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("bad fetch line %q", line)
		}
		st, _ := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		p.stamps = append(p.stamps, st)
		var row []float64
		for _, f := range strings.Fields(rest) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				v = math.NaN()
			}
			row = append(row, v)
		}
		p.rows = append(p.rows, row)
	}
	return p
}

func fetchResultParsed(r *FetchResult) parsedFetch {
	var b bytes.Buffer
	r.WriteText(&b)
	p := parsedFetch{}
	lines := strings.Split(b.String(), "\n")
	p.header = lines[0]
	step := int64(r.Step / time.Second)
	for i, row := range r.Rows {
		p.stamps = append(p.stamps, r.Start.Unix()+int64(i+1)*step)
		p.rows = append(p.rows, row)
	}
	return p
}

// compareFetch reports the first difference; values agree when both are
// unknown or their relative error is below 1e-9.
func compareFetch(got, want parsedFetch) error {
	if got.header != want.header {
		return fmt.Errorf("header %q, want %q", got.header, want.header)
	}
	if len(got.stamps) != len(want.stamps) {
		return fmt.Errorf("%d rows, want %d", len(got.stamps), len(want.stamps))
	}
	for i := range got.stamps {
		if got.stamps[i] != want.stamps[i] {
			return fmt.Errorf("row %d stamped %d, want %d", i, got.stamps[i], want.stamps[i])
		}
		for j := range want.rows[i] {
			g, w := got.rows[i][j], want.rows[i][j]
			if math.IsNaN(g) != math.IsNaN(w) {
				return fmt.Errorf("row %d (%d) ds %d: %v, want %v", i, got.stamps[i], j, g, w)
			}
			if math.IsNaN(w) || g == w {
				continue
			}
			if math.Abs(g-w) > 1e-9*math.Max(math.Abs(w), math.Abs(g)) {
				return fmt.Errorf("row %d (%d) ds %d: %.17g, want %.17g", i, got.stamps[i], j, g, w)
			}
		}
	}
	return nil
}

// diffStats counts what the suite compared.
type diffStats struct {
	scenarios, updates, calls, fetches, values, unknown int
	types, cfs, events                                  map[string]int
	failedCalls                                         int
}

func TestDifferentialAgainstRRDtool(t *testing.T) {
	requireRRDtool(t)
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	st := diffStats{types: map[string]int{}, cfs: map[string]int{}, events: map[string]int{}}
	pipe := newRRDPipe(t)
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		sc := genScenario(seed)
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			runScenario(t, pipe, sc, &st)
		})
	}
	t.Logf("differential coverage: %d scenarios, %d updates in %d rrdtool calls (%d refused with identical errors), %d fetches compared x3 (Outpost/Outpost file, Outpost/rrdtool file, rrdtool/Outpost file), %d values (%d unknown), info compared both ways per scenario; DS types %v; RRA CFs %v; stream events %v",
		st.scenarios, st.updates, st.calls, st.failedCalls, st.fetches, st.values, st.unknown, st.types, st.cfs, st.events)
}

func runScenario(t *testing.T, pipe *rrdPipe, sc scenario, st *diffStats) {
	runRRDtool := func(t *testing.T, args ...string) (string, error) { return pipe.run(args...) }
	dir := t.TempDir()
	theirs, ours := filepath.Join(dir, "theirs.rrd"), filepath.Join(dir, "ours.rrd")
	if _, err := runRRDtool(t, append([]string{"create", theirs}, sc.createArgs()...)...); err != nil {
		t.Fatal(err)
	}
	if err := Create(ours, sc.spec); err != nil {
		t.Fatal(err)
	}
	st.scenarios++
	for k, v := range sc.events {
		st.events[k] += v
	}
	for _, d := range sc.spec.DS {
		st.types[d.Type]++
	}
	for _, a := range sc.spec.RRAs {
		st.cfs[a.CF]++
	}
	for _, chunk := range sc.chunks {
		_, theirErr := runRRDtool(t, append([]string{"update", theirs}, chunk...)...)
		ourErr := UpdateFile(ours, parseUpdatesLoose(t, chunk))
		st.calls++
		st.updates += len(chunk)
		if (theirErr == nil) != (ourErr == nil) {
			t.Fatalf("update errors differ: rrdtool %v, outpost %v", theirErr, ourErr)
		}
		if ourErr != nil {
			st.failedCalls++
			// rrdtool: "ERROR: <file>: msg"; Outpost: "<file>: msg".
			tm := theirErr.Error()[strings.Index(theirErr.Error(), theirs)+len(theirs):]
			om := ourErr.Error()[strings.Index(ourErr.Error(), ours)+len(ours):]
			if tm != om {
				t.Fatalf("error texts differ:\nrrdtool %s\noutpost %s", tm, om)
			}
		}
	}
	// info: every header field (live state included) identical as text.
	theirInfo, err := runRRDtool(t, "info", theirs)
	if err != nil {
		t.Fatal(err)
	}
	rrdtoolOnOurs, err := runRRDtool(t, "info", ours)
	if err != nil {
		t.Fatalf("rrdtool cannot read Outpost's file: %v", err)
	}
	norm := func(s, name string) string {
		return dropLines(strings.ReplaceAll(s, name, "F"), "cur_row")
	}
	if a, b := norm(rrdtoolOnOurs, ours), norm(theirInfo, theirs); a != b {
		t.Errorf("rrdtool info of Outpost's file differs from rrdtool's:\n%s", lineDiff(a, b))
	}
	in, err := ReadInfo(theirs)
	if err != nil {
		t.Fatal(err)
	}
	var ib bytes.Buffer
	in.WriteText(&ib)
	if a, b := ib.String(), theirInfo; a != b {
		t.Errorf("Outpost info of rrdtool's file differs from rrdtool info:\n%s", lineDiff(a, b))
	}
	// fetch: each archive at its own resolution from its first row, every
	// CF, plus random ranges and resolutions.
	r := rand.New(rand.NewPCG(sc.seed, 99))
	last, _ := LastUpdate(ours)
	type query struct {
		cf              string
		start, end, res int64
	}
	var qs []query
	for i, a := range sc.spec.RRAs {
		first, _ := First(ours, i)
		qs = append(qs, query{a.CF, first.Unix() - sc.spec.Step*int64(a.Steps), last.Unix(), sc.spec.Step * int64(a.Steps)})
	}
	for k := 0; k < 6; k++ {
		span := sc.spec.Step * int64(1+r.IntN(100))
		end := last.Unix() - int64(r.IntN(int(sc.spec.Step*200))) + int64(r.IntN(int(sc.spec.Step*3)))
		qs = append(qs, query{[]string{Average, Min, Max, Last}[r.IntN(4)], end - span, end, sc.spec.Step * int64(r.IntN(10))})
	}
	for _, q := range qs {
		args := []string{q.cf, "--start", itoa(q.start), "--end", itoa(q.end)}
		if q.res > 0 {
			args = append(args, "--resolution", itoa(q.res))
		}
		want, werr := runRRDtool(t, append([]string{"fetch", theirs}, args...)...)
		onOurs, oerr := runRRDtool(t, append([]string{"fetch", ours}, args...)...)
		res, gerr := Fetch(ours, q.cf, time.Unix(q.start, 0), time.Unix(q.end, 0), time.Duration(q.res)*time.Second)
		resTheirs, terr := Fetch(theirs, q.cf, time.Unix(q.start, 0), time.Unix(q.end, 0), time.Duration(q.res)*time.Second)
		if (werr == nil) != (gerr == nil) || (werr == nil) != (oerr == nil) || (werr == nil) != (terr == nil) {
			t.Fatalf("fetch %v: errors differ: rrdtool %v / %v, outpost %v / %v", q, werr, oerr, gerr, terr)
		}
		if werr != nil {
			continue
		}
		wp := parseFetchText(t, want)
		st.fetches++
		for _, row := range wp.rows {
			for _, v := range row {
				st.values++
				if math.IsNaN(v) {
					st.unknown++
				}
			}
		}
		if err := compareFetch(fetchResultParsed(res), wp); err != nil {
			t.Errorf("fetch %v: Outpost vs rrdtool: %v", q, err)
		}
		if err := compareFetch(fetchResultParsed(resTheirs), wp); err != nil {
			t.Errorf("fetch %v: Outpost reading rrdtool's file: %v", q, err)
		}
		if err := compareFetch(parseFetchText(t, onOurs), wp); err != nil {
			t.Errorf("fetch %v: rrdtool reading Outpost's file: %v", q, err)
		}
	}
}

// parseUpdatesLoose parses update arguments, keeping values that do not
// parse as text so that the update (not the parser) reports them.
func parseUpdatesLoose(t testing.TB, args []string) []Update {
	t.Helper()
	var out []Update
	for _, a := range args {
		parts := strings.Split(a, ":")
		tm, err := ParseUpdateTime(parts[0], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		u := Update{Time: tm}
		for _, p := range parts[1:] {
			v := TextValue(p)
			// Canonical unsigned integers go in as API values (Uint, no
			// text), the way the collector feeds counters. (Gauges in these
			// streams stay below 2^53, where Uint's exact conversion and
			// rrdtool's strtod of the text agree.)
			if v.kind == kindUint && strconv.FormatUint(v.u, 10) == p {
				v = Uint(v.u)
			}
			u.Values = append(u.Values, v)
		}
		out = append(out, u)
	}
	return out
}

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("- %s\n+ %s", x, y))
		}
		if len(out) > 10 {
			break
		}
	}
	return strings.Join(out, "\n")
}

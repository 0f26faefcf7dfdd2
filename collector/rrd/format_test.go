package rrd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadsRRDtoolFiles(t *testing.T) {
	for _, c := range []struct {
		file, version string
		ds            []string
	}{
		{"worked_rrdtool.rrd", "0003", []string{"in", "g"}},
		{"dcounter0005.rrd", "0005", []string{"a", "b", "c"}},
	} {
		in, err := ReadInfo(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if in.Version != c.version || len(in.DS) != len(c.ds) {
			t.Fatalf("%s: version %s, %d DS", c.file, in.Version, len(in.DS))
		}
		for i, d := range in.DS {
			if d.Name != c.ds[i] {
				t.Errorf("%s: DS %d is %q, want %q", c.file, i, d.Name, c.ds[i])
			}
		}
	}
}

func TestRefusesHoltWinters(t *testing.T) {
	_, err := ReadInfo(filepath.Join("testdata", "hw0004.rrd"))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "Holt-Winters") {
		t.Fatalf("got %v, want a clear Holt-Winters refusal", err)
	}
}

// TestHostileHeaders corrupts a real file field by field: every result is
// an ErrFormat error, never a panic or a huge allocation.
func TestHostileHeaders(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "worked_rrdtool.rrd"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := map[string]func([]byte) []byte{
		"empty":        func(b []byte) []byte { return nil },
		"cookie":       func(b []byte) []byte { b[0] = 'X'; return b },
		"version":      func(b []byte) []byte { copy(b[4:], "0009"); return b },
		"float cookie": func(b []byte) []byte { b[16] ^= 1; return b },
		"ds_cnt huge":  func(b []byte) []byte { le.PutUint64(b[24:], 1<<62); return b },
		"ds_cnt zero":  func(b []byte) []byte { le.PutUint64(b[24:], 0); return b },
		"rra_cnt huge": func(b []byte) []byte { le.PutUint64(b[32:], 1<<40); return b },
		"step zero":    func(b []byte) []byte { le.PutUint64(b[40:], 0); return b },
		"rows huge":    func(b []byte) []byte { le.PutUint64(b[statHeadSize+2*dsDefSize+24:], 1<<61); return b },
		"pdp_cnt zero": func(b []byte) []byte { le.PutUint64(b[statHeadSize+2*dsDefSize+32:], 0); return b },
		"truncated":    func(b []byte) []byte { return b[:len(b)-8] },
		"header only":  func(b []byte) []byte { return b[:200] },
		"extra bytes":  func(b []byte) []byte { return append(b, 0) },
		"cur_row beyond": func(b []byte) []byte {
			le.PutUint64(b[1184-16:], 99)
			return b
		},
		"bad ds type": func(b []byte) []byte { copy(b[statHeadSize+20:], "BOGUS\x00"); return b },
	}
	for name, mutate := range cases {
		b := mutate(append([]byte(nil), good...))
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".rrd")
		os.WriteFile(p, b, 0o644)
		if _, err := ReadInfo(p); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
		if _, err := Fetch(p, Average, time.Unix(1000000000, 0), time.Unix(1000003000, 0), 0); err == nil {
			t.Errorf("%s: fetch succeeded", name)
		}
	}
}

// TestEmptyLastDS: a file whose last_ds is empty (not "U") is handled as
// rrdtool does (a diff against nothing is unknown), without a panic.
func TestEmptyLastDS(t *testing.T) {
	good, _ := os.ReadFile(filepath.Join("testdata", "dcounter0005.rrd"))
	in, err := ReadInfo(filepath.Join("testdata", "dcounter0005.rrd"))
	if err != nil {
		t.Fatal(err)
	}
	off := statHeadSize + 3*dsDefSize + 3*rraDefSize + liveHeadSize
	for d := 0; d < 3; d++ {
		good[off+d*pdpPrepSize] = 0
	}
	p := filepath.Join(t.TempDir(), "e.rrd")
	os.WriteFile(p, good, 0o644)
	err = UpdateFile(p, []Update{{Time: in.LastUpdate.Add(time.Minute), Values: []Value{Float(1), Float(2), Float(3)}}})
	if err == nil || !strings.Contains(err.Error(), "Cannot convert '' to float") {
		t.Fatalf("got %v", err)
	}
}

func TestCreateValidation(t *testing.T) {
	dir := t.TempDir()
	base := workedSpec()
	for name, mutate := range map[string]func(*Spec){
		"no DS":         func(s *Spec) { s.DS = nil },
		"no RRA":        func(s *Spec) { s.RRAs = nil },
		"bad type":      func(s *Spec) { s.DS[0].Type = "COMPUTE" },
		"long name":     func(s *Spec) { s.DS[0].Name = strings.Repeat("x", 20) },
		"dup name":      func(s *Spec) { s.DS[1].Name = s.DS[0].Name },
		"zero hb":       func(s *Spec) { s.DS[0].Heartbeat = 0 },
		"min >= max":    func(s *Spec) { s.DS[0].Min, s.DS[0].Max = 5, 5 },
		"bad cf":        func(s *Spec) { s.RRAs[0].CF = "HWPREDICT" },
		"xff 1":         func(s *Spec) { s.RRAs[0].XFF = 1 },
		"zero rows":     func(s *Spec) { s.RRAs[0].Rows = 0 },
		"negative step": func(s *Spec) { s.Step = -1 },
	} {
		s := workedSpec()
		mutate(&s)
		if err := Create(filepath.Join(dir, "x.rrd"), s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := filepath.Join(dir, "ok.rrd")
	if err := Create(p, base); err != nil {
		t.Fatal(err)
	}
	if err := Create(p, base); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	// A fresh file is initialised as rrdtool does.
	in, err := ReadInfo(p)
	if err != nil {
		t.Fatal(err)
	}
	if in.DS[0].LastDS != "U" || !math.IsNaN(in.DS[0].Value) || in.DS[0].UnknownSec != 0 ||
		in.RRA[1].CDP[0].UnknownDatapoints != 1 || !math.IsNaN(in.RRA[1].CDP[0].Value) {
		t.Fatalf("fresh file state: %+v", in)
	}
}

func TestDefaultLayout(t *testing.T) {
	for _, c := range []struct {
		step time.Duration
		want []RRA
	}{
		{time.Minute, []RRA{{Average, 0.5, 1, 2880}, {Average, 0.5, 5, 4032}, {Max, 0.5, 5, 4032},
			{Average, 0.5, 30, 2976}, {Max, 0.5, 30, 2976}, {Average, 0.5, 120, 2928}, {Max, 0.5, 120, 2928},
			{Average, 0.5, 1440, 732}, {Max, 0.5, 1440, 732}}},
		{5 * time.Minute, []RRA{{Average, 0.5, 1, 576}, {Average, 0.5, 6, 2976}, {Max, 0.5, 6, 2976},
			{Average, 0.5, 24, 2928}, {Max, 0.5, 24, 2928}, {Average, 0.5, 288, 732}, {Max, 0.5, 288, 732}}},
	} {
		got := DefaultLayout(c.step)
		if len(got) != len(c.want) {
			t.Fatalf("step %v: %v", c.step, got)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("step %v rra %d: %+v, want %+v", c.step, i, got[i], c.want[i])
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	n := math.NaN()
	for _, c := range []struct {
		vals []float64
		p    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4, 5}, 95, 5},
		{[]float64{5, 1, 4, 2, 3}, 50, 3},
		{[]float64{n, 1, n, 2, 3, 4}, 50, 3}, // round(0.5*3)=2 (C round: half away from zero)
		{[]float64{n, n}, 95, n},
		{nil, 95, n},
		{seq(100), 95, 95}, // round(0.95*99)=94 -> 95
		{seq(20), 95, 19},  // round(0.95*19)=18 -> 19
	} {
		got := Percentile(c.vals, c.p)
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.vals, c.p, got, c.want)
		}
	}
	if BitsPerSecond(125) != 1000 {
		t.Fatal("BitsPerSecond")
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func TestValueParsing(t *testing.T) {
	for _, c := range []struct {
		in   string
		kind valueKind
		f    float64
	}{
		{"U", kindUnknown, 0}, {"UNKN", kindUnknown, 0},
		{"12345", kindUint, 12345}, {"-12", kindInt, -12},
		{"18446744073709551615", kindUint, 18446744073709551615},
		{"123456789012345678901234", kindText, 0},
		{"1.5", kindFloat, 1.5}, {"-2.25e3", kindFloat, -2250}, {"inf", kindFloat, math.Inf(1)},
	} {
		v, err := ParseValue(c.in)
		if err != nil || v.kind != c.kind || (c.kind == kindFloat && v.f() != c.f) {
			t.Errorf("ParseValue(%q) = %+v, %v", c.in, v, err)
		}
	}
	for _, bad := range []string{"", "1.5x", "abc", "0x10"} {
		if _, err := ParseValue(bad); err == nil {
			t.Errorf("ParseValue(%q) accepted", bad)
		}
	}
	// rrd_diff: exact on digits, unknown across signs.
	if d := decimalDiff(Uint(5), "18446744073709551615"); d != -18446744073709551610 {
		t.Errorf("diff %v", d)
	}
	if d := decimalDiff(Int(-5), "3"); !math.IsNaN(d) {
		t.Errorf("diff across signs %v, want NaN", d)
	}
	if d := decimalDiff(Int(-5), "-8"); d != 3 {
		t.Errorf("diff of negatives %v, want 3", d)
	}
}

func TestTimeSpecs(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, c := range []struct {
		start, end string
		s, e       int64
	}{
		{"1699990000", "1700000000", 1699990000, 1700000000},
		{"end-1h", "now", 1700000000 - 3600, 1700000000},
		{"-1d", "now", 1700000000 - 86400, 1700000000},
		{"now-2h", "-1h", 1700000000 - 7200, 1700000000 - 3600},
		{"1699990000", "start+1h", 1699990000, 1699993600},
		{"e-1w", "1700000000", 1700000000 - 7*86400, 1700000000},
		{"-3600", "now", 1700000000 - 3600, 1700000000},
	} {
		ss, err := ParseTimeSpec(c.start)
		if err != nil {
			t.Fatal(err)
		}
		es, err := ParseTimeSpec(c.end)
		if err != nil {
			t.Fatal(err)
		}
		s, e, err := ResolveStartEnd(ss, es, now)
		if err != nil || s.Unix() != c.s || e.Unix() != c.e {
			t.Errorf("%s %s: %v %v %v, want %d %d", c.start, c.end, s.Unix(), e.Unix(), err, c.s, c.e)
		}
	}
	ss, _ := ParseTimeSpec("end-1h")
	es, _ := ParseTimeSpec("start+1h")
	if _, _, err := ResolveStartEnd(ss, es, now); err == nil {
		t.Error("mutually relative start and end accepted")
	}
	for _, bad := range []string{"", "yesterday", "now-1x", "now-"} {
		if _, err := ParseTimeSpec(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Update times: fractions through a double, microseconds truncated.
	tm, err := ParseUpdateTime("1000000300.25", now)
	if err != nil || tm.Unix() != 1000000300 || tm.Nanosecond() != 250000000 {
		t.Errorf("fractional time %v %v", tm, err)
	}
	tm, _ = ParseUpdateTime("-10", now)
	if tm.Unix() != 1700000000-10 {
		t.Errorf("relative time %v", tm.Unix())
	}
}

// TestBigHeaderReadInTwo: a header longer than the first read (here 40
// data sources x 8 archives, ~37 KB) is read whole, through the cache too.
func TestBigHeaderReadInTwo(t *testing.T) {
	spec := Spec{Step: 60, Start: time.Unix(1_699_999_980, 0)}
	for i := 0; i < 40; i++ {
		spec.DS = append(spec.DS, DS{Name: fmt.Sprintf("d%d", i), Type: Gauge, Heartbeat: 120, Min: nan(), Max: nan()})
	}
	for _, cf := range []string{Average, Max, Min, Last} {
		spec.RRAs = append(spec.RRAs, RRA{CF: cf, XFF: 0.5, Steps: 1, Rows: 10}, RRA{CF: cf, XFF: 0.5, Steps: 5, Rows: 10})
	}
	p := filepath.Join(t.TempDir(), "big.rrd")
	if err := Create(p, spec); err != nil {
		t.Fatal(err)
	}
	if hl := headerLen(40, 8); hl <= 16<<10 {
		t.Fatalf("header only %d bytes", hl)
	}
	c := quietCache(1)
	vals := make([]Value, 40)
	for k := 1; k <= 12; k++ {
		for i := range vals {
			vals[i] = Float(float64(k * i))
		}
		if err := c.Update(p, time.Unix(1_699_999_980+int64(k)*60, 0), vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	in, err := ReadInfo(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.DS) != 40 || !in.LastUpdate.Equal(time.Unix(1_700_000_700, 0)) {
		t.Fatalf("info: %d DS, last update %v", len(in.DS), in.LastUpdate)
	}
	r, err := Fetch(p, Average, time.Unix(1_700_000_280, 0), time.Unix(1_700_000_700, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range r.Rows {
		found = found || row[39] == 11*39
	}
	if !found {
		t.Fatalf("no row with DS 39 at 11*39: %v", r.Rows)
	}
}

package latest

import (
	"math"
	"testing"

	"github.com/outpost-nms/outpost/shared/sample"
)

func TestRates(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kind       sample.Kind
		a, b       Value
		dtMS       int64
		value      float64
		rate       float64 // NaN: none
		wantReadOK bool
	}{
		{"counter64", sample.Counter64, Value{Uint: 1000}, Value{Uint: 4000}, 30_000, 4000, 100, true},
		{"counter32 wraps", sample.Counter32, Value{Uint: 1<<32 - 100}, Value{Uint: 200}, 10_000, 200, 30, true},
		{"counter64 wraps", sample.Counter64, Value{Uint: math.MaxUint64 - 9}, Value{Uint: 10}, 10_000, 10, 2, true},
		{"reset gives no rate", sample.Counter64, Value{Uint: 5000}, Value{Uint: 10, Reset: true}, 10_000, 10, math.NaN(), true},
		{"gauge change per second", sample.Gauge, Value{Float: 10}, Value{Float: 4}, 2_000, 4, -3, true},
		{"derive falls", sample.Derive, Value{Float: 100}, Value{Float: 40}, 60_000, 40, -1, true},
		{"absolute", sample.Absolute, Value{Uint: 7}, Value{Uint: 60}, 60_000, 60, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := New(10)
			tb.SetWanted(map[string]bool{"x": true})
			e := tb.Ensure("h", "a")
			if _, _, ok := e.Read("x"); ok {
				t.Fatal("reading before any observation")
			}
			tc.a.DS, tc.a.Kind, tc.b.DS, tc.b.Kind = "x", tc.kind, "x", tc.kind
			tb.Observe("h", "a", 1_000_000, []Value{tc.a, {DS: "unwanted", Kind: sample.Gauge, Float: 1}})
			tb.Observe("h", "a", 1_000_000+tc.dtMS, []Value{tc.b})
			tb.Observe("h", "a", 1_000_000, []Value{tc.a}) // older: ignored
			r, at, ok := e.Read("x")
			if ok != tc.wantReadOK || r.Value != tc.value || at.UnixMilli() != 1_000_000+tc.dtMS {
				t.Fatalf("read %+v at %v ok %v", r, at, ok)
			}
			if math.IsNaN(tc.rate) != math.IsNaN(r.Rate) || (!math.IsNaN(tc.rate) && math.Abs(r.Rate-tc.rate) > 1e-9) {
				t.Errorf("rate %v, want %v", r.Rate, tc.rate)
			}
			if _, _, ok := e.Read("unwanted"); ok {
				t.Error("an unwanted data source is kept")
			}
		})
	}
}

func TestBounded(t *testing.T) {
	tb := New(2)
	tb.SetWanted(map[string]bool{"x": true})
	if tb.Ensure("h", "a") == nil || tb.Ensure("h", "b") == nil || tb.Ensure("h", "a") == nil {
		t.Fatal("refused below the limit")
	}
	if tb.Ensure("h", "c") != nil || tb.Refused() != 1 || tb.Len() != 2 {
		t.Fatalf("len %d refused %d", tb.Len(), tb.Refused())
	}
	tb.Observe("h", "c", 1, []Value{{DS: "x", Float: 1}}) // not held: ignored
	if tb.Len() != 2 {
		t.Fatal("observe added an attribute")
	}
	many := make([]Value, 0, MaxDS+5)
	w := map[string]bool{}
	for i := range MaxDS + 5 {
		n := string(rune('a' + i))
		many = append(many, Value{DS: n, Float: 1})
		w[n] = true
	}
	tb.SetWanted(w)
	tb.Observe("h", "a", 5, many)
	e := tb.Ensure("h", "a")
	if len(e.pts) != MaxDS {
		t.Errorf("%d data sources kept, want at most %d", len(e.pts), MaxDS)
	}
	tb.Retain(func(_, attr string) bool { return attr == "b" })
	if tb.Len() != 1 || tb.Ensure("h", "c") == nil {
		t.Errorf("retain: len %d", tb.Len())
	}
}

package graph

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// The streamed xport JSON is the document XportOf builds.
func TestWriteXportJSONIsXportOf(t *testing.T) {
	d := goldenData()
	d.Series[0].Avg[3] = math.Inf(1) // no JSON number: null
	var buf bytes.Buffer
	if err := WriteXportJSON(&buf, d); err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.Bytes())
	}
	b, _ := json.Marshal(XportOf(d))
	json.Unmarshal(b, &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("streamed %s\nXportOf  %s", buf.Bytes(), b)
	}
}

// Text cells are quoted as RFC 4180 says, a leading =, +, - or @ is
// defused with an apostrophe, and control characters are escaped.
func TestCSVTextCells(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"in_octets AVERAGE (bit/s)", "in_octets AVERAGE (bit/s)"},
		{`say "hi"`, `say "hi"`},
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+1", "'+1"}, {"-2+3", "'-2+3"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"a\x00b\nc", `a\x00b\x0ac`},
	} {
		line := string(appendCSVText(nil, c.in))
		recs, err := csv.NewReader(strings.NewReader(line)).ReadAll()
		if err != nil || len(recs) != 1 || len(recs[0]) != 1 || recs[0][0] != c.want {
			t.Errorf("appendCSVText(%q) = %s, reads as %q (%v), want %q", c.in, line, recs, err, c.want)
		}
	}
}

// An infinite percentile (an archive holding +Inf) is no JSON number:
// the chart leaves it out instead of failing to encode.
func TestChartOfInfinity(t *testing.T) {
	d := goldenData()
	d.Series[0].P95 = math.Inf(1)
	d.Series[1].Avg[0] = math.Inf(-1)
	if _, err := json.Marshal(ChartOf(d)); err != nil {
		t.Fatalf("chart JSON: %v", err)
	}
}

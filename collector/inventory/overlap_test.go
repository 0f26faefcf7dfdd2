package inventory

import (
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPatternsOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b    string
		overlap bool
	}{
		{"*", "sw-1", true},
		{"sw-*", "sw-1", true},
		{"sw-*", "rt-*", false},
		{"r[0-9]", "r5*", true},
		{"r[0-9]", "r[a-z]", false},
		{"r[^0-9]", "r5", false},
		{"r[^0-9]", "r?", true},
		{"*-core", "paris-*", true},
		{"*a", "*b", false},
		{"a*", "*b", true},
		{"?", "??", false},
		{"??*", "?", false},
		{"[ab][cd]", "[bc][de]", true},
		{`\*x`, "*", true},
		{`\*x`, "ax", false},
		{`[\]a]`, "]", true},
		{"[a-]", "a", false}, // bad pattern: checked below
		{"site1-*", "site10-*", false},
		{"site1*", "site10-*", true},
		{"héllo*", "h?llo", true},
	} {
		if tc.a == "[a-]" {
			if _, _, err := PatternsOverlap(tc.a, tc.b); err == nil {
				t.Errorf("%q accepted", tc.a)
			}
			continue
		}
		for _, swap := range []bool{false, true} {
			a, b := tc.a, tc.b
			if swap {
				a, b = b, a
			}
			ex, ok, err := PatternsOverlap(a, b)
			if err != nil {
				t.Fatalf("%q %q: %v", a, b, err)
			}
			if ok != tc.overlap {
				t.Errorf("%q vs %q: overlap %v, want %v", a, b, ok, tc.overlap)
				continue
			}
			if ok {
				ma, _ := path.Match(a, ex)
				mb, _ := path.Match(b, ex)
				if !ma || !mb {
					t.Errorf("%q vs %q: example %q does not match both", a, b, ex)
				}
			}
		}
	}
}

func TestPatternOverlapsNamesTheAgent(t *testing.T) {
	agents := []Agent{{Name: "paris", Hosts: []string{"par-*", "core1"}}, {Name: "lyon", Hosts: []string{"lyo-*"}}}
	got, err := PatternOverlaps(agents, "new", []string{"*-sw1", "core[0-9]"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, o := range got {
		lines = append(lines, o.Pattern+" "+o.Agent+" "+o.AgentPattern+" "+o.Example)
	}
	want := "*-sw1 paris par-* par-sw1|core[0-9] paris core1 core1|*-sw1 lyon lyo-* lyo-sw1"
	if strings.Join(lines, "|") != want {
		t.Fatalf("got %q\nwant %q", strings.Join(lines, "|"), want)
	}
	// An agent's own patterns never overlap itself (re-adding is an error elsewhere).
	if got, _ := PatternOverlaps(agents, "paris", []string{"par-*"}); len(got) != 0 {
		t.Fatalf("self overlap %+v", got)
	}
}

// FuzzPatternsOverlap compares the product search with brute force: every
// string up to a length over an alphabet holding every character the two
// patterns name, plus one they do not.
func FuzzPatternsOverlap(f *testing.F) {
	for _, s := range [][2]string{{"*", "a"}, {"a*", "*b"}, {"[a-c]?", "b[^b]"}, {"?*?", "ab"}, {`\*`, "[*]"}, {"[^a]*", "a*"}, {"a[b-d]*c", "*c?"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 6 || len(b) > 6 {
			return
		}
		_, errA := path.Match(a, "")
		_, errB := path.Match(b, "")
		ex, ok, err := PatternsOverlap(a, b)
		if errA != nil || errB != nil || !utf8.ValidString(a) || !utf8.ValidString(b) {
			if err == nil {
				t.Fatalf("%q %q: bad pattern accepted", a, b)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q %q: %v", a, b, err)
		}
		alpha := map[rune]bool{'z': true, '~': true}
		for _, r := range a + b {
			alpha[r] = true
			alpha[r+1] = true
			if r > 0 {
				alpha[r-1] = true
			}
		}
		delete(alpha, '/')
		var letters []rune
		for r := range alpha {
			letters = append(letters, r)
		}
		if len(letters) > 12 {
			return // brute force too large
		}
		found := ""
		var walk func(prefix []rune, n int) bool
		walk = func(prefix []rune, n int) bool {
			s := string(prefix)
			ma, _ := path.Match(a, s)
			mb, _ := path.Match(b, s)
			if ma && mb {
				found = s
				return true
			}
			if n == 0 {
				return false
			}
			for _, r := range letters {
				if walk(append(prefix, r), n-1) {
					return true
				}
			}
			return false
		}
		brute := walk(nil, 5)
		if ok {
			ma, _ := path.Match(a, ex)
			mb, _ := path.Match(b, ex)
			if !ma || !mb {
				t.Fatalf("%q %q: example %q does not match both", a, b, ex)
			}
		}
		if brute && !ok {
			t.Fatalf("%q %q: %q matches both, overlap not found", a, b, found)
		}
		if ok && !brute && len([]rune(ex)) <= 5 {
			t.Fatalf("%q %q: example %q not found by brute force", a, b, ex)
		}
	})
}

package safetext

import (
	"strings"
	"testing"
)

func TestWidth(t *testing.T) {
	cases := []struct {
		s string
		w int
	}{
		{"", 0}, {"ge-0/0/1", 8}, {"Büro", 4}, {`B\xfcro`, 7},
		{"東京", 4}, {"ｱｲ", 2}, {"Ａ", 2}, {"한국", 4}, {"🔥x", 3},
		{"e\u0301", 1},    // e + combining acute
		{"a\u200bb", 2},   // zero-width space
		{"→ core", 6},     // arrows are narrow
		{"\xff", 1},       // an invalid byte: one column
		{"\U00020000", 2}, // CJK extension B
		{"ᄀ", 2},          // Hangul Jamo initial
		{"\u0600abc", 3},  // Arabic number sign (Cf): zero width
		{"Ελληνικά", 8},   // Greek
		{"кириллица", 9},  // Cyrillic
		{"\u3000", 2},     // ideographic space
		{"\u303f", 1},     // ideographic half fill space is narrow
		{"\U0001F600", 2}, // emoticon
		{"\u2602", 1},     // umbrella without the emoji block: narrow
		{"\u2614", 2},     // umbrella with rain drops: wide
	}
	for _, c := range cases {
		if got := Width(c.s); got != c.w {
			t.Errorf("Width(%q) = %d, want %d", c.s, got, c.w)
		}
	}
}

func TestCutWidth(t *testing.T) {
	cases := []struct {
		s     string
		width int
		want  string
	}{
		{"ge-0/0/1", 8, "ge-0/0/1"},
		{"ge-0/0/1", 9, "ge-0/0/1"},
		{"ge-0/0/10", 8, "ge-0/0/…"},
		{"東京都庁", 5, "東京…"},  // 2+2+1
		{"東京都庁", 6, "東京…"},  // the third would take columns 5-6 and leave none for the ellipsis
		{"東京都庁", 8, "東京都庁"}, // fits exactly
		{"e\u0301e\u0301e\u0301", 2, "e\u0301…"},
		{`\x1b[2J`, 4, `\x1…`},
		{"abc", 1, "…"},
		{"abc", 0, ""},
		{"", 3, ""},
	}
	for _, c := range cases {
		got := CutWidth(c.s, c.width)
		if got != c.want {
			t.Errorf("CutWidth(%q, %d) = %q, want %q", c.s, c.width, got, c.want)
		}
		if Width(got) > c.width {
			t.Errorf("CutWidth(%q, %d) = %q is %d columns wide", c.s, c.width, got, Width(got))
		}
	}
	if got := PadWidth("東京", 6); got != "東京  " {
		t.Errorf("PadWidth = %q", got)
	}
	if got := PadWidth("abcdef", 3); got != "abcdef" {
		t.Errorf("PadWidth of a wider string = %q", got)
	}
}

// FuzzCutWidth: a cut never exceeds the width, never splits a character
// of valid text, and keeps a prefix of the input.
func FuzzCutWidth(f *testing.F) {
	f.Add("東京都庁 ge-0/0/1 🔥", 7)
	f.Add("e\u0301\u200b\xff", 2)
	f.Fuzz(func(t *testing.T, s string, width int) {
		width = width % 300
		got := CutWidth(s, width)
		if Width(got) > max(width, 0) {
			t.Fatalf("CutWidth(%q, %d) = %q: %d columns", s, width, got, Width(got))
		}
		if !strings.HasPrefix(s, strings.TrimSuffix(got, Ellipsis)) {
			t.Fatalf("CutWidth(%q, %d) = %q is not a prefix", s, width, got)
		}
		if IsLine(s, len(s)+1) && !IsLine(got, len(got)+1) {
			t.Fatalf("CutWidth split a character of clean text: %q", got)
		}
	})
}

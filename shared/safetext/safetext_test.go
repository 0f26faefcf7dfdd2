package safetext

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "ge-0/0/1", MaxName, "ge-0/0/1"},
		{"unicode kept", "Büro 2. OG – Schrank", MaxName, "Büro 2. OG – Schrank"},
		{"latin1", "B\xfcro", MaxName, `B\xfcro`},
		{"lone ff", "\xff", MaxName, `\xff`},
		{"bad continuation", "c3 \xc3\x28", MaxName, `c3 \xc3(`},
		{"truncated sequence", "euro \xe2\x82", MaxName, `euro \xe2\x82`},
		{"overlong", "\xc0\xaf", MaxName, `\xc0\xaf`},
		{"surrogate", "\xed\xa0\x80", MaxName, `\xed\xa0\x80`},
		{"nul", "a\x00b", MaxName, `a\x00b`},
		{"escape sequence", "\x1b[2J\x1b]0;pwned\x07", MaxName, `\x1b[2J\x1b]0;pwned\x07`},
		{"cr lf tab", "a\r\nb\tc", MaxName, `a\x0d\x0ab\x09c`},
		{"del", "a\x7fb", MaxName, `a\x7fb`},
		{"c1", "a\u0085b\u009bc", MaxName, `a\u0085b\u009bc`},
		{"bidi override", "abc\u202edcb", MaxName, `abc\u202edcb`},
		{"bidi isolate", "\u2066x\u2069", MaxName, `\u2066x\u2069`},
		{"line separator", "a\u2028b", MaxName, `a\u2028b`},
		{"bom", "\ufeffname", MaxName, `\ufeffname`},
		{"backslash kept", `C:\ Label:System`, MaxName, `C:\ Label:System`},
		{"markup kept", `<script>alert(1)</script>`, MaxName, `<script>alert(1)</script>`},
		{"path kept", "../../etc/passwd", MaxName, "../../etc/passwd"},
		{"cut", long, 10, "aaaaaaa…"},
		{"cut exact fit", strings.Repeat("a", 10), 10, strings.Repeat("a", 10)},
		{"cut never inside an escape", "aaaaa\xff\xff", 10, "aaaaa…"},
		{"cut never inside a rune", "aaaaaaaéé", 10, "aaaaaaa…"},
		{"tiny max raised", "abcdef", 0, "a…"},
		{"empty", "", MaxName, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Line(tt.in, tt.max)
			if got != tt.want {
				t.Fatalf("Line(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if len(got) > normMax(tt.max) {
				t.Fatalf("Line(%q, %d) is %d bytes", tt.in, tt.max, len(got))
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Cisco IOS Software\r\nTechnical Support\r\n", "Cisco IOS Software\nTechnical Support\n"},
		{"a\rb", `a\x0db`},
		{"col1\tcol2\n", "col1\tcol2\n"},
		{"\x1b[31mred\x1b[0m\n", `\x1b[31mred\x1b[0m` + "\n"},
		{"bad \xff\n", `bad \xff` + "\n"},
		{"trailing cr\r", `trailing cr\x0d`},
	}
	for _, tt := range tests {
		if got := Text(tt.in, MaxText); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHostile64K: a 64 KB hostile string is cut to the bound and costs
// no more than one pass over its input.
func TestHostile64K(t *testing.T) {
	var in []byte
	for len(in) < 64<<10 {
		in = append(in, "\xff\x00\x1b[2J<script>\u202e../"...)
	}
	got := LineBytes(in, MaxName)
	if len(got) > MaxName || !utf8.ValidString(got) || !strings.HasSuffix(got, Ellipsis) {
		t.Fatalf("got %d bytes %q", len(got), got)
	}
	if !IsLine(got, MaxName) {
		t.Fatal("result is not clean")
	}
	allocs := testing.AllocsPerRun(10, func() { LineBytes(in, MaxName) })
	if allocs > 3 {
		t.Fatalf("%v allocations per call", allocs)
	}
}

func TestCleanIsNoAllocForCleanText(t *testing.T) {
	s := "GigabitEthernet1/0/48 uplink to core – Büro"
	if allocs := testing.AllocsPerRun(100, func() { Line(s, MaxName) }); allocs != 0 {
		t.Fatalf("%v allocations for a clean string", allocs)
	}
}

func TestUnescape(t *testing.T) {
	for _, in := range []string{"B\xfcro", "\x00\x01\x1b[0m", "a\u0085b\u202ec", "\xff\xfe\xfd", "plain", "\xe2\x82"} {
		if got := Unescape(Line(in, MaxName)); !bytes.Equal(got, []byte(in)) {
			t.Errorf("Unescape(Line(%q)) = %q", in, got)
		}
	}
	// Backslashes that start no escape are copied.
	if got := string(Unescape(`C:\ \x \xZZ \u12`)); got != `C:\ \x \xZZ \u12` {
		t.Errorf("got %q", got)
	}
}

// checkInvariants is what every caller relies on, for any input.
func checkInvariants(t *testing.T, in string, max int) {
	t.Helper()
	for _, multiline := range []bool{false, true} {
		clean := Line
		is := IsLine
		if multiline {
			clean, is = Text, IsText
		}
		out := clean(in, max)
		if !utf8.ValidString(out) {
			t.Fatalf("multiline=%v: invalid UTF-8 %q", multiline, out)
		}
		if len(out) > normMax(max) {
			t.Fatalf("multiline=%v: %d bytes > %d", multiline, len(out), normMax(max))
		}
		if again := clean(out, max); again != out {
			t.Fatalf("multiline=%v: not idempotent: %q -> %q", multiline, out, again)
		}
		if !is(out, max) {
			t.Fatalf("multiline=%v: IsLine/IsText false for the result %q", multiline, out)
		}
		if is(in, max) != (out == in) {
			t.Fatalf("multiline=%v: IsLine/IsText(%q) disagrees with cleaning", multiline, in)
		}
		for _, r := range out {
			if escaped(r, multiline) {
				t.Fatalf("multiline=%v: %U left in %q", multiline, r, out)
			}
			if multiline && r == '\r' {
				t.Fatalf("carriage return left in %q", out)
			}
		}
		// Uncut, the escapes give the input back (Text: less the CR of CR LF).
		if !strings.HasSuffix(out, Ellipsis) && !strings.Contains(in, `\`) {
			want := in
			if multiline {
				want = strings.ReplaceAll(in, "\r\n", "\n")
			}
			if got := string(Unescape(out)); got != want {
				t.Fatalf("multiline=%v: Unescape(%q) = %q, want %q", multiline, out, got, want)
			}
		}
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "ge-0/0/1", "B\xfcro", "\x1b[2J", "a\r\nb", "\u202e", "\xe2\x82", `\xff`, strings.Repeat("é", 200)} {
		f.Add(s, MaxName)
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max > 1<<16 || max < -1 {
			max %= 1 << 16
		}
		checkInvariants(t, in, max)
	})
}

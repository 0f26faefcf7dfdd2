package ingest

import (
	"strings"
	"testing"
)

func TestEscapeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"r1", "r1"},
		{"core-1.example.net", "core-1.example.net"},
		{"if:ge-0/0/1", "if%3Age-0%2F0%2F1"},
		{"..", "%2E."},
		{".hidden", "%2Ehidden"},
		{"", "%"},
		{"a b%c", "a%20b%25c"},
		{"ntp-peer:[2001:db8::1]", "ntp-peer%3A%5B2001%3Adb8%3A%3A1%5D"},
		{"ü", "%C3%BC"},
	}
	for _, c := range cases {
		if got := EscapeName(c.in); got != c.want {
			t.Errorf("EscapeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("x/", 300)
	a, b := EscapeName(long), EscapeName(long+"y")
	if len(a) > 200 || a == b {
		t.Errorf("long names: %d bytes, distinct %v", len(a), a != b)
	}
	if got := ArchivePath("r1", "if:eth0"); got != "rrd/r1/if%3Aeth0.rrd" {
		t.Errorf("ArchivePath = %q", got)
	}
}

package ntp

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// reply concatenates the data of captured fragments.
func reply(t testing.TB, files ...string) []byte {
	t.Helper()
	var data []byte
	for _, f := range files {
		p, err := ParsePacket(capture(t, f))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, p.Data...)
	}
	return data
}

func TestParseVarListSystemCapture(t *testing.T) {
	vars := ParseVarList(reply(t, "readvar-sys-0.bin"))
	want := map[string]string{
		"leap": "3", "stratum": "6", "precision": "-24", "refid": "127.127.1.0",
		"reftime": "0xeeb2356b.bb1bc9d0", "peer": "17767", "offset": "0.000000",
		"processor": "x86_64", "system": "Linux/6.18.44-fc-v657", "version": "ntpd ntpsec-1.2.2", "mintc": "0",
	}
	for name, v := range want {
		if got, ok := vars.Get(name); !ok || got != v {
			t.Errorf("%s = %q (%v), want %q", name, got, ok, v)
		}
	}
	if len(vars) != 19 {
		t.Errorf("%d variables, want 19: %v", len(vars), vars)
	}
	if n, err := vars.Int("peer"); err != nil || n != 17767 {
		t.Errorf("Int(peer) = %d, %v", n, err)
	}
}

// TestParseVarListPeerCapture: the real reply has binary garbage in
// filtdelay and friends (an ntpsec 1.2.2 quirk) and spans two fragments.
func TestParseVarListPeerCapture(t *testing.T) {
	vars := ParseVarList(reply(t, "readvar-17768-0.bin", "readvar-17768-1.bin"))
	for name, v := range map[string]string{
		"srcadr": "127.127.28.0", "hmode": "3", "stratum": "0", "refid": "PPS", "reach": "0x0",
		"rec": "0x00000000.00000000", "jitter": "0.000060", "srchost": "SHM(0)", "ntscookies": "-1",
	} {
		if got, _ := vars.Get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	for _, v := range vars {
		if !utf8.ValidString(v.Name+v.Value) || strings.ContainsAny(v.Name+v.Value, "\r\n\x00") {
			t.Errorf("control or binary bytes kept in %q=%q", v.Name, v.Value)
		}
	}
	if n, err := vars.Int("reach"); err != nil || n != 0 {
		t.Errorf("reach: %d %v", n, err)
	}
}

func TestParseVarList(t *testing.T) {
	cases := []struct {
		in   string
		want string // VarList.String()
	}{
		{"", ""},
		{"a=1", "a=1"},
		{"a=1, b=2,\r\nc=3\r\n", "a=1, b=2, c=3"},
		{`version="ntpd ntpsec-1.2.2, built 2023", x=1`, `version="ntpd ntpsec-1.2.2, built 2023", x=1`},
		{`s="a,b,c",t="",u=x`, `s="a,b,c", t=, u=x`},
		{"flag, a = 5 ,b=", "flag=, a=5, b="},
		{"=novalue, ,,a=b=c", "a=b=c"},
		{"a=\x00\x01\xffx\x7f", "a=\x01x"},
		{`unterminated="abc, d=1`, `unterminated=""abc, d=1"`}, // one item: the open quote swallows the comma
		{`s = "a,b", t=1`, `s="a,b", t=1`},
		// A quote inside a value is literal (ntpd's garbage in filtdelay
		// sometimes has one; ntpq would swallow the rest of the reply).
		{"filtdelay=\xa0O\"7d 0.00, srchost=\"LOCAL(0)\", x=1", `filtdelay="O"7d 0.00", srchost=LOCAL(0), x=1`},
		{"filtdelay=\xa0\"7d 0.00, srchost=\"LOCAL(0)\"", `filtdelay=""7d 0.00", srchost=LOCAL(0)`},
		{`a=x"y, b=2`, `a="x"y", b=2`},
	}
	for _, c := range cases {
		if got := ParseVarList([]byte(c.in)).String(); got != c.want {
			t.Errorf("ParseVarList(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// The last of a duplicated name wins, as in ntpq's dict.
	if v, _ := ParseVarList([]byte("a=1, a=2")).Get("a"); v != "2" {
		t.Errorf("duplicate: %q", v)
	}
}

func TestTimestamp(t *testing.T) {
	ts, err := ParseTimestamp("0xeeb2356b.bb1bc9d0")
	if err != nil {
		t.Fatal(err)
	}
	pivot := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	got := ts.Time(pivot)
	want := time.Date(2026, 11, 26, 4, 34, 51, 730892766, time.UTC)
	if d := got.Sub(want); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("Time = %v, want %v", got, want)
	}
	if ts.String() != "0xeeb2356b.bb1bc9d0" {
		t.Errorf("String = %s", ts)
	}
	// Round trip through TimestampOf, and the era after 2036.
	for _, at := range []time.Time{pivot, time.Date(2040, 1, 1, 0, 0, 0, 5e8, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		if back := TimestampOf(at).Time(at.Add(1000 * time.Hour)); back.Sub(at).Abs() > time.Microsecond {
			t.Errorf("round trip %v -> %v", at, back)
		}
	}
	// Zero is 2036-02-07 in the era nearest 2026: in the future.
	if z := Timestamp(0).Time(pivot); z.Year() != 2036 {
		t.Errorf("zero timestamp unfolds to %v", z)
	}
	for _, bad := range []string{"", "eeb2356b.bb1bc9d0", "0xeeb2356b", "0x.1", "0x123456789.0", "0xzz.00", "0x1.123456789"} {
		if _, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) succeeded", bad)
		}
	}
}

// FuzzParseVarList: the parser never panics; items have non-empty names,
// carry no NUL or non-ASCII byte, are trimmed, and timestamps round-trip.
func FuzzParseVarList(f *testing.F) {
	f.Add(reply(f, "readvar-sys-0.bin"))
	f.Add(reply(f, "readvar-17767-0.bin", "readvar-17767-1.bin"))
	f.Add(reply(f, "readvar-17768-0.bin", "readvar-17768-1.bin"))
	f.Add([]byte(`version="a, b", x=0xeeb2356b.bb1bc9d0`))
	f.Fuzz(func(t *testing.T, b []byte) {
		vars := ParseVarList(b)
		for _, v := range vars {
			if v.Name == "" {
				t.Fatalf("empty name in %q", b)
			}
			for _, c := range []byte(v.Name + v.Value) {
				if c == 0 || c > 126 {
					t.Fatalf("byte %#x kept: %q=%q", c, v.Name, v.Value)
				}
			}
			if strings.TrimSpace(v.Name) != v.Name {
				t.Fatalf("untrimmed name %q", v.Name)
			}
			if ts, err := ParseTimestamp(v.Value); err == nil {
				if again, err := ParseTimestamp(ts.String()); err != nil || again != ts {
					t.Fatalf("timestamp round trip %q", v.Value)
				}
			}
		}
		if len(vars) > len(b) {
			t.Fatalf("%d items from %d bytes", len(vars), len(b))
		}
	})
}

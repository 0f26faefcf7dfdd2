package configfile

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/secret"
)

type inner struct {
	Port    int      `yaml:"port"`
	Timeout Duration `yaml:"timeout"`
}

type testTarget struct {
	Name  string `yaml:"name"`
	inner `yaml:",inline"`
	Ratio *float64 `yaml:"ratio"`
}

type testConfig struct {
	Name     string            `yaml:"name"`
	Enabled  bool              `yaml:"enabled"`
	Count    int8              `yaml:"count"`
	Big      uint16            `yaml:"big"`
	Float    float32           `yaml:"float"`
	Size     Size              `yaml:"size"`
	Secret   secret.Secret     `yaml:"secret"`
	Retries  *int              `yaml:"retries"`
	Tags     []string          `yaml:"tags"`
	Labels   map[string]string `yaml:"labels"`
	Targets  []testTarget      `yaml:"targets"`
	Untagged string
	Skipped  string `yaml:"-"`
}

func TestDecodeOK(t *testing.T) {
	src := `# comment
name: edge-1
enabled: true
count: -128
big: 65535
float: 1.5
size: 2MiB
secret: 12345
retries: 0
tags: [a, b]
labels: {x: "1", "y z": two}
untagged: u
defaults: &d
targets:
  - name: sw1
    port: 161
    timeout: 2s
    ratio: 3
  - name: sw2
    timeout:
`
	// "defaults" is unknown: check the error, then decode without it.
	var c testConfig
	err := Decode("t.yaml", []byte(src), &c)
	if err == nil || err.Error() != `t.yaml:13:1: unknown field "defaults" (valid: big, count, enabled, float, labels, name, retries, secret, size, tags, targets, untagged)` {
		t.Fatalf("err = %v", err)
	}
	src = strings.Replace(src, "defaults: &d\n", "", 1)
	c = testConfig{}
	pos, err := DecodePositions("t.yaml", []byte(src), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "edge-1" || !c.Enabled || c.Count != -128 || c.Big != 65535 || c.Float != 1.5 ||
		c.Size != 2<<20 || c.Secret.Reveal() != "12345" || c.Retries == nil || *c.Retries != 0 ||
		strings.Join(c.Tags, ",") != "a,b" || c.Labels["y z"] != "two" || c.Untagged != "u" {
		t.Fatalf("decoded %+v", c)
	}
	if len(c.Targets) != 2 || c.Targets[0].Port != 161 || c.Targets[0].Timeout.D() != 2*time.Second ||
		*c.Targets[0].Ratio != 3 || c.Targets[1].Timeout != 0 || c.Targets[1].Ratio != nil {
		t.Fatalf("targets %+v", c.Targets)
	}
	for path, want := range map[string]Pos{
		"name":               {2, 1},
		"targets[1]":         {18, 5},
		"targets[0].timeout": {16, 5},
		`labels."y z"`:       {11, 18},
	} {
		if got, ok := pos.Of(path); !ok || got != want {
			t.Errorf("Of(%q) = %v %v, want %v", path, got, ok, want)
		}
	}
	// A missing field is reported at its nearest written ancestor.
	if got, _ := pos.Of("targets[1].port"); got != (Pos{18, 5}) {
		t.Errorf("Of(missing) = %v", got)
	}
	if got := pos.Errorf("targets[1].port", "must be set").Error(); got != "t.yaml:18: targets[1].port: must be set" {
		t.Errorf("Errorf = %q", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown key did you mean", "name: a\nnmae: b\n", `t.yaml:2:1: unknown field "nmae" (did you mean "name"?)`},
		{"unknown nested key", "targets:\n  - name: a\n    prot: 1\n", `t.yaml:3:5: targets[0]: unknown field "prot" (did you mean "port"?)`},
		{"wrong type int", "count: abc\n", `t.yaml:1:8: count: want an integer, got string "abc"`},
		{"int overflow", "count: 300\n", `t.yaml:1:8: count: integer 300 out of range for this field`},
		{"negative uint", "big: -1\n", `t.yaml:1:6: big: integer -1 out of range for this field`},
		{"float for int", "count: 1.5\n", `t.yaml:1:8: count: want an integer, got number 1.5`},
		{"float overflow", "float: 1e300\n", `t.yaml:1:8: float: number 1e300 out of range for this field`},
		{"bool", "enabled: yes\n", `t.yaml:1:10: enabled: want true or false, got string "yes"`},
		{"string got list", "name: [a]\n", `t.yaml:1:7: name: want a string, got a list`},
		{"list got string", "tags: a\n", `t.yaml:1:7: tags: want a list, got string "a"`},
		{"struct got list", "targets: [1]\n", `t.yaml:1:11: targets[0]: want a mapping of settings, got integer 1`},
		{"bad duration", "targets:\n- timeout: 5 seconds\n", `t.yaml:2:12: targets[0].timeout: invalid duration "5 seconds" (use Go syntax such as 30s, 5m, 1h30m)`},
		{"bad size", "size: lots\n", `t.yaml:1:7: size: invalid size "lots" (use a number with B, KiB, MiB, GiB, KB, MB or GB)`},
		{"nan size", "size: nan\n", `t.yaml:1:7: size: invalid size "nan" (use a number with B, KiB, MiB, GiB, KB, MB or GB)`},
		{"secret as mapping", "secret: {a: b}\n", `t.yaml:1:9: secret: want a single value, got a mapping`},
		{"duplicate key", "name: a\nname: b\n", `t.yaml:2:1: name: duplicate key (first set at line 1)`},
		{"duplicate map key", "labels:\n  a: 1\n  a: 2\n", `t.yaml:3:3: labels.a: duplicate key (first set at line 2)`},
		{"not utf8", "name: a\nlabels:\n  x: \"caf\xe9\"\n", `t.yaml:3:10: file is not valid UTF-8 (byte 0xe9); save it as UTF-8`},
		{"utf16", "\xff\xfen\x00", `t.yaml:1:1: file is not valid UTF-8 (byte 0xff); save it as UTF-8`},
		{"not yaml", "name: a\n  b: c\n", `t.yaml:2: not valid YAML: mapping values are not allowed in this context`},
		{"tab", "name: a\n\tcount: 1\n", `t.yaml:2: not valid YAML: found a tab character that violates indentation`},
		{"top level list", "- a\n- b\n", `t.yaml:1:1: the top level must be a mapping of settings, got a list`},
		{"top level scalar", "hello\n", `t.yaml:1:1: the top level must be a mapping of settings, got string "hello"`},
		{"empty", "", `t.yaml: file is empty (want a mapping of settings)`},
		{"comments only", "# nothing\n", `t.yaml: file is empty (want a mapping of settings)`},
		{"null document", "~\n", `t.yaml: file is empty (want a mapping of settings)`},
		{"two documents", "name: a\n---\nname: b\n", `t.yaml:2:1: more than one YAML document (remove the "---" separator)`},
		{"merge key", "targets:\n- &t {name: a}\n- <<: *t\n  port: 2\n", `t.yaml:3:3: targets[1]: merge keys (<<) are not supported; write the settings out (or use snmp_defaults)`},
		{"custom tag", "name: !foo bar\n", `t.yaml:1:7: name: custom tag "!foo" is not supported`},
		{"unknown alias", "name: *nope\n", `t.yaml: not valid YAML: unknown anchor 'nope' referenced`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			err := Decode("t.yaml", []byte(tc.src), &c)
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not *Error", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line")
			}
		})
	}
}

func TestDecodeAliases(t *testing.T) {
	src := "tags: &t [a, b]\nlabels: &l {k: v}\ntargets:\n- name: &n sw\n- name: *n\n"
	var c testConfig
	if err := Decode("t.yaml", []byte(src), &c); err != nil {
		t.Fatal(err)
	}
	if c.Targets[1].Name != "sw" {
		t.Fatalf("alias not followed: %+v", c.Targets)
	}
	// A billion-laughs document is refused instead of expanded.
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	var m struct {
		A []string           `yaml:"a"`
		B [][]string         `yaml:"b"`
		C [][][]string       `yaml:"c"`
		D [][][][]string     `yaml:"d"`
		E [][][][][]string   `yaml:"e"`
		F [][][][][][]string `yaml:"f"`
	}
	err := Decode("t.yaml", []byte(bomb+"f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"), &m)
	if err == nil || !strings.Contains(err.Error(), "document expands to too many values") {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeDestination(t *testing.T) {
	var s string
	if err := Decode("t.yaml", []byte("a: 1\n"), &s); err == nil {
		t.Fatal("non-struct destination accepted")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("name: x\nretries: two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c testConfig
	err := Load(p, &c)
	if err == nil || err.Error() != p+`:2:10: retries: want an integer, got string "two"` {
		t.Fatalf("err = %v", err)
	}
	err = Load(filepath.Join(dir, "missing.yaml"), &c)
	if err == nil || err.Error() != filepath.Join(dir, "missing.yaml")+": cannot read: no such file or directory" {
		t.Fatalf("err = %v", err)
	}
}

func TestSizeAndDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"1048576", 1 << 20}, {"512MiB", 512 << 20}, {"2GB", 2e9}, {"1.5KiB", 1536}, {"10 kb", 10000}, {"7b", 7}} {
		var s Size
		if err := s.UnmarshalText([]byte(tc.in)); err != nil || int64(s) != tc.want {
			t.Errorf("Size(%q) = %d, %v; want %d", tc.in, s, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-1", "inf", "NaN", "1e30GiB", "12 parsecs"} {
		var s Size
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("Size(%q) accepted as %d", bad, s)
		}
	}
	if got := Size(3 << 30).String(); got != "3GiB" {
		t.Errorf("String = %s", got)
	}
	var d Duration
	if err := d.UnmarshalText([]byte("-1s")); err == nil {
		t.Error("negative duration accepted")
	}
	if d.Or(time.Minute) != time.Minute || Duration(time.Second).Or(time.Minute) != time.Second {
		t.Error("Or")
	}
	if !math.IsNaN(math.NaN()) {
		t.Fatal()
	}
}

// FuzzDecode checks that no input makes Decode panic and that every error
// is one line naming the file.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"name: a\n", "targets:\n- name: x\n  port: 1\n", "a: &a [*a]\n", "- 1\n", "labels: {a: b}\n", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan error, 1)
		go func() {
			var c testConfig
			done <- Decode("f.yaml", data, &c)
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Decode hangs on %q", data)
		}
		if err != nil && (!strings.HasPrefix(err.Error(), "f.yaml") || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("bad error text %q", err)
		}
	})
}

// TestDecodeWindowsFiles: a UTF-8 byte-order mark and CRLF line ends (files
// written by Windows editors) decode, and lines are still counted right.
func TestDecodeWindowsFiles(t *testing.T) {
	var c testConfig
	if err := Decode("w.yaml", []byte("\xef\xbb\xbfname: a\r\ncount: 3\r\n"), &c); err != nil || c.Name != "a" || c.Count != 3 {
		t.Fatalf("BOM/CRLF: %+v %v", c, err)
	}
	err := Decode("w.yaml", []byte("\xef\xbb\xbfname: a\r\ncount: x\r\n"), &c)
	if err == nil || err.Error() != `w.yaml:2:8: count: want an integer, got string "x"` {
		t.Fatalf("err = %v", err)
	}
}

package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(f string, a ...any) { r.failed = append(r.failed, f) }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = append(r.failed, f) }

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.golden")
	r := &recorder{TB: t}
	Check(r, path, []byte("a\nb\n"))
	if len(r.failed) != 1 || !strings.Contains(r.failed[0], "-update") {
		t.Fatalf("a missing file: %q", r.failed)
	}
	*update = true
	Check(t, path, []byte("a\nb\n"))
	*update = false
	r = &recorder{TB: t}
	Check(r, path, []byte("a\nb\n"))
	if len(r.failed) != 0 {
		t.Fatalf("the same bytes failed: %q", r.failed)
	}
	Check(r, path, []byte("a\nc\n"))
	if len(r.failed) != 1 {
		t.Fatalf("different bytes passed")
	}
	if d := firstDiff([]byte("a\nc\n"), []byte("a\nb\n")); d != `line 2: got "c", want "b"` {
		t.Fatalf("diff %q", d)
	}
	if b, _ := os.ReadFile(path); string(b) != "a\nb\n" {
		t.Fatalf("file %q", b)
	}
}

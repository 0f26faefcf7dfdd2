package testbed

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper()                   {}
func (r *fatalRecorder) Fatalf(f string, a ...any) { r.msg = fmt.Sprintf(f, a...) }

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, 5*time.Second, "the third call", func() (bool, string) { n++; return n == 3, "" })
	if n != 3 {
		t.Fatalf("cond called %d times", n)
	}
	r := &fatalRecorder{TB: t}
	Eventually(r, 20*time.Millisecond, "never", func() (bool, string) { return false, "still false" })
	if !strings.Contains(r.msg, "waiting for never: still false") {
		t.Fatalf("failure %q", r.msg)
	}
}

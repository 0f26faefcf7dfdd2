package testpeer

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestStartChronyFollowsA checks the pair this package promises: B
// selects A at stratum 9, and lists the silent server and the refclock.
func TestStartChronyFollowsA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chronyd")
	}
	c := StartChrony(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.Chronyc(ctx, "sources")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"^* 127.0.0.1 ", "^? 127.0.0.3 ", "#? GPS "} {
		if !strings.Contains(out, want) {
			t.Errorf("sources lack %q:\n%s", want, out)
		}
	}
	tr, err := c.Chronyc(ctx, "tracking")
	if err != nil || !strings.Contains(tr, "Stratum         : 9") {
		t.Errorf("tracking (%v):\n%s", err, tr)
	}
}

package testpeer

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestStartNTPDSelectsLocalClock checks the daemon this package promises:
// LOCAL(0) as system peer and SHM(0) unreachable, as ntpq -pn sees them.
func TestStartNTPDSelectsLocalClock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ntpd")
	}
	d := StartNTPD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.Ntpqpn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// ntpq names refclocks "LOCAL(0)", or by their pseudo-address
	// (127.127.1.0) in the first seconds after ntpd starts.
	var local, shm string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "LOCAL(0)") || strings.Contains(line, "127.127.1.0"):
			local = line
		case strings.Contains(line, "SHM(0)") || strings.Contains(line, "127.127.28.0"):
			shm = line
		}
	}
	if !(strings.HasPrefix(local, "*LOCAL(0)") || strings.HasPrefix(local, "*127.127.1.0")) || !strings.Contains(local, ".LOCL.") {
		t.Errorf("LOCAL(0) is not the system peer:\n%s", out)
	}
	if f := strings.Fields(shm); len(f) < 7 || (f[0] != "SHM(0)" && f[0] != "127.127.28.0") || f[6] != "0" {
		t.Errorf("SHM(0) row should be unselected with reach 0:\n%s", out)
	}
}

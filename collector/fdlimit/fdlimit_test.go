//go:build linux

package fdlimit

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// TestRaise runs itself in a child with a soft limit of 64 under a hard
// limit of 256 (prlimit); Raise must lift the soft limit to 256. (Go's
// runtime raises it too when the child starts, so the child lowers it
// again first: what is tested is Raise.)
func TestRaise(t *testing.T) {
	if os.Getenv("FDLIMIT_CHILD") == "1" {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 64, Max: 256}); err != nil {
			t.Fatal(err)
		}
		l, err := Raise()
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("limits " + strconv.FormatUint(l.Soft, 10) + " " + strconv.FormatUint(l.Hard, 10) + "\n")
		return
	}
	prlimit := testbed.RequireTool(t, "prlimit")
	cmd := exec.Command(prlimit, "--nofile=64:256", os.Args[0], "-test.run=^TestRaise$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FDLIMIT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "limits 256 256") {
		t.Fatalf("child did not raise its soft limit:\n%s", out)
	}
}

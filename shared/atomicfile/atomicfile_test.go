package atomicfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

func TestWriteReplacesWithMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.pem")
	for i, mode := range []os.FileMode{0o600, 0o644} {
		data := []byte(fmt.Sprint("version ", i))
		if err := Write(p, data, mode); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		st, _ := os.Stat(p)
		if err != nil || !bytes.Equal(got, data) || st.Mode().Perm() != mode {
			t.Fatalf("round %d: %q %v %v", i, got, st.Mode(), err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), nil, 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// TestCrashLeavesOldOrNew kills a child process (SIGKILL) at random
// moments while it rewrites a file in a loop: the file always holds one
// complete version, never a torn or empty one.
func TestCrashLeavesOldOrNew(t *testing.T) {
	if p, child := testbed.CrashChildArg(); child {
		for i := 0; ; i++ {
			data := bytes.Repeat([]byte(strconv.Itoa(i%10)), 64<<10)
			if err := Write(p, data, 0o600); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "state")
	if err := Write(p, bytes.Repeat([]byte("x"), 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 20; round++ {
		cmd := testbed.CrashChild(t, "TestCrashLeavesOldOrNew", p)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+round*3) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(got) != 64<<10 || bytes.Count(got, got[:1]) != len(got) {
			t.Fatalf("round %d: torn file: %d bytes starting %q", round, len(got), got[:min(len(got), 8)])
		}
	}
}

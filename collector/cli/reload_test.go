package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/run"
)

// TestReloadOnHangup: each SIGHUP re-reads the file and delivers either
// the configuration or why it does not load (file, line and field).
func TestReloadOnHangup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "collector.yaml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reloads := reloadOnHangup(ctx, path)
	next := func() run.Reload {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-reloads:
			return r
		case <-ctx.Done():
			t.Fatal("no reload delivered")
		}
		return run.Reload{}
	}
	os.WriteFile(path, []byte("alerting:\n  rules:\n    - name: Busy\n      absent: -1\n"), 0o600)
	if r := next(); r.Err == nil || !strings.Contains(r.Err.Error(), "collector.yaml:4: alerting.rules[0].absent") {
		t.Fatalf("bad file: %+v", r)
	}
	os.WriteFile(path, []byte("alerting:\n  rules:\n    - name: Quiet\n      absent: 3\n"), 0o600)
	if r := next(); r.Err != nil || len(r.Config.Alerting.Rules) != 1 || r.Config.Alerting.Rules[0].Name != "Quiet" {
		t.Fatalf("good file: %+v", r)
	}
}

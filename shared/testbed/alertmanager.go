package testbed

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// StartAlertmanager starts the real Prometheus Alertmanager
// (prometheus-alertmanager) on a free loopback port with one webhook
// receiver at webhookURL (send_resolved, short group waits), and returns
// its base URL. It is stopped when the test ends.
func StartAlertmanager(t testing.TB, webhookURL string) string {
	t.Helper()
	bin := RequireTool(t, "prometheus-alertmanager")
	dir := t.TempDir()
	conf := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, host]
  group_wait: 100ms
  group_interval: 200ms
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, webhookURL)
	if err := os.WriteFile(filepath.Join(dir, "am.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", FreeTCPPort(t))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+dir,
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(base + "/-/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

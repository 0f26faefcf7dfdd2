package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckConfigCmd(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(bad, []byte("web:\n  listen: 127.0.0.1:8080\n  session_ttl: 1 day\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"example", []string{"check-config", "-c", "../../configs/collector.example.yaml"}, 0,
			"../../configs/collector.example.yaml: OK (collector collector, data /var/lib/outpost-collector, agents on quic :4700 tcp :4701, web 127.0.0.1:8080, metrics 127.0.0.1:9470)\n", ""},
		{"bad duration", []string{"check-config", "-c", bad}, ExitConfigInvalid,
			"", "outpost-collector: " + bad + ":3:16: web.session_ttl: invalid duration \"1 day\" (use Go syntax such as 30s, 5m, 1h30m)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), tc.args, &out, &errb)
			if code != tc.code || out.String() != tc.stdout || errb.String() != tc.stderr {
				t.Errorf("exit %d stdout %q stderr %q\nwant exit %d stdout %q stderr %q", code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

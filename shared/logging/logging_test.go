package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/shared/secret"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		level, format string
		wantDebug     bool
		wantInfo      bool
		json          bool
	}{
		{"", "", false, true, false},
		{"debug", "text", true, true, false},
		{"INFO", "json", false, true, true},
		{"warn", "text", false, false, false},
		{"warning", "json", false, false, true},
		{"error", "", false, false, false},
	} {
		var buf bytes.Buffer
		log, err := New(&buf, tc.level, tc.format)
		if err != nil {
			t.Fatalf("New(%q, %q): %v", tc.level, tc.format, err)
		}
		log.Debug("dbg")
		log.Info("inf", "community", secret.New("public"))
		out := buf.String()
		if strings.Contains(out, "dbg") != tc.wantDebug || strings.Contains(out, "inf") != tc.wantInfo {
			t.Errorf("%q/%q: output %q", tc.level, tc.format, out)
		}
		if strings.Contains(out, "public") {
			t.Errorf("secret logged: %q", out)
		}
		if tc.json && tc.wantInfo {
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Errorf("not JSON: %q", line)
				}
			}
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil, "verbose", "text"); err == nil || err.Error() != `unknown log level "verbose" (want debug, info, warn or error)` {
		t.Errorf("level: %v", err)
	}
	if _, err := New(nil, "info", "xml"); err == nil || err.Error() != `unknown log format "xml" (want text or json)` {
		t.Errorf("format: %v", err)
	}
}

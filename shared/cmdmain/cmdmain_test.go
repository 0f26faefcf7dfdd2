package cmdmain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantErr  string
	}{
		{"ok", nil, 0, ""},
		{"plain error", errors.New("boom"), 1, "tool: boom\n"},
		{"exit error", &ExitError{Code: ExitConfigInvalid, Err: errors.New("bad file")}, 2, "tool: bad file\n"},
		{"wrapped exit error", fmt.Errorf("while running: %w", &ExitError{Code: 3, Err: errors.New("refused")}), 3, "tool: while running: refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			root := NewRoot("tool", "a tool", "", &out, &errb)
			root.AddCommand(&cobra.Command{Use: "do", RunE: func(*cobra.Command, []string) error { return tt.err }})
			if got := Run(context.Background(), root, []string{"do"}, &errb); got != tt.wantCode {
				t.Errorf("exit code %d, want %d", got, tt.wantCode)
			}
			if errb.String() != tt.wantErr {
				t.Errorf("stderr %q, want %q", errb.String(), tt.wantErr)
			}
		})
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	root := NewRoot("tool", "a tool", "", &out, &errb)
	if code := Run(context.Background(), root, []string{"version"}, &errb); code != 0 || !strings.HasPrefix(out.String(), "tool ") {
		t.Fatalf("version: code %d, out %q", code, out.String())
	}
	root = NewRoot("tool", "a tool", "", &out, &errb)
	if code := Run(context.Background(), root, []string{"frobnicate"}, &errb); code != 1 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("unknown command: code %d, stderr %q", code, errb.String())
	}
}

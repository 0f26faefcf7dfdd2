package svc

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
)

type recorder struct{ lines []string }

func (r *recorder) Error(v ...interface{}) error {
	r.lines = append(r.lines, "E "+fmt.Sprint(v...))
	return nil
}
func (r *recorder) Warning(v ...interface{}) error {
	r.lines = append(r.lines, "W "+fmt.Sprint(v...))
	return nil
}
func (r *recorder) Info(v ...interface{}) error {
	r.lines = append(r.lines, "I "+fmt.Sprint(v...))
	return nil
}
func (r *recorder) Errorf(f string, a ...interface{}) error {
	return r.Error(fmt.Sprintf(f, a...))
}
func (r *recorder) Warningf(f string, a ...interface{}) error {
	return r.Warning(fmt.Sprintf(f, a...))
}
func (r *recorder) Infof(f string, a ...interface{}) error { return r.Info(fmt.Sprintf(f, a...)) }

func TestSystemLogKeepsLevels(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		rec := &recorder{}
		w := &systemLog{l: rec}
		var h slog.Handler = slog.NewTextHandler(w, nil)
		if format == "json" {
			h = slog.NewJSONHandler(w, nil)
		}
		log := slog.New(h)
		log.Info("polled", "targets", 3)
		log.Warn("slow device")
		log.Error("spool full")
		if len(rec.lines) != 3 {
			t.Fatalf("%s: %d lines: %q", format, len(rec.lines), rec.lines)
		}
		for i, want := range []string{"I ", "W ", "E "} {
			if rec.lines[i][:2] != want || bytes.Contains([]byte(rec.lines[i]), []byte("\n")) {
				t.Errorf("%s line %d = %q, want level %q and one line", format, i, rec.lines[i], want)
			}
		}
	}
}

func TestLogOutputInTerminalIsStderr(t *testing.T) {
	var buf bytes.Buffer
	if got := LogOutput(Spec{Name: "outpost-test"}, &buf); got != &buf {
		t.Fatalf("LogOutput outside a Windows service = %T, want the given stderr", got)
	}
}

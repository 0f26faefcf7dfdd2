package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/alerting"
	"github.com/outpost-nms/outpost/collector/config"
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

// TestReloadRulesInTheRunningCollector: a reload replaces the running
// collector's rules (the rules API shows them); one that failed keeps
// them and the rules API says why.
func TestReloadRulesInTheRunningCollector(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "collector.yaml")
	base := fmt.Sprintf("name: test\ndata_dir: %s\nlisten: {quic: \"127.0.0.1:0\", tcp: \"127.0.0.1:0\"}\nweb: {listen: \"127.0.0.1:0\"}\nmetrics: {listen: \"off\"}\n", dir)
	os.WriteFile(cfgPath, []byte(base+"alerting:\n  rules:\n    - {name: Busy, match: {kind: interface}, threshold: {of: utilisation, above: 90}}\n"), 0o600)
	if _, _, err := runCollector(t, "", "ca", "init", "-c", cfgPath); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("operator-password\n"), 0o600)
	if _, _, err := runCollector(t, "", "user", "add", "olga", "--role", "operator", "--password-file", pw, "-c", cfgPath); err != nil {
		t.Fatal(err)
	}
	tok, _, err := runCollector(t, "", "user", "token", "olga", "-c", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logSink{}
	ctx, cancel := context.WithCancel(context.Background())
	reloads := make(chan run.Reload)
	done := make(chan error, 1)
	go func() { done <- run.ServeReloading(ctx, c, reloads, slog.New(slog.NewTextHandler(logs, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	web := logs.find(t, regexp.MustCompile(`msg="web UI listening" addr=(\S+)`))[1]
	rules := func() (names []string, reloadErr string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+web+"/api/v1/alerts/rules", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var rep alerting.RulesReport
		if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Rules {
			if !r.Builtin {
				names = append(names, r.Name)
			}
		}
		return names, rep.Error
	}
	if got, _ := rules(); strings.Join(got, ",") != "Busy" {
		t.Fatalf("at start: %v", got)
	}
	os.WriteFile(cfgPath, []byte(base+"alerting:\n  rules:\n    - {name: Quiet, absent: 3}\n"), 0o600)
	c2, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	reloads <- run.Reload{Config: c2}
	logs.find(t, regexp.MustCompile(`msg="reload: alert rules re-read`))
	if got, e := rules(); strings.Join(got, ",") != "Quiet" || e != "" {
		t.Fatalf("after a reload: %v %q", got, e)
	}
	reloads <- run.Reload{Err: errors.New(cfgPath + ":5: alerting.rules[0].absent: -1 out of range")}
	logs.find(t, regexp.MustCompile(`keeping the running alert rules`))
	if got, e := rules(); strings.Join(got, ",") != "Quiet" || !strings.Contains(e, "out of range") {
		t.Fatalf("after a failed reload: %v %q", got, e)
	}
}

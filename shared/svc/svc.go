// Package svc runs an Outpost binary as a system service and gives both
// binaries the same install, uninstall, start, stop, restart and status
// subcommands, through github.com/kardianos/service (systemd, SysV init,
// upstart, OpenRC, launchd, the Windows service manager).
//
// Packages (.deb, .rpm) ship their own hardened systemd unit instead of the
// one kardianos would generate; these subcommands are for tarball and
// Windows installs, and for machines without systemd. On SysV init the
// script written is Outpost's own: it runs the binary as the configured
// user (start-stop-daemon --chuid), keeps a PID file, and answers status
// with LSB exit codes.
package svc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kardianos/service"
)

// Spec describes the service of one binary.
type Spec struct {
	Name        string   // service name, e.g. "outpost-agent"
	DisplayName string   // e.g. "Outpost agent"
	Description string   // one sentence
	UserName    string   // run as this user ("" = the service manager's default, root)
	Arguments   []string // arguments after the executable, e.g. run -c /etc/outpost/agent.yaml
	Executable  string   // "" = this executable
	WorkingDir  string   // "" = /
}

func (s Spec) config() *service.Config {
	opts := service.KeyValue{
		"Restart":           "on-failure",
		"LimitNOFILE":       524288,
		"SysvScript":        s.sysvScript(),
		"LogDirectory":      "/var/log",
		"ReloadSignal":      "HUP",
		"SuccessExitStatus": "",
	}
	return &service.Config{
		Name:             s.Name,
		DisplayName:      s.DisplayName,
		Description:      s.Description,
		UserName:         s.UserName,
		Arguments:        s.Arguments,
		Executable:       s.Executable,
		WorkingDirectory: s.WorkingDir,
		Option:           opts,
		Dependencies:     []string{"After=network-online.target", "Wants=network-online.target"},
	}
}

// Manager controls the service described by a Spec.
type Manager struct {
	spec Spec
	svc  service.Service
}

// runner adapts a run function to kardianos' Start/Stop interface.
type runner struct {
	run    func(ctx context.Context) error
	ctx    context.Context
	cancel context.CancelFunc
	done   chan error
}

func (r *runner) Start(service.Service) error {
	r.done = make(chan error, 1)
	go func() { r.done <- r.run(r.ctx) }()
	return nil
}

func (r *runner) Stop(service.Service) error {
	r.cancel()
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("service did not stop within 30s")
	}
}

// New returns a Manager for spec. The run function is used only by Run.
func New(spec Spec) (*Manager, error) {
	s, err := service.New(&runner{}, spec.config())
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", spec.Name, err)
	}
	return &Manager{spec: spec, svc: s}, nil
}

// Platform names the service manager in use ("linux-systemd", "unix-systemv", "windows-service"...).
func (m *Manager) Platform() string { return m.svc.Platform() }

// Interactive reports whether the process runs from a terminal rather than
// under a service manager.
func Interactive() bool { return service.Interactive() }

// Run runs fn until ctx is cancelled or, under a service manager, until the
// manager stops the service (which cancels fn's context). In both cases fn
// gets the same context semantics, so `run` behaves the same in the
// foreground and as a service.
func Run(ctx context.Context, spec Spec, fn func(ctx context.Context) error) error {
	if service.Interactive() {
		return fn(ctx)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &runner{run: fn, ctx: rctx, cancel: cancel}
	s, err := service.New(r, spec.config())
	if err != nil {
		return fmt.Errorf("service %s: %w", spec.Name, err)
	}
	// Stop when the parent context ends as well as on the manager's signal.
	go func() {
		<-ctx.Done()
		cancel()
	}()
	if err := s.Run(); err != nil {
		return err
	}
	return nil
}

// Install registers the service with the system's service manager.
func (m *Manager) Install() error {
	if err := m.svc.Install(); err != nil {
		return fmt.Errorf("install %s (%s): %w", m.spec.Name, m.Platform(), err)
	}
	return nil
}

// Uninstall removes the service (stopping it first when it runs).
func (m *Manager) Uninstall() error {
	if st, _ := m.Status(); st == StatusRunning {
		_ = m.svc.Stop()
	}
	if err := m.svc.Uninstall(); err != nil {
		return fmt.Errorf("uninstall %s (%s): %w", m.spec.Name, m.Platform(), err)
	}
	if m.Platform() == "unix-systemv" {
		// kardianos leaves the rc.d links behind.
		links, _ := filepath.Glob("/etc/rc[0-6S].d/[SK][0-9][0-9]" + m.spec.Name)
		for _, l := range links {
			os.Remove(l)
		}
	}
	return nil
}

// Start asks the service manager to start the service.
func (m *Manager) Start() error { return wrap("start", m, m.svc.Start()) }

// Stop asks the service manager to stop the service.
func (m *Manager) Stop() error { return wrap("stop", m, m.svc.Stop()) }

// Restart stops then starts the service.
func (m *Manager) Restart() error { return wrap("restart", m, m.svc.Restart()) }

func wrap(op string, m *Manager, err error) error {
	if err != nil {
		return fmt.Errorf("%s %s (%s): %w", op, m.spec.Name, m.Platform(), err)
	}
	return nil
}

// Status of an installed service.
type Status int

// Statuses.
const (
	StatusNotInstalled Status = iota
	StatusRunning
	StatusStopped
	StatusUnknown
)

func (s Status) String() string {
	switch s {
	case StatusRunning:
		return "running"
	case StatusStopped:
		return "stopped"
	case StatusNotInstalled:
		return "not installed"
	default: // StatusUnknown, below
	}
	return "unknown"
}

// Status asks the service manager whether the service is installed and running.
func (m *Manager) Status() (Status, error) {
	if m.Platform() == "unix-systemv" {
		// kardianos treats a non-zero exit of the script as an error, but LSB
		// status exits 3 for "not running"; read the exit code ourselves.
		script := "/etc/init.d/" + m.spec.Name
		if _, err := os.Stat(script); err != nil {
			return StatusNotInstalled, nil
		}
		err := exec.Command(script, "status").Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return StatusRunning, nil
		case errors.As(err, &ee) && (ee.ExitCode() == 1 || ee.ExitCode() == 3):
			return StatusStopped, nil
		case errors.As(err, &ee) && ee.ExitCode() == 4:
			return StatusUnknown, nil
		default:
			return StatusUnknown, fmt.Errorf("status %s: %w", m.spec.Name, err)
		}
	}
	st, err := m.svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return StatusNotInstalled, nil
	case err != nil:
		return StatusUnknown, fmt.Errorf("status %s (%s): %w", m.spec.Name, m.Platform(), err)
	case st == service.StatusRunning:
		return StatusRunning, nil
	case st == service.StatusStopped:
		return StatusStopped, nil
	}
	return StatusUnknown, nil
}

// sysvScript replaces kardianos' SysV template: it honours UserName, waits
// for a clean stop, and answers status with LSB exit codes.
const sysvScriptTemplate = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          @NAME@
# Required-Start:    $network $remote_fs $syslog
# Required-Stop:     $network $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: @DISPLAY@
# Description:       @DESCR@
### END INIT INFO
# Written by '@NAME@ install' (Outpost). Remove with '@NAME@ uninstall'.

action="$1"
name=@NAME@
exec_path={{Path|cmd}}
set -- {{range Arguments}} {{.|cmd}}{{end}}
user="@USER@"
pid_file="/var/run/$name.pid"
log_file="{{LogDirectory}}/$name.log"
{{range EnvVars}}{{.}}
{{end}}
[ -r /etc/default/$name ] && . /etc/default/$name

is_running() {
    [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

do_start() {
    if is_running; then echo "$name is already running"; return 0; fi
    chuid=""
    [ -n "$user" ] && chuid="--chuid $user"
    {{if WorkingDirectory}}cd '{{WorkingDirectory}}' || exit 1{{end}}
    touch "$log_file"; [ -n "$user" ] && chown "$user" "$log_file"
    start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$pid_file" \
        --output "$log_file" $chuid --exec "$exec_path" -- "$@"
    for i in 1 2 3 4 5 6 7 8 9 10; do
        is_running && { echo "Started $name"; return 0; }
        sleep 0.2
    done
    echo "Unable to start $name, see $log_file"; return 1
}

do_stop() {
    if ! is_running; then echo "$name is not running"; rm -f "$pid_file"; return 0; fi
    start-stop-daemon --stop --quiet --pidfile "$pid_file" --retry=TERM/30/KILL/5
    rc=$?
    rm -f "$pid_file"
    [ $rc -le 1 ] && echo "Stopped $name"
    return $(( rc > 1 ? 1 : 0 ))
}

case "$action" in
    start) do_start ;;
    stop) do_stop ;;
    restart|force-reload) do_stop && do_start ;;
    reload) is_running && kill -HUP "$(cat "$pid_file")" ;;
    status)
        if is_running; then echo "Running"; exit 0; fi
        if [ -f "$pid_file" ]; then echo "Stopped (stale pid file)"; exit 1; fi
        echo "Stopped"; exit 3 ;;
    *) echo "Usage: $0 {start|stop|restart|reload|status}"; exit 2 ;;
esac
`

// sysvScript fills in what kardianos' template data lacks (name, user).
func (s Spec) sysvScript() string {
	return strings.NewReplacer("@NAME@", s.Name, "@USER@", s.UserName,
		"@DISPLAY@", s.DisplayName, "@DESCR@", s.Description).Replace(sysvScriptTemplate)
}

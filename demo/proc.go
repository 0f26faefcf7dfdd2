package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Proc is one child process of the demo (the collector or the agent), its
// output appended to a log file.
type Proc struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// startProc starts bin with args and extra environment, output appended to logPath.
func startProc(name, logPath string, env []string, bin string, args ...string) (*Proc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	// Own process group, so a terminal's Ctrl-C reaches only the demo,
	// which then stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Proc) Exited() <-chan struct{} { return p.done }

// Err is the process's exit error once Exited is closed.
func (p *Proc) Err() error { <-p.done; return p.err }

// Stop sends SIGTERM and waits up to grace for a clean exit, then kills.
// It returns the exit error of a process that did not exit cleanly.
func (p *Proc) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v after SIGTERM; killed", p.Name, grace)
	}
}

// Kill sends SIGKILL (kill -9) and waits for the process to end.
func (p *Proc) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// waitFor polls check every 100 ms until it returns nil, the process
// exits, or ctx ends.
func waitFor(ctx context.Context, p *Proc, what string, check func() error) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited while waiting for %s (%v); see %s", p.Name, what, p.err, p.LogPath)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v); see %s", what, ctx.Err(), last, p.LogPath)
		case <-t.C:
		}
	}
}

// Package dirlock keeps two processes from using one state directory at
// once: two collectors on one data directory, or two agents on one spool,
// would interleave journal and spool writes and corrupt them.
//
// The lock is an exclusive, non-blocking OS lock (flock on Unix,
// LockFileEx on Windows) on a file in the directory, so it is released by
// the kernel when the process dies, kill -9 included: a crash never leaves
// a stale lock behind. The file holds the owner's PID, for the error text.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the lock file created in the directory.
const FileName = ".lock"

// ErrLocked is returned (wrapped) when another process holds the lock.
var ErrLocked = errors.New("directory in use by another process")

// Lock is a held directory lock.
type Lock struct{ f *os.File }

// Acquire locks dir (created if missing) for this process, or fails at once
// with ErrLocked naming the holder's PID.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := strings.TrimSpace(string(b))
		if _, perr := strconv.Atoi(holder); perr != nil || holder == "" {
			holder = "unknown"
		}
		return nil, fmt.Errorf("%s: %w (pid %s holds %s)", dir, ErrLocked, holder, path)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// Release unlocks the directory.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	unlockFile(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}

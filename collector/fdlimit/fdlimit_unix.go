//go:build unix

package fdlimit

import (
	"fmt"
	"syscall"
)

// Raise sets the soft limit of open files to the hard limit and returns
// the limits in force afterwards. An error leaves the limits as they were
// (and returns them, when they could be read).
func Raise() (Limits, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return Limits{}, fmt.Errorf("read the open file limit: %w", err)
	}
	if r.Cur < r.Max {
		want := r
		want.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return Limits{Soft: r.Cur, Hard: r.Max}, fmt.Errorf("raise the open file limit from %d to %d: %w", r.Cur, r.Max, err)
		}
		r = want
	}
	return Limits{Soft: r.Cur, Hard: r.Max}, nil
}

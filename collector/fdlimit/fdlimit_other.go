//go:build !unix

package fdlimit

import "errors"

// Raise is not supported on this system.
func Raise() (Limits, error) { return Limits{}, errors.ErrUnsupported }

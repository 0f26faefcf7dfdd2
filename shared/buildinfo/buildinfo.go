// Package buildinfo reports the version a binary was built from.
//
// Version is stamped by the Makefile with
// -ldflags "-X github.com/outpost-nms/outpost/shared/buildinfo.version=v1.2.3";
// without it, the VCS revision Go records in the binary is used.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time; see the package doc.
var version string

// Version returns the stamped version, else "dev+<revision>", else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "dev+" + rev + dirty
		}
	}
	return "dev"
}

// String is the one-line version report of a binary named name.
func String(name string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s)", name, Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

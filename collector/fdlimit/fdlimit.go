// Package fdlimit raises the collector's limit of open files (RLIMIT_NOFILE)
// at start. Every agent on TCP, every web client and every archive being
// read or flushed holds a file descriptor; a low limit makes accept fail
// (which the listeners survive, see collector/listener) and archive
// writes fail.
//
// Go's runtime already raises the soft limit to the hard one in a program
// that imports os (since Go 1.19); Raise does it explicitly, so the
// collector does not depend on that, and reports the limits so they can be
// logged.
package fdlimit

// Low is the limit under which the collector warns at start: the shipped
// systemd unit sets LimitNOFILE=524288.
const Low = 4096

// Limits are the soft and hard limits of open files.
type Limits struct {
	Soft, Hard uint64
}

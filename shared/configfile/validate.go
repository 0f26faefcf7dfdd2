package configfile

import (
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Validator checks a decoded configuration's values, the same way on both
// sides: it keeps the error that is earliest in the file (by line), so a
// user fixing errors one at a time goes from top to bottom, and every
// error names the file, line and field through Positions.
type Validator struct {
	pos  *Positions
	err  error
	line int
}

// NewValidator returns a Validator whose errors point into pos's file.
func NewValidator(pos *Positions) *Validator { return &Validator{pos: pos} }

// Fail records an error for the field at path (a dotted YAML path such as
// "snmp[2].port"), keeping it if it is the earliest so far.
func (v *Validator) Fail(path, format string, args ...any) {
	p, _ := v.pos.Of(path)
	if v.err == nil || p.Line < v.line {
		v.err, v.line = v.pos.Errorf(path, format, args...), p.Line
	}
}

// Err returns the earliest error, or nil.
func (v *Validator) Err() error { return v.err }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Name checks a required identifier: 1-63 letters, digits, '.', '_', '-',
// starting with a letter or digit (agent, collector, target names).
func (v *Validator) Name(path, s string) {
	switch {
	case s == "":
		v.Fail(path, "required")
	case !nameRE.MatchString(s):
		v.Fail(path, "%q is not a valid name (1-63 letters, digits, '.', '_', '-'; starting with a letter or digit)", s)
	}
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$`)

// Host checks an IP address or DNS name without a port (the port has a
// field of its own).
func (v *Validator) Host(path, a string) {
	switch {
	case a == "":
		v.Fail(path, "required")
	case net.ParseIP(a) != nil:
	case strings.Contains(a, ":"):
		v.Fail(path, "%q must be an IP address or host name without a port (set port separately)", a)
	case !hostRE.MatchString(a):
		v.Fail(path, "%q is not an IP address or host name", a)
	}
}

// Port checks a port to send to: 1-65535.
func (v *Validator) Port(path string, p int) {
	if p < 1 || p > 65535 {
		v.Fail(path, "port %d out of range (1-65535)", p)
	}
}

// Dial checks host:port of a peer to connect to: a host and a port from 1
// to 65535.
func (v *Validator) Dial(path, s string) {
	host, port, ok := v.split(path, s, "")
	if !ok {
		return
	}
	if host == "" {
		v.Fail(path, "%q has no host", s)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		v.Fail(path, "%q: port must be a number from 1 to 65535", s)
	}
}

// Listen checks host:port to listen on: an empty host means every address,
// and port 0 any free port (what tests and the demo use).
func (v *Validator) Listen(path, s string) {
	_, port, ok := v.split(path, s, " (or :port)")
	if !ok {
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		v.Fail(path, "%q: port must be a number from 0 to 65535", s)
	}
}

func (v *Validator) split(path, s, hint string) (host, port string, ok bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.Fail(path, "%q is not host:port%s", s, hint)
		return "", "", false
	}
	return host, port, true
}

// Line returns the line of the field at path (0 when it is not in the
// file), for errors that point at a second place, such as a duplicate.
func (v *Validator) Line(path string) int {
	p, _ := v.pos.Of(path)
	return p.Line
}

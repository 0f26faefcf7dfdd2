package snmp

import (
	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// Device strings are untrusted bytes (see the package doc): every OCTET
// STRING the poller keeps goes through one of these before it reaches a
// Device, an attribute, a status reason or a log line.

// Attribute key prefixes. A key is at most safetext.MaxName bytes, so the
// value after the prefix is bounded by MaxName minus the prefix.
const (
	keyPrefixInterface = "if:"
	keyPrefixStorage   = "storage:"
	keyPrefixOID       = "oid:"
	keyPrefixCPU       = "cpu:"

	// maxIdentity bounds an interface identity so that "if:"+identity is
	// at most safetext.MaxName bytes.
	maxIdentity = safetext.MaxName - len(keyPrefixInterface)
	// maxStorageDescr bounds the hrStorageDescr that names a storage
	// attribute ("storage:"+descr).
	maxStorageDescr = safetext.MaxName - len(keyPrefixStorage)
	// maxPhysAddress bounds the ifPhysAddress bytes formatted as hex: more
	// than a MaxName line holds, so a longer address shows the cut.
	maxPhysAddress = safetext.MaxName/3 + 1
)

// lineOf returns an OCTET STRING (or a string value) as one clean line of
// at most max bytes: valid UTF-8, invalid bytes and control characters
// escaped (\xff), cut with "…". Other types give "".
func lineOf(v *gosnmp.SnmpPDU, max int) string {
	switch x := v.Value.(type) {
	case []byte:
		return safetext.LineBytes(x, max)
	case string:
		return safetext.Line(x, max)
	}
	return ""
}

// textOf is lineOf for free text (sysDescr): line feeds are kept.
func textOf(v *gosnmp.SnmpPDU, max int) string {
	switch x := v.Value.(type) {
	case []byte:
		return safetext.TextBytes(x, max)
	case string:
		return safetext.Text(x, max)
	}
	return ""
}

// reasonOf makes an error's text a status reason: one clean line of at
// most MaxName bytes. Errors may quote what a device sent.
func reasonOf(err error) string { return safetext.Line(err.Error(), safetext.MaxName) }

// cleanError is an error whose text may quote what a device sent (a
// decoding error of its answer): its Error is one clean line, so the
// scheduler's log line and a probe's message show escapes, never raw
// bytes. errors.Is and errors.As see the error it wraps.
type cleanError struct{ err error }

func (e cleanError) Error() string { return safetext.Line(e.err.Error(), safetext.MaxText) }
func (e cleanError) Unwrap() error { return e.err }

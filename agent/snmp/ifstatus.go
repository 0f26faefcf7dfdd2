package snmp

import (
	"strconv"

	"github.com/outpost-nms/outpost/shared/status"
)

// AdminStatus is IF-MIB ifAdminStatus. AdminNoAnswer (0, not an IF-MIB
// value) means the device did not answer the object.
type AdminStatus int

// ifAdminStatus values (RFC 2863).
const (
	AdminNoAnswer AdminStatus = 0
	AdminUp       AdminStatus = 1
	AdminDown     AdminStatus = 2
	AdminTesting  AdminStatus = 3
)

// String names the value as IF-MIB does ("up", "down", "testing"), "-"
// for no answer, and the number for a value IF-MIB does not define.
func (a AdminStatus) String() string {
	switch a {
	case AdminUp:
		return "up"
	case AdminDown:
		return "down"
	case AdminTesting:
		return "testing"
	case AdminNoAnswer:
		return "-"
	}
	return strconv.Itoa(int(a))
}

// OperStatus is IF-MIB ifOperStatus. OperNoAnswer (0, not an IF-MIB value)
// means the device did not answer the object.
type OperStatus int

// ifOperStatus values (RFC 2863).
const (
	OperNoAnswer       OperStatus = 0
	OperUp             OperStatus = 1
	OperDown           OperStatus = 2
	OperTesting        OperStatus = 3
	OperUnknown        OperStatus = 4
	OperDormant        OperStatus = 5
	OperNotPresent     OperStatus = 6
	OperLowerLayerDown OperStatus = 7
)

var operNames = [...]string{"-", "up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"}

// String names the value as IF-MIB does ("up" ... "lowerLayerDown"), "-"
// for no answer, and the number for a value IF-MIB does not define.
func (o OperStatus) String() string {
	if o >= 0 && int(o) < len(operNames) {
		return operNames[o]
	}
	return strconv.Itoa(int(o))
}

// InterfaceStatus maps ifAdminStatus and ifOperStatus to the attribute
// status and a short reason: admin down is Admin Down; otherwise oper up is
// Up; down, lowerLayerDown and notPresent are Down; testing is Testing;
// unknown, dormant, no answer and values IF-MIB does not define are
// Unknown.
func InterfaceStatus(admin AdminStatus, oper OperStatus) (status.Status, string) {
	if admin == AdminDown {
		return status.AdminDown, "ifAdminStatus down"
	}
	switch oper {
	case OperUp:
		return status.Up, "ifOperStatus up"
	case OperDown, OperNotPresent, OperLowerLayerDown:
		return status.Down, "ifOperStatus " + oper.String()
	case OperTesting:
		return status.Testing, "ifOperStatus testing"
	case OperUnknown, OperDormant:
		return status.Unknown, "ifOperStatus " + oper.String()
	case OperNoAnswer:
		return status.Unknown, "no answer for this interface"
	}
	return status.Unknown, "ifOperStatus " + oper.String()
}

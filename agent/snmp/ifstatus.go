package snmp

import (
	"fmt"
	"strconv"

	"github.com/outpost-nms/outpost/shared/status"
)

// Status of an interface from ifAdminStatus and ifOperStatus.
func interfaceStatus(admin, oper int) (status.Status, string) {
	if admin == 2 {
		return status.AdminDown, "ifAdminStatus down"
	}
	switch oper {
	case 1:
		return status.Up, "ifOperStatus up"
	case 2:
		return status.Down, "ifOperStatus down"
	case 3:
		return status.Testing, "ifOperStatus testing"
	case 4:
		return status.Unknown, "ifOperStatus unknown"
	case 5:
		return status.Unknown, "ifOperStatus dormant"
	case 6:
		return status.Down, "ifOperStatus notPresent"
	case 7:
		return status.Down, "ifOperStatus lowerLayerDown"
	case 0:
		return status.Unknown, "no answer for this interface"
	}
	return status.Unknown, fmt.Sprintf("ifOperStatus %d", oper)
}

// InterfaceStatus maps ifAdminStatus and ifOperStatus (0 = no answer) to
// the attribute status and a short reason: admin down is Admin Down;
// otherwise oper up is Up; down, lowerLayerDown and notPresent are Down;
// testing is Testing; unknown, dormant and no answer are Unknown.
func InterfaceStatus(admin, oper int) (status.Status, string) { return interfaceStatus(admin, oper) }

// AdminStatusName names an ifAdminStatus value ("up", "down", "testing"; "-" for no answer).
func AdminStatusName(v int) string {
	switch v {
	case 1:
		return "up"
	case 2:
		return "down"
	case 3:
		return "testing"
	case 0:
		return "-"
	}
	return strconv.Itoa(v)
}

// OperStatusName names an ifOperStatus value ("up" ... "lowerLayerDown"; "-" for no answer).
func OperStatusName(v int) string {
	names := [...]string{"-", "up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"}
	if v >= 0 && v < len(names) {
		return names[v]
	}
	return strconv.Itoa(v)
}

package snmp

import (
	"testing"

	"github.com/outpost-nms/outpost/shared/status"
)

// TestInterfaceStatus pins the IF-MIB to Outpost status mapping the design
// brief fixes: admin down wins; oper up is Up; down, notPresent and
// lowerLayerDown are Down; testing is Testing; unknown, dormant, no answer
// and values outside IF-MIB are Unknown.
func TestInterfaceStatus(t *testing.T) {
	cases := []struct {
		admin  AdminStatus
		oper   OperStatus
		want   status.Status
		reason string
	}{
		{AdminUp, OperUp, status.Up, "ifOperStatus up"},
		{AdminDown, OperUp, status.AdminDown, "ifAdminStatus down"},
		{AdminDown, OperDown, status.AdminDown, "ifAdminStatus down"},
		{AdminUp, OperDown, status.Down, "ifOperStatus down"},
		{AdminUp, OperNotPresent, status.Down, "ifOperStatus notPresent"},
		{AdminUp, OperLowerLayerDown, status.Down, "ifOperStatus lowerLayerDown"},
		{AdminUp, OperTesting, status.Testing, "ifOperStatus testing"},
		{AdminTesting, OperTesting, status.Testing, "ifOperStatus testing"},
		{AdminUp, OperUnknown, status.Unknown, "ifOperStatus unknown"},
		{AdminUp, OperDormant, status.Unknown, "ifOperStatus dormant"},
		{AdminNoAnswer, OperNoAnswer, status.Unknown, "no answer for this interface"},
		{AdminUp, OperStatus(9), status.Unknown, "ifOperStatus 9"},
		{AdminUp, OperStatus(-1), status.Unknown, "ifOperStatus -1"},
	}
	for _, c := range cases {
		got, reason := InterfaceStatus(c.admin, c.oper)
		if got != c.want || reason != c.reason {
			t.Errorf("InterfaceStatus(%v, %v) = %v %q, want %v %q", c.admin, c.oper, got, reason, c.want, c.reason)
		}
	}
}

func TestStatusNames(t *testing.T) {
	admin := map[AdminStatus]string{AdminNoAnswer: "-", AdminUp: "up", AdminDown: "down", AdminTesting: "testing", 7: "7"}
	for v, want := range admin {
		if got := v.String(); got != want {
			t.Errorf("AdminStatus(%d) = %q, want %q", int(v), got, want)
		}
	}
	oper := map[OperStatus]string{OperNoAnswer: "-", OperUp: "up", OperDown: "down", OperTesting: "testing", OperUnknown: "unknown",
		OperDormant: "dormant", OperNotPresent: "notPresent", OperLowerLayerDown: "lowerLayerDown", 8: "8", -3: "-3"}
	for v, want := range oper {
		if got := v.String(); got != want {
			t.Errorf("OperStatus(%d) = %q, want %q", int(v), got, want)
		}
	}
}

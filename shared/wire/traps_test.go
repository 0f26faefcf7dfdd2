package wire

import (
	"strings"
	"testing"
)

func TestTrapValidate(t *testing.T) {
	ok := Trap{Version: 2, OID: "1.3.6.1.6.3.1.1.5.1", Source: "192.0.2.1"}
	many := ok
	many.VarBinds = make([]VarBind, MaxTrapVarBinds+1)
	for i := range many.VarBinds {
		many.VarBinds[i] = VarBind{OID: "1.3", Type: 0x05}
	}
	longValue := ok
	longValue.VarBinds = []VarBind{{OID: "1.3", Type: 0x04, Value: strings.Repeat("x", MaxTrapValueLen+1)}}
	longHost := ok
	longHost.Host = strings.Repeat("h", MaxTrapStringLen+1)
	cases := []struct {
		name string
		trap Trap
		want string // "" valid; else a substring of the error
	}{
		{"valid", ok, ""},
		{"version 0", Trap{OID: "1.3"}, "version 0"},
		{"version 4", Trap{Version: 4, OID: "1.3"}, "version 4"},
		{"no OID", Trap{Version: 1}, "OID length 0"},
		{"too many varbinds", many, "varbinds"},
		{"varbind without OID", Trap{Version: 2, OID: "1.3", VarBinds: []VarBind{{Type: 2, Value: "1"}}}, "varbind 0: OID length 0"},
		{"long value", longValue, "value of"},
		{"long host", longHost, "string field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.trap.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	b := &Batch{Seq: 1, Traps: []Trap{ok, {Version: 9, OID: "1.3"}}}
	if err := b.Validate(); err == nil || !strings.Contains(err.Error(), "batch 1: trap: version 9") {
		t.Fatalf("batch with a bad trap: %v", err)
	}
}

func TestVarBindTypeName(t *testing.T) {
	for typ, want := range map[uint8]string{0x02: "Integer", 0x04: "OctetString", 0x43: "TimeTicks", 0x46: "Counter64", 0x80: "noSuchObject", 0x99: "type-0x99"} {
		if got := VarBindTypeName(typ); got != want {
			t.Errorf("VarBindTypeName(0x%02x) = %q, want %q", typ, got, want)
		}
	}
}

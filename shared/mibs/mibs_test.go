package mibs

import (
	"io"
	"log/slog"
	"testing"

	"github.com/outpost-nms/outpost/shared/snmpname"
)

func TestLoad(t *testing.T) {
	tab := snmpname.New()
	builtin := tab.Len()
	st := Load([]string{"testdata/mibs", "/nonexistent"}, tab, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if st.Files != 3 || st.Named != 4 || st.Failed == 0 {
		t.Errorf("stats %+v", st)
	}
	if tab.Len() != builtin+4 {
		t.Errorf("%d names, want %d", tab.Len(), builtin+4)
	}
	for oid, want := range map[string]string{
		"1.3.6.1.4.1.99999.0.1": "OUTPOST-TEST-MIB::outpostFanFailed",
		"1.3.6.1.4.1.99999.2.7": "OUTPOST-TEST-MIB::outpostFanName.7",
		"1.3.6.1.4.1.99998.1":   "",                 // its import is missing: numeric
		"1.3.6.1.6.3.1.1.5.3":   "IF-MIB::linkDown", // built in
	} {
		if got, _ := tab.Name(oid); got != want {
			t.Errorf("%s: %q, want %q", oid, got, want)
		}
	}
}

// TestLoadSystemMIBs loads what this system has: it must not fail, and
// the built-in names stay.
func TestLoadSystemMIBs(t *testing.T) {
	tab := snmpname.New()
	st := Load(DefaultDirs, tab, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Logf("system MIBs: %+v", st)
	if got, _ := tab.Name("1.3.6.1.6.3.1.1.5.1"); got != "SNMPv2-MIB::coldStart" {
		t.Errorf("coldStart named %q", got)
	}
}

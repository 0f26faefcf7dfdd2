package mibs

import (
	"slices"
	"strings"
	"testing"
)

// TestResolveSiteMIB resolves names from a MIB directory an operator
// keeps (testdata/site) with no system MIBs.
func TestResolveSiteMIB(t *testing.T) {
	dirs := []string{"testdata/smi-roots", "testdata/site", "/nonexistent"}
	cases := []struct {
		name, want, err string
	}{
		{"OUTPOST-SITE-MIB::outpostSiteTemperature", "1.3.6.1.4.1.99997.1.0", ""},
		{"OUTPOST-SITE-MIB::outpostSiteTemperature.0", "1.3.6.1.4.1.99997.1.0", ""},
		{"outpostSiteTemperature", "1.3.6.1.4.1.99997.1.0", ""},
		{"OUTPOST-SITE-MIB::outpostSiteUpsCharge.2", "1.3.6.1.4.1.99997.2.1.2.2", ""},
		{"outpostSiteUpsCharge.2", "1.3.6.1.4.1.99997.2.1.2.2", ""},
		{"OUTPOST-SITE-MIB::outpostSiteUpsCharge", "", "is a table column; add the instance"},
		{"OUTPOST-SITE-MIB::outpostSiteUpsTable", "", "is a table, not an object to poll"},
		{"OUTPOST-SITE-MIB::outpostSiteHumidity", "", "MIB OUTPOST-SITE-MIB defines no object outpostSiteHumidity"},
		{"NO-SUCH-MIB::thing.1", "", "NO-SUCH-MIB::thing: MIB NO-SUCH-MIB not found or not parsable in testdata/smi-roots, testdata/site"},
		{"noSuchThing.1", "", "defines noSuchThing"},
		{"1.3.6", "", "is not an object name"},
	}
	var names []string
	for _, c := range cases {
		names = append(names, c.name)
	}
	oids, errs := Resolve(dirs, names)
	for i, c := range cases {
		if c.err == "" {
			if errs[i] != nil || oids[i] != c.want {
				t.Errorf("%s: %q, %v; want %q", c.name, oids[i], errs[i], c.want)
			}
			continue
		}
		if errs[i] == nil || !strings.Contains(errs[i].Error(), c.err) || oids[i] != "" {
			t.Errorf("%s: %q, %v; want error with %q", c.name, oids[i], errs[i], c.err)
		}
	}
}

// TestResolveDebianMIBs uses the net-snmp MIBs Debian installs
// (libsnmp-base). Debian ships them without SNMPv2-SMI (its licence keeps
// the IETF modules in the non-free snmp-mibs-downloader), so alone they
// cannot give an OID, and the error says which imports are missing; with
// a directory that holds the registration roots they resolve.
func TestResolveDebianMIBs(t *testing.T) {
	if !slices.Contains(moduleNames(Dirs(NetSNMPDirs)), "UCD-SNMP-MIB") {
		t.Skip("no UCD-SNMP-MIB in the net-snmp MIB directories (libsnmp-base not installed)")
	}
	roots := slices.Contains(moduleNames(Dirs(NetSNMPDirs)), "SNMPv2-SMI")
	oids, errs := Resolve(NetSNMPDirs, []string{"UCD-SNMP-MIB::memTotalReal"})
	if roots {
		if errs[0] != nil || oids[0] != "1.3.6.1.4.1.2021.4.5.0" {
			t.Errorf("with SNMPv2-SMI installed: %q, %v", oids[0], errs[0])
		}
	} else if errs[0] == nil || !strings.Contains(errs[0].Error(), "MIB UCD-SNMP-MIB imports SNMPv2-SMI") {
		t.Errorf("without SNMPv2-SMI: %q, %v; want the missing import named", oids[0], errs[0])
	}

	dirs := append(slices.Clone(NetSNMPDirs), "testdata/smi-roots", "testdata/site")
	cases := []struct {
		name, want, err string
	}{
		{"UCD-SNMP-MIB::memTotalReal", "1.3.6.1.4.1.2021.4.5.0", ""},
		{"UCD-SNMP-MIB::laLoad.1", "1.3.6.1.4.1.2021.10.1.3.1", ""},
		{"UCD-SNMP-MIB::laLoad", "", "table column"},
		{"memAvailReal", "1.3.6.1.4.1.2021.4.6.0", ""},
		{"memTotalReal", "", "defined by several MIBs (OUTPOST-SITE-MIB, UCD-SNMP-MIB); write MODULE::memTotalReal"},
		{"NET-SNMP-AGENT-MIB::nsCacheTimeout.1", "1.3.6.1.4.1.8072.1.5.3.1.2.1", ""},
		{"UCD-SNMP-MIB::memTotalRealXYZ", "", "MIB UCD-SNMP-MIB defines no object memTotalRealXYZ"},
		{"laLoad.1", "1.3.6.1.4.1.2021.10.1.3.1", ""},
		{"OUTPOST-SITE-MIB::outpostSiteTemperature", "1.3.6.1.4.1.99997.1.0", ""},
	}
	var names []string
	for _, c := range cases {
		names = append(names, c.name)
	}
	oids, errs = Resolve(dirs, names)
	for i, c := range cases {
		if c.err == "" {
			if errs[i] != nil || oids[i] != c.want {
				t.Errorf("%s: %q, %v; want %q", c.name, oids[i], errs[i], c.want)
			}
			continue
		}
		if errs[i] == nil || !strings.Contains(errs[i].Error(), c.err) {
			t.Errorf("%s: %q, %v; want error with %q", c.name, oids[i], errs[i], c.err)
		}
	}
}

func TestResolveNoDirs(t *testing.T) {
	_, errs := Resolve([]string{"/nonexistent/mibs"}, []string{"IF-MIB::ifInErrors.3"})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "no MIB directory") {
		t.Errorf("%v", errs[0])
	}
}

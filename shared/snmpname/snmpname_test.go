package snmpname

import "testing"

func TestName(t *testing.T) {
	tab := New()
	tab.Add(".1.3.6.1.4.1.9.9.41.2.0.1", "CISCO-SYSLOG-MIB::clogMessageGenerated")
	tab.Add("1.3.6.1.2.1.1.3", "OTHER::ignored") // a built-in name is kept
	cases := []struct{ oid, name string }{
		{"1.3.6.1.6.3.1.1.5.3", "IF-MIB::linkDown"},
		{".1.3.6.1.6.3.1.1.5.1", "SNMPv2-MIB::coldStart"},
		{"1.3.6.1.2.1.2.2.1.8.3", "IF-MIB::ifOperStatus.3"},
		{"1.3.6.1.2.1.1.3.0", "SNMPv2-MIB::sysUpTime.0"},
		{"1.3.6.1.6.3.18.1.3.0", "SNMP-COMMUNITY-MIB::snmpTrapAddress.0"},
		{"1.3.6.1.4.1.9.9.41.2.0.1", "CISCO-SYSLOG-MIB::clogMessageGenerated"},
		{"1.3.6.1.2.1.31.1.1.1.18.1001.2.3.4.5.6.7.8.9.10", "IF-MIB::ifAlias.1001.2.3.4.5.6.7.8.9.10"},
		{"1.3.6.1.4.1.99999.1", ""},
		{"1", ""},
		{"", ""},
	}
	for _, tc := range cases {
		got, ok := tab.Name(tc.oid)
		if got != tc.name || ok != (tc.name != "") {
			t.Errorf("Name(%q) = %q, %v; want %q", tc.oid, got, ok, tc.name)
		}
	}
	if o, _ := tab.Object("1.3.6.1.2.1.2.2.1.1.7"); o != "ifIndex.7" {
		t.Errorf("Object = %q", o)
	}
}

func TestV1GenericOID(t *testing.T) {
	cases := []struct {
		ent               string
		generic, specific int
		want              string
	}{
		{"1.3.6.1.4.1.8072.3.2.10", 0, 0, ColdStart},
		{"1.3.6.1.4.1.9", 2, 0, LinkDown},
		{"1.3.6.1.4.1.9", 3, 0, LinkUp},
		{"1.3.6.1.4.1.9", 4, 0, AuthenticationFailure},
		{".1.3.6.1.4.1.9.9.41", 6, 17, "1.3.6.1.4.1.9.9.41.0.17"},
	}
	for _, tc := range cases {
		if got := V1GenericOID(tc.ent, tc.generic, tc.specific); got != tc.want {
			t.Errorf("V1GenericOID(%s, %d, %d) = %s, want %s", tc.ent, tc.generic, tc.specific, got, tc.want)
		}
	}
}

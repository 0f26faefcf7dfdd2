// Package snmpname names SNMP object identifiers without MIB files: the
// notifications and objects of the standard MIBs that traps carry
// (SNMPv2-MIB, IF-MIB, SNMP-COMMUNITY-MIB, ...), built in, so that
// coldStart or ifOperStatus.3 read as such on a system whose net-snmp
// ships no MIBs (Debian's libsnmp-base has no SNMPv2-SMI or IF-MIB).
//
// A Table adds names loaded elsewhere (MIB files) to the built-in ones;
// lookups take the longest registered prefix of an OID and print the rest
// as the instance suffix, as net-snmp's snmptranslate does
// (IF-MIB::ifIndex.3).
package snmpname

import (
	"sort"
	"strconv"
	"strings"
)

// Standard notification OIDs (RFC 3418 SNMPv2-MIB snmpTraps, RFC 2863 IF-MIB).
const (
	ColdStart             = "1.3.6.1.6.3.1.1.5.1"
	WarmStart             = "1.3.6.1.6.3.1.1.5.2"
	LinkDown              = "1.3.6.1.6.3.1.1.5.3"
	LinkUp                = "1.3.6.1.6.3.1.1.5.4"
	AuthenticationFailure = "1.3.6.1.6.3.1.1.5.5"
	EGPNeighborLoss       = "1.3.6.1.6.3.1.1.5.6"

	SysUpTime0          = "1.3.6.1.2.1.1.3.0"
	SnmpTrapOID0        = "1.3.6.1.6.3.1.1.4.1.0"
	SnmpTrapEnterprise0 = "1.3.6.1.6.3.1.1.4.3.0"
	SnmpTrapAddress0    = "1.3.6.1.6.3.18.1.3.0"
	SnmpTrapCommunity0  = "1.3.6.1.6.3.18.1.4.0"

	IfIndex       = "1.3.6.1.2.1.2.2.1.1"
	IfAdminStatus = "1.3.6.1.2.1.2.2.1.7"
	IfOperStatus  = "1.3.6.1.2.1.2.2.1.8"
)

// builtin maps an OID to MODULE::name.
var builtin = map[string]string{
	// SNMPv2-MIB system group and notifications.
	"1.3.6.1.2.1.1.1":     "SNMPv2-MIB::sysDescr",
	"1.3.6.1.2.1.1.2":     "SNMPv2-MIB::sysObjectID",
	"1.3.6.1.2.1.1.3":     "SNMPv2-MIB::sysUpTime",
	"1.3.6.1.2.1.1.4":     "SNMPv2-MIB::sysContact",
	"1.3.6.1.2.1.1.5":     "SNMPv2-MIB::sysName",
	"1.3.6.1.2.1.1.6":     "SNMPv2-MIB::sysLocation",
	"1.3.6.1.2.1.1.7":     "SNMPv2-MIB::sysServices",
	"1.3.6.1.6.3.1.1.4.1": "SNMPv2-MIB::snmpTrapOID",
	"1.3.6.1.6.3.1.1.4.3": "SNMPv2-MIB::snmpTrapEnterprise",
	ColdStart:             "SNMPv2-MIB::coldStart",
	WarmStart:             "SNMPv2-MIB::warmStart",
	LinkDown:              "IF-MIB::linkDown",
	LinkUp:                "IF-MIB::linkUp",
	AuthenticationFailure: "SNMPv2-MIB::authenticationFailure",
	EGPNeighborLoss:       "RFC1213-MIB::egpNeighborLoss",
	// SNMP-COMMUNITY-MIB (RFC 3584) trap source objects.
	"1.3.6.1.6.3.18.1.3": "SNMP-COMMUNITY-MIB::snmpTrapAddress",
	"1.3.6.1.6.3.18.1.4": "SNMP-COMMUNITY-MIB::snmpTrapCommunity",
	// SNMP-FRAMEWORK-MIB, SNMP-USM / engine objects.
	"1.3.6.1.6.3.10.2.1.1": "SNMP-FRAMEWORK-MIB::snmpEngineID",
	"1.3.6.1.6.3.10.2.1.2": "SNMP-FRAMEWORK-MIB::snmpEngineBoots",
	"1.3.6.1.6.3.10.2.1.3": "SNMP-FRAMEWORK-MIB::snmpEngineTime",
	// IF-MIB ifTable and ifXTable.
	"1.3.6.1.2.1.2.1":         "IF-MIB::ifNumber",
	IfIndex:                   "IF-MIB::ifIndex",
	"1.3.6.1.2.1.2.2.1.2":     "IF-MIB::ifDescr",
	"1.3.6.1.2.1.2.2.1.3":     "IF-MIB::ifType",
	"1.3.6.1.2.1.2.2.1.4":     "IF-MIB::ifMtu",
	"1.3.6.1.2.1.2.2.1.5":     "IF-MIB::ifSpeed",
	"1.3.6.1.2.1.2.2.1.6":     "IF-MIB::ifPhysAddress",
	IfAdminStatus:             "IF-MIB::ifAdminStatus",
	IfOperStatus:              "IF-MIB::ifOperStatus",
	"1.3.6.1.2.1.2.2.1.9":     "IF-MIB::ifLastChange",
	"1.3.6.1.2.1.31.1.1.1.1":  "IF-MIB::ifName",
	"1.3.6.1.2.1.31.1.1.1.15": "IF-MIB::ifHighSpeed",
	"1.3.6.1.2.1.31.1.1.1.18": "IF-MIB::ifAlias",
	// ENTITY-MIB and a few other standard notifications devices send.
	"1.3.6.1.2.1.47.2.0.1":   "ENTITY-MIB::entConfigChange",
	"1.3.6.1.2.1.14.16.2.2":  "OSPF-TRAP-MIB::ospfNbrStateChange",
	"1.3.6.1.2.1.15.7.1":     "BGP4-MIB::bgpEstablished",
	"1.3.6.1.2.1.15.7.2":     "BGP4-MIB::bgpBackwardTransition",
	"1.3.6.1.2.1.15.0.1":     "BGP4-MIB::bgpEstablishedNotification",
	"1.3.6.1.2.1.15.0.2":     "BGP4-MIB::bgpBackwardTransNotification",
	"1.3.6.1.2.1.17.0.1":     "BRIDGE-MIB::newRoot",
	"1.3.6.1.2.1.17.0.2":     "BRIDGE-MIB::topologyChange",
	"1.3.6.1.2.1.68.0.1":     "VRRP-MIB::vrrpTrapNewMaster",
	"1.3.6.1.4.1.8072.4.0.1": "NET-SNMP-AGENT-MIB::nsNotifyStart",
	"1.3.6.1.4.1.8072.4.0.2": "NET-SNMP-AGENT-MIB::nsNotifyShutdown",
	"1.3.6.1.4.1.8072.4.0.3": "NET-SNMP-AGENT-MIB::nsNotifyRestart",
}

// Table names OIDs: the built-in names, and any added. The zero value is
// not usable; use New. A Table is not safe for concurrent Add; lookups
// after the last Add are safe from many goroutines.
type Table struct {
	names map[string]string
	max   int // the most sub-identifiers of a registered OID
}

// New returns a table of the built-in names.
func New() *Table {
	t := &Table{names: make(map[string]string, len(builtin))}
	for oid, name := range builtin {
		t.Add(oid, name)
	}
	return t
}

// Add registers name (MODULE::object, or a bare object name) for oid
// (numeric, with or without a leading dot). A built-in name is kept.
func (t *Table) Add(oid, name string) {
	oid = strings.TrimPrefix(oid, ".")
	if _, ok := t.names[oid]; ok || oid == "" || name == "" {
		return
	}
	t.names[oid] = name
	if n := strings.Count(oid, ".") + 1; n > t.max {
		t.max = n
	}
}

// Len returns how many OIDs have names.
func (t *Table) Len() int { return len(t.names) }

// Name returns the name of oid: the name of its longest registered prefix
// followed by the rest of the OID (the instance), as
// "IF-MIB::ifOperStatus.3". ok is false when no prefix has a name; then
// the result is "".
func (t *Table) Name(oid string) (name string, ok bool) {
	oid = strings.TrimPrefix(oid, ".")
	prefix := oid
	// Start at most t.max sub-identifiers long.
	if n := strings.Count(oid, ".") + 1; n > t.max {
		cut := 0
		for i := 0; i < t.max; i++ {
			j := strings.IndexByte(oid[cut:], '.')
			cut += j + 1
		}
		prefix = oid[:cut-1]
	}
	for {
		if nm, found := t.names[prefix]; found {
			return nm + oid[len(prefix):], true
		}
		i := strings.LastIndexByte(prefix, '.')
		if i <= 0 {
			return "", false
		}
		prefix = prefix[:i]
	}
}

// Object returns the name without its module: "ifOperStatus.3".
func (t *Table) Object(oid string) (string, bool) {
	n, ok := t.Name(oid)
	if i := strings.Index(n, "::"); i >= 0 {
		n = n[i+2:]
	}
	return n, ok
}

// OIDs returns the registered OIDs, sorted (for tests and listings).
func (t *Table) OIDs() []string {
	out := make([]string, 0, len(t.names))
	for k := range t.names {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// V1GenericOID is the SNMPv2 notification OID of an SNMPv1 trap (RFC 3584
// section 3.1): a generic trap 0-5 is snmpTraps.(generic+1); an
// enterprise-specific trap (generic 6) is enterprise.0.specific.
func V1GenericOID(enterprise string, generic, specific int) string {
	if generic >= 0 && generic <= 5 {
		return "1.3.6.1.6.3.1.1.5." + strconv.Itoa(generic+1)
	}
	return strings.TrimPrefix(enterprise, ".") + ".0." + strconv.Itoa(specific)
}

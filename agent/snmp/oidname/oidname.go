// Package oidname turns the OIDs a user writes in the agent's config into
// numeric ones without any MIB file: numbers as they are, and the names of
// the SNMPv2-MIB, SNMP-FRAMEWORK-MIB, IF-MIB and HOST-RESOURCES-MIB objects
// the agent knows. Other names need MIB files (shared/mibs, at config
// load); Resolve says so with ErrNotBuiltin. It imports nothing of the
// agent, so both agent/config and agent/snmp use it.
package oidname

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotBuiltin is wrapped by Resolve's error for a well-formed name that
// is not a built-in object.
var ErrNotBuiltin = errors.New("not a built-in object")

// builtinObjects names the objects of SNMPv2-MIB, SNMP-FRAMEWORK-MIB,
// IF-MIB and HOST-RESOURCES-MIB that users may write by name, so that no MIB
// files are needed. Keys are "MODULE::object" and the OID of the object
// (for a scalar, without the trailing .0 instance).
var builtinObjects = map[string]string{
	"SNMPv2-MIB::sysDescr":    "1.3.6.1.2.1.1.1",
	"SNMPv2-MIB::sysObjectID": "1.3.6.1.2.1.1.2",
	"SNMPv2-MIB::sysUpTime":   "1.3.6.1.2.1.1.3",
	"SNMPv2-MIB::sysContact":  "1.3.6.1.2.1.1.4",
	"SNMPv2-MIB::sysName":     "1.3.6.1.2.1.1.5",
	"SNMPv2-MIB::sysLocation": "1.3.6.1.2.1.1.6",
	"SNMPv2-MIB::sysServices": "1.3.6.1.2.1.1.7",

	"SNMP-FRAMEWORK-MIB::snmpEngineID":    "1.3.6.1.6.3.10.2.1.1",
	"SNMP-FRAMEWORK-MIB::snmpEngineBoots": "1.3.6.1.6.3.10.2.1.2",
	"SNMP-FRAMEWORK-MIB::snmpEngineTime":  "1.3.6.1.6.3.10.2.1.3",

	"IF-MIB::ifNumber":          "1.3.6.1.2.1.2.1",
	"IF-MIB::ifIndex":           "1.3.6.1.2.1.2.2.1.1",
	"IF-MIB::ifDescr":           "1.3.6.1.2.1.2.2.1.2",
	"IF-MIB::ifType":            "1.3.6.1.2.1.2.2.1.3",
	"IF-MIB::ifMtu":             "1.3.6.1.2.1.2.2.1.4",
	"IF-MIB::ifSpeed":           "1.3.6.1.2.1.2.2.1.5",
	"IF-MIB::ifPhysAddress":     "1.3.6.1.2.1.2.2.1.6",
	"IF-MIB::ifAdminStatus":     "1.3.6.1.2.1.2.2.1.7",
	"IF-MIB::ifOperStatus":      "1.3.6.1.2.1.2.2.1.8",
	"IF-MIB::ifLastChange":      "1.3.6.1.2.1.2.2.1.9",
	"IF-MIB::ifInOctets":        "1.3.6.1.2.1.2.2.1.10",
	"IF-MIB::ifInUcastPkts":     "1.3.6.1.2.1.2.2.1.11",
	"IF-MIB::ifInNUcastPkts":    "1.3.6.1.2.1.2.2.1.12",
	"IF-MIB::ifInDiscards":      "1.3.6.1.2.1.2.2.1.13",
	"IF-MIB::ifInErrors":        "1.3.6.1.2.1.2.2.1.14",
	"IF-MIB::ifInUnknownProtos": "1.3.6.1.2.1.2.2.1.15",
	"IF-MIB::ifOutOctets":       "1.3.6.1.2.1.2.2.1.16",
	"IF-MIB::ifOutUcastPkts":    "1.3.6.1.2.1.2.2.1.17",
	"IF-MIB::ifOutNUcastPkts":   "1.3.6.1.2.1.2.2.1.18",
	"IF-MIB::ifOutDiscards":     "1.3.6.1.2.1.2.2.1.19",
	"IF-MIB::ifOutErrors":       "1.3.6.1.2.1.2.2.1.20",
	"IF-MIB::ifOutQLen":         "1.3.6.1.2.1.2.2.1.21",

	"IF-MIB::ifName":                     "1.3.6.1.2.1.31.1.1.1.1",
	"IF-MIB::ifInMulticastPkts":          "1.3.6.1.2.1.31.1.1.1.2",
	"IF-MIB::ifInBroadcastPkts":          "1.3.6.1.2.1.31.1.1.1.3",
	"IF-MIB::ifOutMulticastPkts":         "1.3.6.1.2.1.31.1.1.1.4",
	"IF-MIB::ifOutBroadcastPkts":         "1.3.6.1.2.1.31.1.1.1.5",
	"IF-MIB::ifHCInOctets":               "1.3.6.1.2.1.31.1.1.1.6",
	"IF-MIB::ifHCInUcastPkts":            "1.3.6.1.2.1.31.1.1.1.7",
	"IF-MIB::ifHCInMulticastPkts":        "1.3.6.1.2.1.31.1.1.1.8",
	"IF-MIB::ifHCInBroadcastPkts":        "1.3.6.1.2.1.31.1.1.1.9",
	"IF-MIB::ifHCOutOctets":              "1.3.6.1.2.1.31.1.1.1.10",
	"IF-MIB::ifHCOutUcastPkts":           "1.3.6.1.2.1.31.1.1.1.11",
	"IF-MIB::ifHCOutMulticastPkts":       "1.3.6.1.2.1.31.1.1.1.12",
	"IF-MIB::ifHCOutBroadcastPkts":       "1.3.6.1.2.1.31.1.1.1.13",
	"IF-MIB::ifLinkUpDownTrapEnable":     "1.3.6.1.2.1.31.1.1.1.14",
	"IF-MIB::ifHighSpeed":                "1.3.6.1.2.1.31.1.1.1.15",
	"IF-MIB::ifPromiscuousMode":          "1.3.6.1.2.1.31.1.1.1.16",
	"IF-MIB::ifConnectorPresent":         "1.3.6.1.2.1.31.1.1.1.17",
	"IF-MIB::ifAlias":                    "1.3.6.1.2.1.31.1.1.1.18",
	"IF-MIB::ifCounterDiscontinuityTime": "1.3.6.1.2.1.31.1.1.1.19",

	"HOST-RESOURCES-MIB::hrSystemUptime":           "1.3.6.1.2.1.25.1.1",
	"HOST-RESOURCES-MIB::hrSystemNumUsers":         "1.3.6.1.2.1.25.1.5",
	"HOST-RESOURCES-MIB::hrSystemProcesses":        "1.3.6.1.2.1.25.1.6",
	"HOST-RESOURCES-MIB::hrMemorySize":             "1.3.6.1.2.1.25.2.2",
	"HOST-RESOURCES-MIB::hrStorageIndex":           "1.3.6.1.2.1.25.2.3.1.1",
	"HOST-RESOURCES-MIB::hrStorageType":            "1.3.6.1.2.1.25.2.3.1.2",
	"HOST-RESOURCES-MIB::hrStorageDescr":           "1.3.6.1.2.1.25.2.3.1.3",
	"HOST-RESOURCES-MIB::hrStorageAllocationUnits": "1.3.6.1.2.1.25.2.3.1.4",
	"HOST-RESOURCES-MIB::hrStorageSize":            "1.3.6.1.2.1.25.2.3.1.5",
	"HOST-RESOURCES-MIB::hrStorageUsed":            "1.3.6.1.2.1.25.2.3.1.6",
	"HOST-RESOURCES-MIB::hrProcessorFrwID":         "1.3.6.1.2.1.25.3.3.1.1",
	"HOST-RESOURCES-MIB::hrProcessorLoad":          "1.3.6.1.2.1.25.3.3.1.2",
}

// Resolve turns what a user wrote into a numeric OID without a leading
// dot. It accepts numeric OIDs ("1.3.6.1.2.1.1.3.0", ".1.3.6..."), built-in
// names with or without the module ("IF-MIB::ifHCInOctets.1",
// "ifHCInOctets.1", "sysUpTime.0"), and a bare scalar name, which gets the
// ".0" instance ("sysName" is sysName.0). Names of MIBs that are not built in
// are an error naming the object.
func Resolve(text string) (string, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return "", fmt.Errorf("empty OID")
	}
	if IsNumeric(strings.TrimPrefix(s, ".")) {
		return strings.TrimPrefix(s, "."), nil
	}
	module, rest := "", s
	if i := strings.Index(s, "::"); i >= 0 {
		module, rest = s[:i], s[i+2:]
	}
	name, instance := rest, ""
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		name, instance = rest[:i], rest[i+1:]
		if !IsNumeric(instance) {
			return "", fmt.Errorf("OID %q: instance %q is not numeric", text, instance)
		}
	}
	base, ok := lookupObject(module, name)
	if !ok {
		if module != "" {
			return "", fmt.Errorf("OID %q: %s::%s is %w (built in: SNMPv2-MIB, SNMP-FRAMEWORK-MIB, IF-MIB, HOST-RESOURCES-MIB); write it numerically or give the agent its MIB (mib_dirs)", text, module, name, ErrNotBuiltin)
		}
		return "", fmt.Errorf("OID %q: %s is %w; write it numerically, or as MODULE::name with its MIB in mib_dirs", text, name, ErrNotBuiltin)
	}
	if instance == "" {
		if !isScalar(base) {
			return "", fmt.Errorf("OID %q: %s is a table column; add the instance (%s.1)", text, name, name)
		}
		instance = "0"
	}
	return base + "." + instance, nil
}

func lookupObject(module, name string) (string, bool) {
	if module != "" {
		oid, ok := builtinObjects[module+"::"+name]
		return oid, ok
	}
	for k, oid := range builtinObjects {
		if k[strings.Index(k, "::")+2:] == name {
			return oid, true
		}
	}
	return "", false
}

// isScalar reports whether a built-in object is a scalar (not a table column).
func isScalar(oid string) bool {
	// ifEntry, ifXEntry, hrStorageEntry, hrProcessorEntry
	for _, table := range []string{"1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1", "1.3.6.1.2.1.25.2.3.1", "1.3.6.1.2.1.25.3.3.1"} {
		if strings.HasPrefix(oid, table+".") {
			return false
		}
	}
	return true
}

// IsNumeric reports whether s is dot-separated decimal sub-identifiers.
func IsNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if _, err := strconv.ParseUint(part, 10, 32); err != nil {
			return false
		}
	}
	return true
}

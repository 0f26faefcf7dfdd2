package snmp

import (
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
)

// Defaults the poller falls back to (the same as agent/config's).
const (
	DefaultInterval       = config.DefaultInterval
	DefaultTimeout        = config.DefaultTimeout
	DefaultRetries        = config.DefaultSNMPRetries
	DefaultMaxRepetitions = config.DefaultMaxRepetitions
	DefaultMaxOIDs        = config.DefaultMaxOIDs
	DefaultRediscover     = config.DefaultRediscover
)

// Effective returns a target's settings merged over the snmp_defaults
// section and the built-in defaults, by agent/config's own rule
// (Config.SNMPTargetSettings). Settings from config.Load are already
// effective; this serves targets built in code (the probe command, tests).
func Effective(defaults config.SNMPDefaults, t config.SNMPSettings) config.SNMPSettings {
	c := config.Config{Defaults: defaults, SNMP: []config.SNMPTarget{{SNMPSettings: t}}}
	return c.SNMPTargetSettings(0)
}

// ParseVersion accepts 1, v1, 2, 2c, v2c, 3, v3.
func ParseVersion(s string) (gosnmp.SnmpVersion, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "v1":
		return gosnmp.Version1, nil
	case "2", "2c", "v2c", "v2":
		return gosnmp.Version2c, nil
	case "3", "v3":
		return gosnmp.Version3, nil
	}
	return 0, fmt.Errorf("unknown SNMP version %q (want 1, 2c or 3)", s)
}

// normProto upper-cases and drops separators: "SHA-256" and "sha256" both
// become "SHA256", "AES-256-C" becomes "AES256C".
func normProto(s string) string {
	return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToUpper(strings.TrimSpace(s)))
}

// ParseAuthProtocol accepts the spellings users type (net-snmp's -a and
// vendors'): MD5, SHA (SHA1, SHA-1), SHA-224, SHA-256, SHA-384, SHA-512,
// with or without the dash; "" and "none" mean no authentication.
func ParseAuthProtocol(s string) (gosnmp.SnmpV3AuthProtocol, error) {
	switch normProto(s) {
	case "", "NONE", "NOAUTH":
		return gosnmp.NoAuth, nil
	case "MD5":
		return gosnmp.MD5, nil
	case "SHA", "SHA1":
		return gosnmp.SHA, nil
	case "SHA224":
		return gosnmp.SHA224, nil
	case "SHA256":
		return gosnmp.SHA256, nil
	case "SHA384":
		return gosnmp.SHA384, nil
	case "SHA512":
		return gosnmp.SHA512, nil
	}
	return 0, fmt.Errorf("unknown authentication protocol %q (want MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512)", s)
}

// ParsePrivProtocol accepts DES, AES (AES128, AES-128), AES-192, AES-256
// (Blumenthal key extension, net-snmp's spelling) and AES-192-C, AES-256-C
// (Reeder key extension, what Cisco calls AES-192/256), with or without
// dashes; "" and "none" mean no privacy.
func ParsePrivProtocol(s string) (gosnmp.SnmpV3PrivProtocol, error) {
	switch normProto(s) {
	case "", "NONE", "NOPRIV":
		return gosnmp.NoPriv, nil
	case "DES", "DESCBC", "CBCDES":
		return gosnmp.DES, nil
	case "AES", "AES128", "AESCFB128", "AES128CFB":
		return gosnmp.AES, nil
	case "AES192":
		return gosnmp.AES192, nil
	case "AES256":
		return gosnmp.AES256, nil
	case "AES192C":
		return gosnmp.AES192C, nil
	case "AES256C":
		return gosnmp.AES256C, nil
	}
	return 0, fmt.Errorf("unknown privacy protocol %q (want DES, AES, AES-192, AES-256, AES-192-C or AES-256-C)", s)
}

// ParseLevel accepts noAuthNoPriv, authNoPriv, authPriv in any case.
func ParseLevel(s string) (gosnmp.SnmpV3MsgFlags, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "noauthnopriv", "noauth":
		return gosnmp.NoAuthNoPriv, nil
	case "authnopriv", "auth":
		return gosnmp.AuthNoPriv, nil
	case "authpriv", "priv":
		return gosnmp.AuthPriv, nil
	}
	return 0, fmt.Errorf("unknown security level %q (want noAuthNoPriv, authNoPriv or authPriv)", s)
}

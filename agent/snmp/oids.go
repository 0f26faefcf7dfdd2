package snmp

import (
	"github.com/outpost-nms/outpost/agent/snmp/oidname"
)

// Numeric OIDs of the standard objects the poller uses, without a leading dot.
const (
	oidSysDescr    = "1.3.6.1.2.1.1.1.0"
	oidSysObjectID = "1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = "1.3.6.1.2.1.1.3.0"
	oidSysContact  = "1.3.6.1.2.1.1.4.0"
	oidSysName     = "1.3.6.1.2.1.1.5.0"
	oidSysLocation = "1.3.6.1.2.1.1.6.0"
	oidEngineBoots = "1.3.6.1.6.3.10.2.1.2.0"

	oidIfEntry  = "1.3.6.1.2.1.2.2.1"
	oidIfXEntry = "1.3.6.1.2.1.31.1.1.1"

	oidHrStorageEntry  = "1.3.6.1.2.1.25.2.3.1"
	oidHrProcessorLoad = "1.3.6.1.2.1.25.3.3.1.2"
)

// Table columns the poller reads (an instance is the column and ".ifIndex").
const (
	colIfDescr       = oidIfEntry + ".2"
	colIfType        = oidIfEntry + ".3"
	colIfSpeed       = oidIfEntry + ".5"
	colIfPhysAddress = oidIfEntry + ".6"
	colIfAdminStatus = oidIfEntry + ".7"
	colIfOperStatus  = oidIfEntry + ".8"
	colIfInOctets    = oidIfEntry + ".10"
	colIfInUcast     = oidIfEntry + ".11"
	colIfInDiscards  = oidIfEntry + ".13"
	colIfInErrors    = oidIfEntry + ".14"
	colIfOutOctets   = oidIfEntry + ".16"
	colIfOutUcast    = oidIfEntry + ".17"
	colIfOutDiscards = oidIfEntry + ".19"
	colIfOutErrors   = oidIfEntry + ".20"

	colIfName                 = oidIfXEntry + ".1"
	colIfInMulticast          = oidIfXEntry + ".2"
	colIfInBroadcast          = oidIfXEntry + ".3"
	colIfOutMulticast         = oidIfXEntry + ".4"
	colIfOutBroadcast         = oidIfXEntry + ".5"
	colIfHCInOctets           = oidIfXEntry + ".6"
	colIfHCInUcast            = oidIfXEntry + ".7"
	colIfHCInMulticast        = oidIfXEntry + ".8"
	colIfHCInBroadcast        = oidIfXEntry + ".9"
	colIfHCOutOctets          = oidIfXEntry + ".10"
	colIfHCOutUcast           = oidIfXEntry + ".11"
	colIfHCOutMulticast       = oidIfXEntry + ".12"
	colIfHCOutBroadcast       = oidIfXEntry + ".13"
	colIfHighSpeed            = oidIfXEntry + ".15"
	colIfAlias                = oidIfXEntry + ".18"
	colIfCounterDiscontinuity = oidIfXEntry + ".19"

	colHrStorageType  = oidHrStorageEntry + ".2"
	colHrStorageDescr = oidHrStorageEntry + ".3"
	colHrStorageUnits = oidHrStorageEntry + ".4"
	colHrStorageSize  = oidHrStorageEntry + ".5"
	colHrStorageUsed  = oidHrStorageEntry + ".6"
)

// Units and limits of IF-MIB's speed objects.
const (
	// ifSpeedSaturated is the Gauge32 maximum that ifSpeed reports for
	// every speed it cannot express (above 4.29 Gb/s).
	ifSpeedSaturated = 1<<32 - 1
	// bitsPerMbit converts ifHighSpeed (Mb/s) to bits per second.
	bitsPerMbit = 1_000_000
)

// ResolveOID turns what a user wrote into a numeric OID without a leading
// dot: numbers and the built-in names (see oidname.Resolve). Names from
// MIB files were resolved at config load (config.OIDSpec.Resolved).
func ResolveOID(text string) (string, error) { return oidname.Resolve(text) }

// isNumericOID reports whether s is dot-separated decimal sub-identifiers.
func isNumericOID(s string) bool { return oidname.IsNumeric(s) }

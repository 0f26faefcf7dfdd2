package config

import (
	"fmt"
	"slices"
	"strings"
)

// Device features an SNMP target discovers and polls besides interfaces
// (agent/snmp): each can be turned off per target with `disable:`.
const (
	FeatureEntities = "entities" // ENTITY-MIB physical inventory
	FeatureSensors  = "sensors"  // ENTITY-SENSOR-MIB, CISCO-ENTITY-SENSOR-MIB, CISCO-ENVMON-MIB, jnxOperatingTable temperatures
	FeatureCPU      = "cpu"      // CISCO-PROCESS-MIB, UCD-SNMP-MIB load, jnxOperatingTable CPU
	FeatureMemory   = "memory"   // CISCO-MEMORY-POOL-MIB, CISCO-ENHANCED-MEMPOOL-MIB, UCD-SNMP-MIB memory, jnxOperatingTable buffers
	FeatureLLDP     = "lldp"     // LLDP-MIB neighbours
	FeatureCDP      = "cdp"      // CISCO-CDP-MIB neighbours
)

// DeviceFeatures lists the feature names `disable:` accepts.
var DeviceFeatures = []string{FeatureEntities, FeatureSensors, FeatureCPU, FeatureMemory, FeatureLLDP, FeatureCDP}

// Disabled reports whether the target's disable list names feature.
func (t *SNMPTarget) Disabled(feature string) bool { return slices.Contains(t.Disable, feature) }

func (v *validator) disable(p string, list []string) {
	seen := map[string]bool{}
	for i, f := range list {
		ip := fmt.Sprintf("%s[%d]", p, i)
		if !slices.Contains(DeviceFeatures, f) {
			v.Fail(ip, "unknown feature %q (want %s)", f, strings.Join(DeviceFeatures, ", "))
			continue
		}
		if seen[f] {
			v.Fail(ip, "%q listed twice", f)
		}
		seen[f] = true
	}
}

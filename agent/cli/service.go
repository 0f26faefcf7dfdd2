package cli

import "github.com/outpost-nms/outpost/shared/svc"

// serviceSpec describes the agent's system service.
func serviceSpec() svc.Spec {
	return svc.Spec{
		Name:        "outpost-agent",
		DisplayName: "Outpost agent",
		Description: "Outpost edge agent: polls SNMP devices and NTP servers and streams samples to the collector.",
		Arguments:   []string{"run", "-c", DefaultConfigPath},
	}
}

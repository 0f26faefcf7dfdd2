package cli

import "github.com/outpost-nms/outpost/shared/svc"

// serviceSpec describes the collector's system service.
func serviceSpec() svc.Spec {
	return svc.Spec{
		Name:        "outpost-collector",
		DisplayName: "Outpost collector",
		Description: "Outpost collector: receives agents' samples, keeps round-robin archives, serves the web UI.",
		Arguments:   []string{"run", "-c", DefaultConfigPath},
	}
}

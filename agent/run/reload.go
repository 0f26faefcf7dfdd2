package run

import (
	"log/slog"
	"reflect"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/snmp"
)

// reloadTargets compares the running configuration's targets with next's:
// a target whose configuration is unchanged is kept (with its discovery
// state and counters' history); a new or changed one is built afresh. It
// builds nothing into service when any new target is invalid.
func reloadTargets(cur, next *config.Config, running []poll.Target, log *slog.Logger) (kept, fresh []poll.Target, err error) {
	byName := map[string]poll.Target{}
	for _, t := range running {
		byName[t.Name()] = t
	}
	oldSNMP := map[string]config.SNMPTarget{}
	for _, t := range cur.SNMP {
		oldSNMP[t.Name] = t
	}
	oldNTP := map[string]config.NTPTarget{}
	for _, t := range cur.NTP {
		oldNTP[t.Name] = t
	}
	sameDefaults := reflect.DeepEqual(cur.Defaults, next.Defaults)
	for _, tc := range next.SNMP {
		if old, ok := oldSNMP[tc.Name]; ok && sameDefaults && reflect.DeepEqual(old, tc) && byName[tc.Name] != nil {
			kept = append(kept, byName[tc.Name])
			continue
		}
		t, err := snmp.New(tc, snmp.Options{Defaults: next.Defaults, Logger: log})
		if err != nil {
			closeTargets(fresh)
			return nil, nil, err
		}
		fresh = append(fresh, t)
	}
	clock := &ntp.LocalClock{}
	for _, tc := range next.NTP {
		if old, ok := oldNTP[tc.Name]; ok && reflect.DeepEqual(old, tc) && byName[tc.Name] != nil {
			// A reload lifts a Kiss-o'-Death DENY or RATE (sntp).
			if k, ok := byName[tc.Name].(interface{ ClearKiss() }); ok {
				k.ClearKiss()
			}
			kept = append(kept, byName[tc.Name])
			continue
		}
		t, err := ntp.New(tc, ntp.TargetOptions{Logger: log, LocalClock: clock})
		if err != nil {
			closeTargets(fresh)
			return nil, nil, err
		}
		fresh = append(fresh, t)
	}
	return kept, fresh, nil
}

// dropped returns the running targets not in kept.
func dropped(running, kept []poll.Target) []poll.Target {
	keep := map[poll.Target]bool{}
	for _, t := range kept {
		keep[t] = true
	}
	var out []poll.Target
	for _, t := range running {
		if !keep[t] {
			out = append(out, t)
		}
	}
	return out
}

// withTargets is cur with next's target sections and memory limit (what a
// reload applies).
func withTargets(cur, next *config.Config) *config.Config {
	c := *cur
	c.SNMP, c.NTP, c.Defaults, c.Scheduler = next.SNMP, next.NTP, next.Defaults, next.Scheduler
	c.MemoryLimit = next.MemoryLimit
	return &c
}

// warnRestartNeeded logs the settings a reload cannot apply.
func warnRestartNeeded(cur, next *config.Config, log *slog.Logger) {
	for _, f := range []struct {
		name      string
		old, next any
	}{
		{"name", cur.Name, next.Name},
		{"collector", cur.Collector, next.Collector},
		{"spool", cur.Spool, next.Spool},
		{"metrics", cur.Metrics, next.Metrics},
		{"log", cur.Log, next.Log},
		{"traps", cur.Traps, next.Traps},
	} {
		if !reflect.DeepEqual(f.old, f.next) {
			log.Warn("reload: this setting changes only after a restart", "section", f.name)
		}
	}
}

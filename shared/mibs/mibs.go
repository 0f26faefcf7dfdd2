// Package mibs names SNMP OIDs from the MIB files a system has (net-snmp's
// /usr/share/snmp/mibs, a vendor's MIB directory), with gosmi, pure Go.
// The names join the built-in ones of shared/snmpname (which win), so a
// trap from a vendor whose MIBs are installed reads
// CISCO-SYSLOG-MIB::clogMessageGenerated instead of 1.3.6.1.4.1.9.9.41.2.0.1.
//
// A module whose imports cannot be found (Debian's libsnmp-base ships the
// net-snmp MIBs without SNMPv2-SMI, which they all import) loads with its
// nodes unresolved: those are skipped and counted, and their OIDs stay
// numeric. Loading never fails the caller: a directory that is missing or
// a file that does not parse is counted and logged.
//
// gosmi keeps its state in a process-wide handle: Load initialises it,
// reads everything into the table and releases it, under a lock, so it
// may be called from one place at a time only in effect (the collector
// calls it once at start).
package mibs

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/sleepinggenius2/gosmi"
	"github.com/sleepinggenius2/gosmi/smi"

	"github.com/outpost-nms/outpost/shared/snmpname"
)

// DefaultDirs is where net-snmp keeps MIB files on Debian.
var DefaultDirs = []string{"/usr/share/snmp/mibs"}

// Stats is what a Load found.
type Stats struct {
	Files      int // files tried as modules
	Modules    int // modules loaded
	Failed     int // files that did not load
	Named      int // OIDs named (new in the table)
	Unresolved int // nodes without an OID (their imports are missing)
}

// handleMu serialises use of gosmi's process-wide handle.
var handleMu sync.Mutex

// Load reads every MIB module in dirs and adds the name of each node with
// an OID to t as MODULE::node.
func Load(dirs []string, t *snmpname.Table, log *slog.Logger) Stats {
	if log == nil {
		log = slog.Default()
	}
	var st Stats
	var names []string
	var paths []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !os.IsNotExist(err) {
				log.Warn("MIB directory unreadable", "dir", dir, "err", err)
			}
			continue
		}
		paths = append(paths, dir)
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			names = append(names, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".txt"), ".mib"), ".my"))
		}
	}
	if len(names) == 0 {
		return st
	}
	sort.Strings(names)
	handleMu.Lock()
	defer handleMu.Unlock()
	gosmi.Init()
	defer gosmi.Exit()
	gosmi.SetPath(strings.Join(paths, string(os.PathListSeparator)))
	for _, n := range names {
		st.Files++
		if err := loadModule(n); err != nil {
			st.Failed++
			log.Debug("MIB module not loaded", "module", n, "err", err)
		}
	}
	for _, m := range gosmi.GetLoadedModules() {
		if strings.HasPrefix(m.Name, "<") { // gosmi's <well-known> roots (iso, ccitt)
			continue
		}
		st.Modules++
		for _, node := range m.GetNodes() {
			oid := node.Oid.String()
			if len(node.Oid) == 0 || oid == "" {
				st.Unresolved++
				continue
			}
			before := t.Len()
			t.Add(oid, m.Name+"::"+node.Name)
			if t.Len() > before {
				st.Named++
			}
		}
	}
	log.Info("MIB names loaded", "dirs", strings.Join(paths, ","), "modules", st.Modules, "failed", st.Failed,
		"named", st.Named, "unresolved", st.Unresolved)
	return st
}

// loadModule loads one module; a parser panic on a hostile file is an error.
func loadModule(name string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser panic: %v", r)
		}
	}()
	// smi.GetModule loads quietly (gosmi.LoadModule prints errors to
	// stdout); the reason of a failure is not kept, only the failure.
	if smi.GetModule(name) == nil {
		return fmt.Errorf("module %s does not load", name)
	}
	return nil
}

// Dirs returns the directories that exist among dirs (for messages).
func Dirs(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, filepath.Clean(d))
		}
	}
	return out
}

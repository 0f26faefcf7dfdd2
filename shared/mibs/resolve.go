package mibs

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/sleepinggenius2/gosmi"
	"github.com/sleepinggenius2/gosmi/types"
)

// NetSNMPDirs are the directories net-snmp reads MIB files from on Debian
// and most other systems (its compiled-in MIBDIRS plus the IETF/IANA
// subdirectories snmp-mibs-downloader fills), in net-snmp's order.
// Missing ones are skipped.
var NetSNMPDirs = []string{
	"/usr/share/snmp/mibs",
	"/usr/share/snmp/mibs/iana",
	"/usr/share/snmp/mibs/ietf",
	"/usr/share/mibs/site",
	"/usr/share/snmp/mibs/site",
	"/usr/share/mibs/iana",
	"/usr/share/mibs/ietf",
	"/usr/share/mibs/netsnmp",
}

// nameRE is the form of a name Resolve accepts: an optional module, an
// object, an optional numeric instance.
var nameRE = regexp.MustCompile(`^(?:([A-Za-z][A-Za-z0-9-]*)::)?([a-zA-Z][A-Za-z0-9-]*)((?:\.[0-9]+)*)$`)

// IsName reports whether text has the form of an object name
// ("IF-MIB::ifInErrors.3", "laLoad.1", "sysUpTime") rather than a number.
func IsName(text string) bool { return nameRE.MatchString(text) }

// Resolve turns object names into numeric OIDs (no leading dot) with the
// MIB modules found in dirs. A name is "MODULE::object", optionally with
// an instance ("IF-MIB::ifInErrors.3"), or a bare "object[.instance]",
// which must be defined by exactly one module in dirs. A scalar without an
// instance gets ".0"; a column without one is an error, as is a table, a
// row or a plain registration node without one.
//
// oids[i] is the OID of names[i], or "" where errs[i] says why not: the
// module is not in dirs or does not parse, the object is not in it, its
// OID is unknown because the module's imports are missing, or a bare name
// is ambiguous. Errors name the module and the object. gosmi is loaded
// only for the call and released before it returns (its handle is
// process-wide: calls are serialised).
func Resolve(dirs []string, names []string) (oids []string, errs []error) {
	oids = make([]string, len(names))
	errs = make([]error, len(names))
	type ref struct{ module, object, instance string }
	refs := make([]ref, len(names))
	var modules []string
	bare := false
	for i, n := range names {
		m := nameRE.FindStringSubmatch(strings.TrimSpace(n))
		if m == nil {
			errs[i] = fmt.Errorf("%q is not an object name (MODULE::object.instance)", n)
			continue
		}
		refs[i] = ref{m[1], m[2], strings.TrimPrefix(m[3], ".")}
		if m[1] == "" {
			bare = true
		} else if !slices.Contains(modules, m[1]) {
			modules = append(modules, m[1])
		}
	}
	found := Dirs(dirs)
	where := strings.Join(found, ", ")
	if len(found) == 0 {
		where = "none of " + strings.Join(dirs, ", ") + " exists"
		for i := range names {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%s: no MIB directory (%s)", names[i], where)
			}
		}
		return oids, errs
	}

	handleMu.Lock()
	defer handleMu.Unlock()
	gosmi.Init()
	defer gosmi.Exit()
	gosmi.SetPath(strings.Join(found, string(os.PathListSeparator)))
	loadErr := map[string]error{}
	for _, m := range modules {
		loadErr[m] = loadModule(m)
	}
	if bare {
		for _, n := range moduleNames(found) {
			_ = loadModule(n) // a file that does not load only hides its names
		}
	}

	for i, r := range refs {
		if errs[i] != nil {
			continue
		}
		var node gosmi.SmiNode
		if r.module != "" {
			if err := loadErr[r.module]; err != nil {
				errs[i] = fmt.Errorf("%s::%s: MIB %s not found or not parsable in %s", r.module, r.object, r.module, where)
				continue
			}
			mod, err := gosmi.GetModule(r.module)
			if err != nil {
				errs[i] = fmt.Errorf("%s::%s: MIB %s: %w", r.module, r.object, r.module, err)
				continue
			}
			if node, err = mod.GetNode(r.object); err != nil {
				errs[i] = fmt.Errorf("%s::%s: MIB %s defines no object %s", r.module, r.object, r.module, r.object)
				continue
			}
			if len(node.Oid) == 0 {
				if im := importedModules(mod); len(im) > 0 {
					errs[i] = fmt.Errorf("%s::%s: the OID of %s is unknown: MIB %s imports %s, not all found in %s",
						r.module, r.object, r.object, r.module, strings.Join(im, ", "), where)
				} else {
					errs[i] = fmt.Errorf("%s::%s: MIB %s gives %s no OID", r.module, r.object, r.module, r.object)
				}
				continue
			}
		} else {
			var in []string
			var unresolved []string
			for _, mod := range gosmi.GetLoadedModules() {
				n, err := mod.GetNode(r.object)
				if err != nil {
					continue
				}
				if len(n.Oid) == 0 {
					unresolved = append(unresolved, mod.Name)
					continue
				}
				if len(in) == 0 || n.Oid.String() != node.Oid.String() {
					in = append(in, mod.Name)
				}
				node = n
			}
			switch {
			case len(in) > 1:
				slices.Sort(in)
				errs[i] = fmt.Errorf("%s: defined by several MIBs (%s); write MODULE::%s", r.object, strings.Join(in, ", "), r.object)
				continue
			case len(in) == 0 && len(unresolved) > 0:
				errs[i] = fmt.Errorf("%s: the OID of %s is unknown: MIB %s lacks some of its imports in %s",
					r.object, r.object, strings.Join(unresolved, ", "), where)
				continue
			case len(in) == 0:
				errs[i] = fmt.Errorf("%s: no MIB in %s defines %s", r.object, where, r.object)
				continue
			}
		}
		oid := node.Oid.String()
		if r.instance != "" {
			oids[i] = oid + "." + r.instance
			continue
		}
		switch kind := nodeKind(node); kind {
		case types.NodeScalar:
			oids[i] = oid + ".0"
		case types.NodeColumn:
			errs[i] = fmt.Errorf("%s is a table column; add the instance (%s.1)", names[i], names[i])
		default:
			errs[i] = fmt.Errorf("%s is a %s, not an object to poll; add the instance", names[i], strings.ToLower(kind.String()))
		}
	}
	return oids, errs
}

// nodeKind is the node's kind, with a "scalar" whose parent is a table
// row taken as the column it is (gosmi says scalar when the row's types
// come from a module it could not load).
func nodeKind(n gosmi.SmiNode) types.NodeKind {
	if n.Kind != types.NodeScalar || len(n.Oid) < 2 {
		return n.Kind
	}
	parent, err := gosmi.GetNodeByOID(n.Oid[:len(n.Oid)-1])
	if err == nil && parent.Kind == types.NodeRow {
		return types.NodeColumn
	}
	return n.Kind
}

// importedModules lists the modules mod imports from.
func importedModules(mod gosmi.SmiModule) []string {
	var out []string
	for _, im := range mod.GetImports() {
		if !slices.Contains(out, im.Module) {
			out = append(out, im.Module)
		}
	}
	return out
}

// moduleNames lists the module names of the files in dirs (file names
// without .txt, .mib or .my), sorted.
func moduleNames(dirs []string) []string {
	var names []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			n := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".txt"), ".mib"), ".my")
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

// Command outpost-agent-mibs resolves SNMP object names
// (IF-MIB::ifInErrors.3, CISCO-PROCESS-MIB::cpmCPUTotal5minRev.1, a bare
// name) to numeric OIDs with the MIB files of the given directories and
// net-snmp's (shared/mibs, gosmi).
//
// outpost-agent runs it at config load when an oids entry names an object
// it does not know built in; it is a program of its own so that the agent
// does not link the MIB parser (whose grammar alone costs every agent
// about 1.3 MB of heap at start) when no such name is used. Operators may
// run it to check a name:
//
//	outpost-agent-mibs -M /etc/outpost/mibs CISCO-PROCESS-MIB::cpmCPUTotal5minRev.1
//
// With --json it prints one JSON array, an object per name in order:
// {"name", "oid"} or {"name", "error"}. The exit status is 1 when a name
// did not resolve, 2 on a usage error.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/outpost-nms/outpost/shared/mibs"
)

// Result is one name's answer in --json output.
type Result struct {
	Name  string `json:"name"`
	OID   string `json:"oid,omitempty"`
	Error string `json:"error,omitempty"`
}

type dirList []string

func (d *dirList) String() string     { return strings.Join(*d, ",") }
func (d *dirList) Set(s string) error { *d = append(*d, s); return nil }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("outpost-agent-mibs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dirs dirList
	fs.Var(&dirs, "M", "a directory of MIB files, searched before net-snmp's (repeatable)")
	asJSON := fs.Bool("json", false, "print a JSON array of {name, oid | error}")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: outpost-agent-mibs [-M DIR]... [--json] NAME...\n\n"+
			"Resolves MIB object names to numeric OIDs (net-snmp's directories: %s).\n\n", strings.Join(mibs.NetSNMPDirs, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	names := fs.Args()
	oids, errs := mibs.Resolve(append(slices.Clone(dirs), mibs.NetSNMPDirs...), names)
	code := 0
	out := make([]Result, len(names))
	for i, n := range names {
		out[i] = Result{Name: n, OID: oids[i]}
		if errs[i] != nil {
			out[i].Error = errs[i].Error()
			code = 1
		}
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(out); err != nil {
			fmt.Fprintln(stderr, "outpost-agent-mibs:", err)
			return 2
		}
		return code
	}
	for _, r := range out {
		if r.Error != "" {
			fmt.Fprintf(stderr, "%s: %s\n", r.Name, r.Error)
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\n", r.Name, r.OID)
	}
	return code
}

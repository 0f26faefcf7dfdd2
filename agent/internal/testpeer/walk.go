package testpeer

import (
	"encoding/hex"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// WalkVar is one object net-snmp's snmpwalk read.
type WalkVar struct {
	OID string // numeric, with the leading dot (".1.3.6.1.2.1.2.2.1.2.1")
	// Bytes is an OCTET STRING's exact bytes (snmpwalk -Ox prints them
	// in hex, so nothing is lost to its display); nil for other types.
	Bytes []byte
	// Text is any other value as snmpwalk prints it with -Oqe -Ot:
	// numbers (enumerations and TimeTicks too) in decimal, OIDs numeric.
	Text string
}

// walkLine matches one variable of `snmpwalk -On -Oq -Ox -Oe -Ot`: the
// OID, then a quoted hex string (it may span lines) or a bare value.
var walkLine = regexp.MustCompile(`(?m)^(\.[0-9.]+) (?:"([0-9A-Fa-f \n]*)"|(.*))$`)

// Walk runs net-snmp's snmpwalk (v2c) over oid and returns what it read, in
// order. OCTET STRINGs keep their exact bytes. A missing snmpwalk skips the
// test (fails it with CI=true); a failed walk fails it.
func Walk(t testing.TB, addr, community, oid string) []WalkVar {
	t.Helper()
	walk := testbed.RequireTool(t, "snmpwalk")
	out, err := exec.Command(walk, "-v2c", "-c", community, "-t", "2", "-r", "1", "-On", "-Oq", "-Ox", "-Oe", "-Ot", addr, oid).CombinedOutput()
	if err != nil {
		t.Fatalf("snmpwalk %s %s: %v\n%s", community, oid, err, out)
	}
	var vars []WalkVar
	text := string(out)
	for _, m := range walkLine.FindAllStringSubmatchIndex(text, -1) {
		v := WalkVar{OID: text[m[2]:m[3]]}
		if m[4] >= 0 { // the quoted hex group matched: an OCTET STRING
			b, err := hex.DecodeString(strings.Join(strings.Fields(text[m[4]:m[5]]), ""))
			if err != nil {
				t.Fatalf("snmpwalk: %s: bad hex %q", v.OID, text[m[4]:m[5]])
			}
			v.Bytes = append([]byte{}, b...)
		} else {
			v.Text = strings.TrimSpace(text[m[6]:m[7]])
		}
		vars = append(vars, v)
	}
	return vars
}

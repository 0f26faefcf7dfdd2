package mibs

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzResolveMIBFile: a MIB file of any content (an operator's directory
// may hold anything) gives an OID or an error for a name, never a panic
// or a hang, and an OID is numeric.
func FuzzResolveMIBFile(f *testing.F) {
	for _, p := range []string{"testdata/site/OUTPOST-SITE-MIB.txt", "testdata/smi-roots/SNMPv2-SMI.txt", "testdata/mibs/OUTPOST-TEST-MIB.txt",
		"testdata/mibs/garbage.txt", "testdata/mibs/NEEDS-SMI-MIB.txt"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("FUZZ-MIB DEFINITIONS ::= BEGIN\nx OBJECT IDENTIFIER ::= { x 1 }\nEND\n"))
	f.Add([]byte("FUZZ-MIB DEFINITIONS ::= BEGIN\nIMPORTS a FROM FUZZ-MIB;\nEND\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) > 64<<10 {
			return
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "FUZZ-MIB.txt"), text, 0o644); err != nil {
			t.Fatal(err)
		}
		oids, errs := Resolve([]string{dir}, []string{"FUZZ-MIB::x", "outpostSiteTemperature", "x.1"})
		for i := range oids {
			if (oids[i] == "") == (errs[i] == nil) {
				t.Fatalf("name %d: oid %q with error %v", i, oids[i], errs[i])
			}
			if oids[i] != "" && !isNumeric(oids[i]) {
				t.Fatalf("name %d: %q is not numeric", i, oids[i])
			}
		}
	})
}

// isNumeric reports whether s is dot-separated decimal numbers.
func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c == '.' && digit && i < len(s)-1:
			digit = false
		default:
			return false
		}
	}
	return digit
}

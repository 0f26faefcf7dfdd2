package demo

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries walks every package of the module: shared/ imports
// neither side; non-test agent and collector packages never import each
// other, demo/ or the simulators (agent/sim, which only the demo and tests
// use). Tests may cross (end-to-end tests run both sides).
func TestImportBoundaries(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "github.com/outpost-nms/outpost/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/outpost-nms/outpost/"
	side := func(p string) string {
		rest := strings.TrimPrefix(p, mod)
		switch {
		case strings.HasPrefix(rest, "agent/sim/"):
			return "sim"
		case strings.HasPrefix(rest, "agent/"):
			return "agent"
		case strings.HasPrefix(rest, "collector/"):
			return "collector"
		case strings.HasPrefix(rest, "shared/"):
			return "shared"
		case rest == "demo" || strings.HasPrefix(rest, "demo/"):
			return "demo"
		}
		return "other"
	}
	forbidden := map[string][]string{
		"shared":    {"agent", "collector", "demo", "sim"},
		"agent":     {"collector", "demo", "sim"},
		"collector": {"agent", "demo", "sim"},
		"sim":       {"collector", "demo"},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		from := side(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			for _, bad := range forbidden[from] {
				if side(imp) == bad {
					t.Errorf("%s (%s) imports %s (%s)", p.ImportPath, from, imp, bad)
				}
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d packages listed", n)
	}
}

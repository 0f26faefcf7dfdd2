package config

import (
	"os"
	"regexp"
	"testing"
)

// TestREADMEExampleLoads keeps the agent configuration shown in README.md
// valid: a user copies it first.
func TestREADMEExampleLoads(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no yaml example")
	}
	c, err := Parse("README.md example", blocks[0][1])
	if err != nil {
		t.Fatalf("the README's agent configuration does not load: %v", err)
	}
	if len(c.SNMP) != 2 || len(c.NTP) != 1 || c.SNMP[1].V3 == nil {
		t.Errorf("README example: %d SNMP targets (v3 %v), %d NTP servers; want a v2c and a v3 switch and an NTP server", len(c.SNMP), c.SNMP[1].V3 != nil, len(c.NTP))
	}
}

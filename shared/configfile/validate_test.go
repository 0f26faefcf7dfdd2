package configfile

import (
	"strings"
	"testing"
)

// TestValidator: the checks both configurations share, and that the error
// kept is the earliest in the file whatever order the checks ran in.
func TestValidator(t *testing.T) {
	const doc = "name: -bad\nsnmp:\n  - address: 10.0.0.1:161\n    port: 0\ncollector:\n  address: host\nlisten: \":0\"\nmetrics: \"127.0.0.1:70000\"\n"
	var dst struct {
		Name string `yaml:"name"`
		SNMP []struct {
			Address string `yaml:"address"`
			Port    int    `yaml:"port"`
		} `yaml:"snmp"`
		Collector struct {
			Address string `yaml:"address"`
		} `yaml:"collector"`
		Listen  string `yaml:"listen"`
		Metrics string `yaml:"metrics"`
	}
	pos, err := DecodePositions("x.yaml", []byte(doc), &dst)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		check func(v *Validator)
		want  string // "" for no error
	}{
		{func(v *Validator) { v.Name("name", "-bad") }, `x.yaml:1: name: "-bad" is not a valid name`},
		{func(v *Validator) { v.Name("name", "") }, `x.yaml:1: name: required`},
		{func(v *Validator) { v.Name("name", "edge-1.site_a") }, ""},
		{func(v *Validator) { v.Host("snmp[0].address", "10.0.0.1:161") }, `x.yaml:3: snmp[0].address: "10.0.0.1:161" must be an IP address or host name without a port`},
		{func(v *Validator) { v.Host("snmp[0].address", "::1") }, ""},
		{func(v *Validator) { v.Host("snmp[0].address", "rtr<1>") }, `is not an IP address or host name`},
		{func(v *Validator) { v.Port("snmp[0].port", 0) }, `x.yaml:4: snmp[0].port: port 0 out of range (1-65535)`},
		{func(v *Validator) { v.Dial("collector.address", "host") }, `x.yaml:6: collector.address: "host" is not host:port`},
		{func(v *Validator) { v.Dial("collector.address", ":4433") }, `":4433" has no host`},
		{func(v *Validator) { v.Dial("collector.address", "h:0") }, `port must be a number from 1 to 65535`},
		{func(v *Validator) { v.Listen("listen", ":0") }, ""},
		{func(v *Validator) { v.Listen("metrics", "127.0.0.1:70000") }, `x.yaml:8: metrics: "127.0.0.1:70000": port must be a number from 0 to 65535`},
		{func(v *Validator) { v.Listen("listen", "0") }, `"0" is not host:port (or :port)`},
		// Several errors: the one earliest in the file wins.
		{func(v *Validator) {
			v.Port("snmp[0].port", 0)
			v.Name("name", "-bad")
			v.Dial("collector.address", "host")
		}, `x.yaml:1: name:`},
	}
	for i, c := range cases {
		v := NewValidator(pos)
		c.check(v)
		err := v.Err()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("case %d: unexpected %v", i, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("case %d: got %v, want %q", i, err, c.want)
		}
	}
}

package snmpsim

import (
	"testing"

	"github.com/gosnmp/gosnmp"
)

func TestGetCountCountsAnsweredGets(t *testing.T) {
	dev, addr := startDevice(t, Config{Community: "public", Interfaces: smallInterfaces()})
	c := client(t, addr, gosnmp.Version2c, "public")
	const services = "1.3.6.1.2.1.1.7.0"
	for i := 0; i < 3; i++ {
		if _, err := c.Get([]string{services, "1.3.6.1.2.1.1.5.0"}); err != nil {
			t.Fatal(err)
		}
	}
	// GetNext and walks are not counted.
	if _, err := c.GetNext([]string{"1.3.6.1.2.1.1.6.0"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		oid  string
		want uint64
	}{
		{services, 3},
		{"." + services, 3},
		{"1.3.6.1.2.1.1.5.0", 3},
		{"1.3.6.1.2.1.1.1.0", 0},
		{"not an oid", 0},
	}
	for _, tt := range tests {
		if got := dev.GetCount(tt.oid); got != tt.want {
			t.Errorf("GetCount(%q) = %d, want %d", tt.oid, got, tt.want)
		}
	}
}

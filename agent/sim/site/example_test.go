package site_test

import (
	"context"
	"fmt"
	"io"

	"github.com/outpost-nms/outpost/agent/sim/site"
)

// Start the demo site on free loopback ports, list it, and stop it.
func Example() {
	s, err := site.Start(context.Background(), site.DefaultSpec(), site.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for _, t := range s.Targets() {
		fmt.Println(t.Kind, t.Name, t.Addr.IP)
	}
	_ = s.WriteAgentConfig(io.Discard) // or a file: the snmp:/ntp: sections with the bound ports
	// Output:
	// snmp core-1 127.0.0.1
	// snmp dist-1 127.0.0.1
	// snmp dist-2 127.0.0.1
	// snmp access-1 127.0.0.1
	// snmp access-2 127.0.0.1
	// snmp access-3 127.0.0.1
	// snmp fw-1 127.0.0.1
	// ntp ntp-1 127.0.0.1
	// ntp ntp-2 127.0.0.1
}

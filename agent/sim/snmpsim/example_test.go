package snmpsim_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
)

// A device with generated interfaces on a loopback port, polled with gosnmp;
// Counter predicts exactly what the device answers.
func Example() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	d, err := snmpsim.New(snmpsim.Config{
		SysName:    "edge-1",
		Community:  "public",
		Interfaces: snmpsim.GenerateInterfaces(48, 1),
		Clock:      func() time.Time { return now },
		Start:      now.Add(-time.Hour),
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := d.ListenAndServe(ctx, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(addr.(*net.UDPAddr).Port),
		Version: gosnmp.Version2c, Community: "public", Timeout: time.Second, Retries: 1}
	if err := g.Connect(); err != nil {
		panic(err)
	}
	defer g.Conn.Close()
	r, err := g.Get([]string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.31.1.1.1.1.3", ".1.3.6.1.2.1.31.1.1.1.6.3"})
	if err != nil {
		panic(err)
	}
	want, _ := d.Counter(3, "ifHCInOctets", now)
	fmt.Printf("%s up %d ticks\n", r.Variables[0].Value, r.Variables[1].Value)
	fmt.Printf("%s ifHCInOctets matches Counter: %v\n", r.Variables[2].Value, gosnmp.ToBigInt(r.Variables[3].Value).Uint64() == want)
	// Output:
	// edge-1 up 360000 ticks
	// ge-0/0/0 ifHCInOctets matches Counter: true
}

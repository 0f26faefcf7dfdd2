package snmpsim

import (
	"fmt"
	"math/rand"
	"net"
	"time"
)

// GenerateInterfaces returns n realistic interfaces with ifIndex 1..n,
// reproducible from seed: a management port "fxp0" and a loopback "lo0",
// then 1G ports "ge-F/P/N" (48 per FPC/PIC), every eighth port a 10G
// "xe-F/P/N", and with n >= 20 two LAGs "ae0", "ae1" at the end. Rates
// are a mix from idle to ~60% of the link, with a daily curve on most
// ports and bursts on some, never above 95 % of the link at their peak; about 1 in 25 ports is admin-up but oper-down
// (no cable), and a few have no HC counters. Every port has a MAC address
// and a description in ifAlias.
func GenerateInterfaces(n int, seed int64) []Interface {
	r := rand.New(rand.NewSource(seed))
	out := make([]Interface, 0, n)
	add := func(f Interface) {
		f.Index = len(out) + 1
		if f.MAC == nil {
			f.MAC = net.HardwareAddr{0x02, 0x5e, byte(seed), byte(f.Index >> 16), byte(f.Index >> 8), byte(f.Index)}
		}
		out = append(out, f)
	}
	if n > 0 {
		add(Interface{Name: "fxp0", Descr: "fxp0", Alias: "management", SpeedBps: 1e9, AdminUp: true, InRate: 2000, OutRate: 5000})
	}
	if len(out) < n {
		add(Interface{Name: "lo0", Descr: "lo0", Type: IfTypeLoopback, MTU: 65535, AdminUp: true, InRate: 300, OutRate: 300})
	}
	lags := 0
	if n >= 20 {
		lags = 2
	}
	port := 0
	for len(out) < n-lags {
		fpc, pic, num := port/480, (port/48)%10, port%48
		speed, prefix := uint64(1e9), "ge"
		if port%8 == 7 {
			speed, prefix = 1e10, "xe"
		}
		name := fmt.Sprintf("%s-%d/%d/%d", prefix, fpc, pic, num)
		util := r.Float64() * r.Float64() * 0.6 // skewed to low utilisation
		in := util * float64(speed) / 8
		f := Interface{
			Name: name, Descr: name, Alias: fmt.Sprintf("port %d to rack-%02d", port, r.Intn(40)),
			SpeedBps: speed, AdminUp: true, InRate: in, OutRate: in * (0.3 + r.Float64()),
		}
		if r.Intn(10) < 7 {
			f.Diurnal = 0.2 + 0.5*r.Float64()
		}
		if r.Intn(10) == 0 {
			f.BurstEvery, f.BurstLength, f.BurstFactor = 15*time.Minute, 30*time.Second, 2+3*r.Float64()
		}
		if r.Intn(25) == 0 {
			f.Oper, f.InRate, f.OutRate = OperDown, 0, 0
		}
		if r.Intn(40) == 0 {
			f.NoHC = true
		}
		// A port never carries more than its line rate: the peak of the
		// daily curve, times a burst, stays under 95 % of it (the agent
		// gives interface counters a maximum from the speed, and a real
		// port cannot exceed it).
		peak := (1 + f.Diurnal) * max(1, f.BurstFactor)
		limit := 0.95 * float64(speed) / 8 / peak
		f.InRate, f.OutRate = min(f.InRate, limit), min(f.OutRate, limit)
		add(f)
		port++
	}
	for i := 0; len(out) < n; i++ {
		name := fmt.Sprintf("ae%d", i)
		add(Interface{Name: name, Descr: name, Alias: "uplink bundle", Type: IfTypeLAG, SpeedBps: 2e10, AdminUp: true,
			InRate: 4e8 + r.Float64()*4e8, OutRate: 3e8 + r.Float64()*4e8, Diurnal: 0.5})
	}
	return out
}

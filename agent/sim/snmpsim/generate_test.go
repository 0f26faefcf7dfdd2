package snmpsim

import (
	"reflect"
	"testing"
)

func TestGenerateInterfaces(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 19, 20, 48, 1000, 5000} {
		ifs := GenerateInterfaces(n, 42)
		if len(ifs) != n {
			t.Fatalf("GenerateInterfaces(%d) made %d", n, len(ifs))
		}
		if _, err := New(Config{Interfaces: ifs}); err != nil {
			t.Fatalf("GenerateInterfaces(%d) is not a valid device: %v", n, err)
		}
		for i, f := range ifs {
			if f.Index != i+1 {
				t.Fatalf("n=%d: interface %d has ifIndex %d", n, i, f.Index)
			}
		}
		if n >= 20 && (ifs[n-1].Name != "ae1" || ifs[n-2].Name != "ae0" || ifs[n-1].Type != IfTypeLAG) {
			t.Errorf("n=%d: last interfaces %q %q, want the LAGs ae0 ae1", n, ifs[n-2].Name, ifs[n-1].Name)
		}
	}
	ifs := GenerateInterfaces(1000, 42)
	want := map[int]string{0: "fxp0", 1: "lo0", 2: "ge-0/0/0", 9: "xe-0/0/7", 50: "ge-0/1/0", 482: "ge-1/0/0"}
	for i, name := range want {
		if ifs[i].Name != name {
			t.Errorf("interface %d is %q, want %q", i, ifs[i].Name, name)
		}
	}
	var down, noHC, diurnal, burst int
	for _, f := range ifs {
		if f.AdminUp && f.Oper == OperDown {
			down++
		}
		if f.NoHC {
			noHC++
		}
		if f.Diurnal > 0 {
			diurnal++
		}
		if f.BurstEvery > 0 {
			burst++
		}
		// The peak (daily curve and burst) of either direction stays
		// within the link: the agent's counter maximum is the line rate.
		peak := (1 + f.Diurnal) * max(1, f.BurstFactor)
		if line := float64(f.SpeedBps) / 8; f.SpeedBps > 0 && (f.InRate*peak > line || f.OutRate*peak > line) {
			t.Errorf("%s: peak rates %v / %v B/s exceed the link (%v B/s)", f.Name, f.InRate*peak, f.OutRate*peak, line)
		}
	}
	if down == 0 || noHC == 0 || diurnal < 500 || burst == 0 {
		t.Errorf("mix of 1000 ports: %d oper-down, %d without HC, %d diurnal, %d bursting", down, noHC, diurnal, burst)
	}
	if !reflect.DeepEqual(GenerateInterfaces(100, 7), GenerateInterfaces(100, 7)) {
		t.Error("same seed, different interfaces")
	}
	if reflect.DeepEqual(GenerateInterfaces(100, 7), GenerateInterfaces(100, 8)) {
		t.Error("different seeds, same interfaces")
	}
}

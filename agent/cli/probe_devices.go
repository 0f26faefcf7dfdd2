package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/outpost-nms/outpost/agent/snmp"
	"github.com/outpost-nms/outpost/shared/wire"
)

// What `probe snmp` shows of a device's hardware, health and neighbours
// (issue 18), from one discovery.

type probeSensor struct {
	Key        string           `json:"key"`
	Name       string           `json:"name"`
	Source     string           `json:"source"`
	Unit       string           `json:"unit"`
	Value      *float64         `json:"value"`
	Entity     uint32           `json:"entity_index,omitempty"`
	IfIndex    uint32           `json:"ifindex,omitempty"`
	Thresholds []snmp.Threshold `json:"thresholds,omitempty"`
	Problem    string           `json:"problem,omitempty"`
}

type probeProcessor struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Source      string   `json:"source"`
	LoadPercent *float64 `json:"load_percent"`
	Entity      uint32   `json:"entity_index,omitempty"`
}

type probeMemory struct {
	Key        string   `json:"key"`
	Name       string   `json:"name"`
	Source     string   `json:"source"`
	UsedBytes  *float64 `json:"used_bytes"`
	TotalBytes *float64 `json:"total_bytes"`
	Entity     uint32   `json:"entity_index,omitempty"`
}

// probeDevice is the device part of `probe snmp --json`.
type probeDevice struct {
	Entities   []wire.Entity    `json:"entities"`
	Sensors    []probeSensor    `json:"sensors"`
	Processors []probeProcessor `json:"processors"`
	Memory     []probeMemory    `json:"memory"`
	Load       *struct {
		Load1  *float64 `json:"load1"`
		Load5  *float64 `json:"load5"`
		Load15 *float64 `json:"load15"`
	} `json:"load_average,omitempty"`
	Neighbors  []wire.Neighbor `json:"neighbors"`
	ChassisIDs []string        `json:"chassis_ids,omitempty"`
}

func dsValue(h *snmp.Health, name string) *float64 {
	for _, d := range h.DS {
		if d.Name == name {
			return d.Value
		}
	}
	return nil
}

func probeDeviceOf(dev *snmp.Device) probeDevice {
	out := probeDevice{Entities: dev.Entities, Neighbors: dev.Neighbors, ChassisIDs: dev.ChassisIDs,
		Sensors: []probeSensor{}, Processors: []probeProcessor{}, Memory: []probeMemory{}}
	if out.Entities == nil {
		out.Entities = []wire.Entity{}
	}
	if out.Neighbors == nil {
		out.Neighbors = []wire.Neighbor{}
	}
	for i := range dev.Health {
		h := &dev.Health[i]
		switch h.Kind {
		case wire.KindSensor:
			var v *float64
			if len(h.DS) > 0 {
				v = h.DS[0].Value
			}
			out.Sensors = append(out.Sensors, probeSensor{Key: h.Key, Name: h.Name, Source: h.Source, Unit: h.Unit, Value: v,
				Entity: h.Entity, IfIndex: h.IfIndex, Thresholds: h.Thresholds, Problem: h.Bad})
		case wire.KindProcessor:
			out.Processors = append(out.Processors, probeProcessor{Key: h.Key, Name: h.Name, Source: h.Source, LoadPercent: dsValue(h, "load"), Entity: h.Entity})
		case wire.KindMemory:
			out.Memory = append(out.Memory, probeMemory{Key: h.Key, Name: h.Name, Source: h.Source, UsedBytes: dsValue(h, "used"),
				TotalBytes: dsValue(h, "total"), Entity: h.Entity})
		case wire.KindLoad:
			out.Load = &struct {
				Load1  *float64 `json:"load1"`
				Load5  *float64 `json:"load5"`
				Load15 *float64 `json:"load15"`
			}{dsValue(h, "load1"), dsValue(h, "load5"), dsValue(h, "load15")}
		}
	}
	return out
}

func num(v *float64, unit string) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64) + unit
}

func bytesText(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v/(1<<20), 'f', 1, 64) + " MiB"
}

// writeProbeDevice prints the hardware, health and neighbour sections
// that have rows. Strings go through writeTable's cleaning.
func writeProbeDevice(w io.Writer, dev *snmp.Device) error {
	p := probeDeviceOf(dev)
	section := func(title string, cols []column, rows [][]string) error {
		if len(rows) == 0 {
			return nil
		}
		if _, err := fmt.Fprintf(w, "\n%s\n", title); err != nil {
			return err
		}
		return writeTable(w, cols, rows)
	}
	var rows [][]string
	for _, e := range p.Entities {
		rows = append(rows, []string{strconv.FormatUint(uint64(e.Index), 10), strconv.FormatUint(uint64(e.ContainedIn), 10), e.Class,
			e.Name, oneLine(e.Descr), e.Model, e.Serial, e.SoftwareRev})
	}
	if err := section("Hardware (ENTITY-MIB)", []column{{title: "INDEX", right: true}, {title: "IN", right: true}, {title: "CLASS"},
		{title: "NAME", max: probeNameWidth}, {title: "DESCR", max: probeDescrWidth}, {title: "MODEL", max: 24}, {title: "SERIAL", max: 24}, {title: "SOFTWARE", max: 24}}, rows); err != nil {
		return err
	}
	rows = nil
	for _, s := range p.Sensors {
		v := num(s.Value, " "+s.Unit)
		if s.Problem != "" {
			v = s.Problem
		}
		rows = append(rows, []string{s.Key, s.Name, v, s.Source})
	}
	if err := section("Sensors", []column{{title: "KEY", max: 32}, {title: "NAME", max: probeDescrWidth}, {title: "VALUE", right: true}, {title: "SOURCE"}}, rows); err != nil {
		return err
	}
	rows = nil
	for _, c := range p.Processors {
		rows = append(rows, []string{c.Key, c.Name, num(c.LoadPercent, " %"), c.Source})
	}
	if p.Load != nil {
		rows = append(rows, []string{"load", "load average 1/5/15 min", num(p.Load.Load1, "") + " " + num(p.Load.Load5, "") + " " + num(p.Load.Load15, ""), "UCD-SNMP-MIB"})
	}
	if err := section("CPU", []column{{title: "KEY", max: 32}, {title: "NAME", max: probeDescrWidth}, {title: "LOAD", right: true}, {title: "SOURCE"}}, rows); err != nil {
		return err
	}
	rows = nil
	for _, m := range p.Memory {
		rows = append(rows, []string{m.Key, m.Name, bytesText(m.UsedBytes), bytesText(m.TotalBytes), m.Source})
	}
	if err := section("Memory", []column{{title: "KEY", max: 32}, {title: "NAME", max: probeDescrWidth}, {title: "USED", right: true}, {title: "TOTAL", right: true}, {title: "SOURCE"}}, rows); err != nil {
		return err
	}
	rows = nil
	for _, n := range p.Neighbors {
		rows = append(rows, []string{n.LocalPort, n.Protocol, n.SysName, n.PortID, n.MgmtAddr, n.Platform})
	}
	return section("Neighbours (LLDP, CDP)", []column{{title: "LOCAL PORT", max: probeNameWidth}, {title: "PROTO"}, {title: "REMOTE", max: probeDescrWidth},
		{title: "REMOTE PORT", max: probeNameWidth}, {title: "ADDRESS"}, {title: "PLATFORM", max: probeDescrWidth}}, rows)
}

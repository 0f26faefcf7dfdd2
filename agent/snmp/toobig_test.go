package snmp

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
)

// tooBigFront sits between the poller and the simulated device and answers
// tooBig to every GetBulk asking for more than maxReps repetitions, as
// devices with a small buffer do (instead of truncating). Everything else
// goes to the device unchanged.
func tooBigFront(t *testing.T, dev *net.UDPAddr, maxReps uint32) (*net.UDPAddr, *atomic.Int64) {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close(); back.Close() })
	var refused atomic.Int64
	codec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "sim-community"}
	go func() {
		buf, resp := make([]byte, 65536), make([]byte, 65536)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req, err := codec.SnmpDecodePacket(append([]byte(nil), buf[:n]...))
			if err == nil && req.PDUType == gosnmp.GetBulkRequest && req.MaxRepetitions > maxReps {
				refused.Add(1)
				vars := make([]gosnmp.SnmpPDU, len(req.Variables))
				for i, v := range req.Variables {
					vars[i] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Null}
				}
				out := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: req.Community, PDUType: gosnmp.GetResponse,
					RequestID: req.RequestID, Error: gosnmp.TooBig, Variables: vars}
				if b, err := out.MarshalMsg(); err == nil {
					_, _ = front.WriteToUDP(b, from)
				}
				continue
			}
			_, _ = back.Write(buf[:n])
			_ = back.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, err := back.Read(resp)
			if err == nil {
				_, _ = front.WriteToUDP(resp[:k], from)
			}
		}
	}()
	return front.LocalAddr().(*net.UDPAddr), &refused
}

func TestTooBigHalvesMaxRepetitionsAndRemembers(t *testing.T) {
	b := startSim(t, snmpsim.Config{Interfaces: snmpsim.GenerateInterfaces(60, 4), MaxMsgSize: 65507})
	front, refused := tooBigFront(t, b.addr, 4)
	tg := b.target(t, func(tc *config.SNMPTarget) { tc.Port = front.Port; tc.MaxRepetitions = 25 })
	rep := pollOnce(t, tg)
	checkAgainstTruth(t, b, rep, never)
	if got := tg.MaxRepetitions(); got != 3 {
		t.Fatalf("max-repetitions after tooBig = %d, want 25 -> 12 -> 6 -> 3", got)
	}
	first := refused.Load()
	if first != 3 {
		t.Errorf("%d tooBig answers during the first poll, want 3", first)
	}
	b.clock.Advance(time.Minute)
	checkAgainstTruth(t, b, pollOnce(t, tg), never)
	if refused.Load() != first {
		t.Errorf("the halved max-repetitions was not remembered: %d more tooBig", refused.Load()-first)
	}
}

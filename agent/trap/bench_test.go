package trap

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/outpost-nms/outpost/agent/batch"
	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/spool"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// benchStream is the stream both receivers get: v2c linkDown traps with
// the usual IF-MIB varbinds and a text, numbered by request ID.
func benchStream(tb testing.TB, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = v2cPacket(tb, gosnmp.SNMPv2Trap, uint32(i+1),
			gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.1.3", Type: gosnmp.Integer, Value: 3},
			gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.7.3", Type: gosnmp.Integer, Value: 1},
			gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.8.3", Type: gosnmp.Integer, Value: 2},
			gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.2.3", Type: gosnmp.OctetString, Value: []byte("GigabitEthernet0/3")},
			gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.99.1", Type: gosnmp.OctetString, Value: []byte("bench")})
	}
	return out
}

// blast sends the stream to addr as fast as one socket can, in a paced
// loop that never lets the sender run more than window packets ahead of
// what the receiver reports processed (so the measure is the receiver's
// processing rate, not how much the kernel drops).
func blast(tb testing.TB, addr string, stream [][]byte, processed func() int, window int) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	done := 0
	for i, p := range stream {
		// Look at the receiver's progress every 32 packets only: the
		// look costs the sender time (a file read for snmptrapd).
		if i%32 == 0 {
			// Wait while more than window packets are unprocessed, unless
			// the receiver stopped moving (it dropped them at its socket).
			stuck := time.Now()
			for done = processed(); i-done > window && time.Since(stuck) < 20*time.Millisecond; {
				time.Sleep(50 * time.Microsecond)
				if p := processed(); p != done {
					done, stuck = p, time.Now()
				}
			}
		}
		if _, err := c.Write(p); err != nil {
			tb.Fatal(err)
		}
	}
}

// until polls processed until it reaches n or stops moving for a second;
// it returns the count and when it last moved.
func until(n int, processed func() int) (int, time.Time) {
	last, at := processed(), time.Now()
	for last < n {
		time.Sleep(2 * time.Millisecond)
		if p := processed(); p != last {
			last, at = p, time.Now()
		} else if time.Since(at) > time.Second {
			break
		}
	}
	return last, at
}

// BenchmarkTrapsVsSnmptrapd measures traps per second received, decoded,
// attributed and written to the spool by the agent's receiver (the real
// batcher and spool in a temporary directory), and, in the same run,
// net-snmp's snmptrapd (-f -Lf FILE) receiving the same stream from the
// same sender. b.N is the number of traps in the stream. Reported: both
// rates, their ratio, and the receiver's peak heap.
//
//	CI=true go test -run XXX -bench TrapsVsSnmptrapd -benchtime 50000x ./agent/trap/
func BenchmarkTrapsVsSnmptrapd(b *testing.B) {
	snmptrapd := testbed.RequireTool(b, "snmptrapd")
	n := max(b.N, 1000)
	stream := benchStream(b, n)
	window := 200 // under what snmptrapd's default socket buffer holds: neither receiver drops

	// The agent's receiver.
	dir := b.TempDir()
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "spool"), FsyncInterval: time.Second, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	bt, err := batch.New(sp, batch.Options{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	targets, _ := NewTargets(context.Background(), []config.SNMPTarget{{Name: "sw1", Address: "127.0.0.1"}})
	l, err := Listen("127.0.0.1:0", Options{Communities: []string{"public"}, EngineID: []byte("\x80\x00\x1f\x88\x04bench"),
		Targets: targets, Sink: bt, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stored := func() int { return int(l.Stats().Stored) }
	var peakHeap uint64
	stopHeap := make(chan struct{})
	heapDone := make(chan struct{})
	go func() {
		defer close(heapDone)
		var ms runtime.MemStats
		for {
			select {
			case <-stopHeap:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	blast(b, l.Addr().String(), stream, stored, window)
	oursN, oursEnd := until(n, stored)
	b.StopTimer()
	close(stopHeap)
	<-heapDone
	cancel()
	<-done
	oursRate := float64(oursN) / oursEnd.Sub(start).Seconds()

	// snmptrapd, same stream, same sender.
	port := testbed.FreeUDPPort(b)
	conf := filepath.Join(dir, "snmptrapd.conf")
	logFile := filepath.Join(dir, "snmptrapd.log")
	if err := os.WriteFile(conf, []byte("authCommunity log public\ndoNotFork yes\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(snmptrapd, "-f", "-C", "-c", conf, "-Lf", logFile, "-n", "--persistentDir="+filepath.Join(dir, "persist"),
		"udp:127.0.0.1:"+strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent", "HOME="+dir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var seen int
	var off int64
	var logf *os.File
	defer func() {
		if logf != nil {
			logf.Close()
		}
	}()
	counted := func() int {
		if logf == nil {
			f, err := os.Open(logFile)
			if err != nil {
				return seen
			}
			logf = f
		}
		buf, _ := io.ReadAll(io.NewSectionReader(logf, off, 1<<30))
		// Count complete trap lines only (each ends with the "bench" varbind and a newline).
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			seen += bytes.Count(buf[:i+1], []byte(`STRING: "bench"`))
			off += int64(i + 1)
		}
		return seen
	}
	// Ready when it logs its start line.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if fi, err := os.Stat(logFile); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("snmptrapd did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	counted()
	start = time.Now()
	blast(b, "127.0.0.1:"+strconv.Itoa(port), stream, counted, window)
	theirN, theirEnd := until(n, counted)
	theirRate := float64(theirN) / theirEnd.Sub(start).Seconds()

	b.ReportMetric(oursRate, "agent_traps/s")
	b.ReportMetric(theirRate, "snmptrapd_traps/s")
	b.ReportMetric(oursRate/theirRate, "x_snmptrapd")
	b.ReportMetric(float64(peakHeap)/(1<<20), "agent_peak_heap_MiB")
	b.ReportMetric(0, "ns/op")
	if oursN < n || theirN < n {
		b.Logf("processed: agent %d, snmptrapd %d of %d sent", oursN, theirN, n)
	}
}

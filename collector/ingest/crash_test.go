package ingest

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

const crashBase = int64(1_800_000_000)

// TestKillDuringIngest runs the whole collector side (journal, applier,
// archive cache with frequent checkpoints, QUIC listener) in a child
// process, kills it with SIGKILL in the middle of a stream of batches
// several times, and checks after a clean final shutdown that the archive
// holds every acknowledged sample, each once, and that no restart ever
// acknowledged less than was acknowledged before.
func TestKillDuringIngest(t *testing.T) {
	if dir := os.Getenv("INGEST_CRASH_CHILD"); dir != "" {
		crashCollector(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns collector processes")
	}
	dir := t.TempDir()
	// Register the agent and issue its certificate with the same state the child opens.
	setup := openStack(t, dir, stackOptions{})
	cert := setup.addAgent(t, "edge", "r*")
	clientConf := setup.clientTLS(&cert)
	setup.cancel()
	setup.db.Close()
	setup.j.Close()

	const total = 120
	var acked uint64 // highest seq the collector acknowledged, as the agent saw it
	killAfter := []int{15, 25, 30}
	for round := 0; ; round++ {
		child, addr := startCrashChild(t, dir)
		a, err := dialQUIC(t, addr, clientConf)
		if err != nil {
			t.Fatal(err)
		}
		ack, err := a.hello("edge", epoch1, acked+1, total)
		if err != nil {
			t.Fatalf("round %d hello: %v", round, err)
		}
		if ack.AckedSeq < acked {
			t.Fatalf("round %d: collector acks %d after restart, but %d was acknowledged before: acked data lost", round, ack.AckedSeq, acked)
		}
		acked = ack.AckedSeq
		if err := a.send(testSeries("r1")); err != nil {
			t.Fatal(err)
		}
		// Resend a few acked batches: they must be deduplicated.
		from := acked + 1
		if from > 3 {
			from -= 3
		}
		sent := 0
		killed := false
		// Pipeline bursts of 8 batches, as the real uplink does with its window.
		for seq := from; seq <= total && !killed; {
			last := min(seq+7, total)
			for s := seq; s <= last; s++ {
				if err := a.send(testBatch(s, crashBase+int64(s)*10, s == 1, "r1", 10)); err != nil {
					t.Fatal(err)
				}
			}
			kill := round < len(killAfter) && sent >= killAfter[round]
			for acked < last {
				m, err := a.recv()
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				ack, ok := m.(*wire.Ack)
				if !ok {
					t.Fatalf("round %d: got %s", round, m.Type())
				}
				if ack.Seq < acked {
					t.Fatalf("ack went backwards: %d after %d", ack.Seq, acked)
				}
				acked = max(acked, ack.Seq)
				if kill {
					// Some of the burst acked, the rest in flight.
					child.Process.Signal(syscall.SIGKILL)
					child.Wait()
					killed = true
					break
				}
			}
			sent += int(last - seq + 1)
			seq = last + 1
		}
		a.close()
		if killed {
			t.Logf("round %d: killed the collector after %d batches, acked %d", round, sent, acked)
			continue
		}
		// Clean stop: SIGTERM flushes the archives and checkpoints.
		child.Process.Signal(syscall.SIGTERM)
		if err := child.Wait(); err != nil {
			t.Fatalf("collector did not stop cleanly: %v", err)
		}
		break
	}
	if acked != total {
		t.Fatalf("acked %d of %d", acked, total)
	}
	// Every poll 1..total is in the archive exactly as sent.
	res, err := rrd.Fetch(filepath.Join(dir, "rrd/r1/host.rrd"), rrd.Average, time.Unix(crashBase+10, 0), time.Unix(crashBase+total*10, 0), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for i, row := range res.Rows {
		ts := res.Start.Unix() + int64(i+1)*int64(res.Step/time.Second)
		seq := (ts - crashBase) / 10
		if seq < 2 || seq > total {
			continue
		}
		want := float64((crashBase+seq*10)%1000) / 1000
		if math.Abs(row[0]-want) > 1e-9 {
			t.Errorf("poll %d (t=%d): archive holds %v, want %v", seq, ts, row[0], want)
		}
		seen++
	}
	if seen != total-1 {
		t.Fatalf("archive rows for polls 2..%d: %d", total, seen)
	}
	// The counters: a constant rate of 1000/s and 10/s means no update missing or doubled.
	res, err = rrd.Fetch(filepath.Join(dir, "rrd/r1/if%3Aeth0.rrd"), rrd.Average, time.Unix(crashBase+10, 0), time.Unix(crashBase+total*10, 0), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range res.Rows {
		ts := res.Start.Unix() + int64(i+1)*int64(res.Step/time.Second)
		seq := (ts - crashBase) / 10
		if seq < 2 || seq > total {
			continue
		}
		if math.Abs(row[0]-1000) > 1e-9 || math.Abs(row[1]-10) > 1e-9 {
			t.Errorf("poll %d: counter rates %v, want [1000 10]", seq, row)
		}
	}
	// The same archive read by rrdtool itself.
	t.Run("rrdtool", func(t *testing.T) {
		tool := testbed.RequireTool(t, "rrdtool")
		out, err := exec.Command(tool, "fetch", filepath.Join(dir, "rrd/r1/host.rrd"), "AVERAGE", "-r", "10",
			"-s", fmt.Sprint(crashBase+10), "-e", fmt.Sprint(crashBase+total*10)).Output()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(out), "\n") {
			tsText, val, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			ts, err1 := strconv.ParseInt(strings.TrimSpace(tsText), 10, 64)
			v, err2 := strconv.ParseFloat(strings.TrimSpace(val), 64)
			seq := (ts - crashBase) / 10
			if err1 != nil || err2 != nil || seq < 2 || seq > total {
				continue
			}
			if want := float64((crashBase+seq*10)%1000) / 1000; math.Abs(v-want) > 1e-9 {
				t.Errorf("rrdtool: poll %d = %v, want %v", seq, v, want)
			}
			n++
		}
		if n != total-1 {
			t.Fatalf("rrdtool fetch gave %d polls, want %d:\n%s", n, total-1, out)
		}
	})
}

func startCrashChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringIngest$", "-test.v")
	cmd.Env = append(os.Environ(), "INGEST_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	addr := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "QUIC-ADDR "); ok {
				addr <- v
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a
	case <-time.After(20 * time.Second):
		t.Fatal("collector child did not start")
	}
	return nil, ""
}

// crashCollector is the child: a collector that runs until SIGTERM (clean
// shutdown) or SIGKILL.
func crashCollector(t *testing.T, dir string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	s := openStack(t, dir, stackOptions{checkpoint: 20 * time.Millisecond})
	fmt.Printf("QUIC-ADDR %s\n", s.quicAddr)
	<-ctx.Done()
	s.shutdown(t)
	if got := counterValue(s.m.Duplicates); got == 0 {
		t.Errorf("no duplicate batches seen in the final round")
	}
	_ = wire.ALPN
}

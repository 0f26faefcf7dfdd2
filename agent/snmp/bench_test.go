package snmp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/poll"
	"github.com/outpost-nms/outpost/agent/sim/snmpsim"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// envServeSim makes the test binary serve the simulated device instead of
// running tests: the benchmark runs the device in its own process, so the
// CPU time measured for the agent (RUSAGE_SELF) and for snmpbulkwalk
// (RUSAGE_CHILDREN) is the client's alone.
const envServeSim = "OUTPOST_BENCH_SERVE_SNMPSIM"

func TestMain(m *testing.M) {
	if spec := os.Getenv(envServeSim); spec != "" {
		serveSimProcess(spec)
		return
	}
	os.Exit(m.Run())
}

// serveSimProcess serves "IFACES:MAXMSG" until stdin closes; it prints the
// bound address on stdout.
func serveSimProcess(spec string) {
	var n, maxMsg int
	if _, err := fmt.Sscanf(spec, "%d:%d", &n, &maxMsg); err != nil {
		fmt.Fprintln(os.Stderr, "bad spec:", err)
		os.Exit(2)
	}
	dev, err := snmpsim.New(snmpsim.Config{Community: "bench", Interfaces: snmpsim.GenerateInterfaces(n, 42), MaxMsgSize: maxMsg,
		Start: time.Now().Add(-time.Hour)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := dev.ListenAndServe(ctx, "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(addr.String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
}

func startSimProcess(b *testing.B, ifaces, maxMsg int) *net.UDPAddr {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envServeSim+"="+strconv.Itoa(ifaces)+":"+strconv.Itoa(maxMsg))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("simulator did not start: %v", err)
	}
	addr, err := net.ResolveUDPAddr("udp", line[:len(line)-1])
	if err != nil {
		b.Fatal(err)
	}
	return addr
}

// countingRelay forwards datagrams between one client and the device and
// counts the requests, to measure snmpbulkwalk's requests per walk.
func countingRelay(b *testing.B, dev *net.UDPAddr) (*net.UDPAddr, *atomic.Int64) {
	b.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, dev)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { front.Close(); back.Close() })
	var n atomic.Int64
	var client atomic.Pointer[net.UDPAddr]
	go func() {
		buf := make([]byte, 65536)
		for {
			k, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			n.Add(1)
			client.Store(from)
			_, _ = back.Write(buf[:k])
		}
	}()
	go func() {
		buf := make([]byte, 65536)
		for {
			k, err := back.Read(buf)
			if err != nil {
				return
			}
			if c := client.Load(); c != nil {
				_, _ = front.WriteToUDP(buf[:k], c)
			}
		}
	}()
	return front.LocalAddr().(*net.UDPAddr), &n
}

func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIFMIBPoll compares a full IF-MIB poll of a simulated device with
// 1,000 interfaces by the agent (steady state: sysUpTime, then every
// counter, status and discontinuity time of every interface) with
// `snmpbulkwalk -v2c -Cr50 -On` of ifTable and ifXTable on the same device,
// at a switch-like 1472-byte and a net-snmp-like 65507-byte message limit.
// Metrics: ms/poll, requests/poll, cpu-ms/10k-if (client CPU per 10,000
// interfaces polled, from getrusage).
func BenchmarkIFMIBPoll(b *testing.B) {
	const ifaces = 1000
	const rounds = 5 // polls per benchmark iteration (make bench runs 1x)
	for _, maxMsg := range []int{1472, 65507} {
		addr := startSimProcess(b, ifaces, maxMsg)
		b.Run(fmt.Sprintf("msg=%d/agent", maxMsg), func(b *testing.B) {
			tg, err := New(config.SNMPTarget{Name: "bench", Address: "127.0.0.1", SNMPSettings: config.SNMPSettings{
				Port: addr.Port, Version: "2c", Community: secret.New("bench"),
				Timeout: configfile.Duration(2 * time.Second), Retries: intp(2),
			}}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer tg.Close()
			sink := poll.SinkFunc(func(poll.Report) {})
			ctx := context.Background()
			if err := tg.Poll(ctx, sink); err != nil { // discovery
				b.Fatal(err)
			}
			if n := len(tg.Device().Interfaces); n != ifaces {
				b.Fatalf("discovered %d interfaces", n)
			}
			b.ResetTimer()
			cpu0, t0, reqs := cpuTime(syscall.RUSAGE_SELF), time.Now(), 0
			for i := 0; i < b.N; i++ {
				for r := 0; r < rounds; r++ {
					if err := tg.Poll(ctx, sink); err != nil {
						b.Fatal(err)
					}
					reqs += tg.Requests()
				}
			}
			polls := float64(b.N * rounds)
			wall, cpu := time.Since(t0), cpuTime(syscall.RUSAGE_SELF)-cpu0
			b.ReportMetric(float64(wall.Microseconds())/1000/polls, "ms/poll")
			b.ReportMetric(float64(reqs)/polls, "requests/poll")
			b.ReportMetric(float64(cpu.Microseconds())/1000/(polls*ifaces)*10000, "cpu-ms/10k-if")
		})
		b.Run(fmt.Sprintf("msg=%d/snmpbulkwalk", maxMsg), func(b *testing.B) {
			walk := testbed.RequireTool(b, "snmpbulkwalk")
			relay, count := countingRelay(b, addr)
			run := func(target string) {
				for _, root := range []string{"1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"} {
					cmd := exec.Command(walk, "-v2c", "-c", "bench", "-Cr50", "-On", "-t", "2", "-r", "2", target, root)
					cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
					if err := cmd.Run(); err != nil {
						b.Fatalf("snmpbulkwalk %s: %v", root, err)
					}
				}
			}
			run(relay.String()) // once through the relay: requests per walk
			reqs := count.Load()
			b.ResetTimer()
			cpu0, t0 := cpuTime(syscall.RUSAGE_CHILDREN), time.Now()
			for i := 0; i < b.N; i++ {
				for r := 0; r < rounds; r++ {
					run(addr.String())
				}
			}
			polls := float64(b.N * rounds)
			wall, cpu := time.Since(t0), cpuTime(syscall.RUSAGE_CHILDREN)-cpu0
			b.ReportMetric(float64(wall.Microseconds())/1000/polls, "ms/poll")
			b.ReportMetric(float64(reqs), "requests/poll")
			b.ReportMetric(float64(cpu.Microseconds())/1000/(polls*ifaces)*10000, "cpu-ms/10k-if")
		})
	}
}

// BenchmarkTargetsMemory measures the heap the agent keeps for 1,000 SNMP
// targets after each has polled once (discovery, 24 interfaces each):
// metric heap-MB/1000-targets (live heap after GC, sockets closed between
// polls).
func BenchmarkTargetsMemory(b *testing.B) {
	const targets = 1000
	addr := startSimProcess(b, 24, 65507)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		all := make([]*Target, targets)
		sink := poll.SinkFunc(func(poll.Report) {})
		for k := range all {
			tg, err := New(config.SNMPTarget{Name: "dev" + strconv.Itoa(k), Address: "127.0.0.1", SNMPSettings: config.SNMPSettings{
				Port: addr.Port, Version: "2c", Community: secret.New("bench"), Retries: intp(2),
			}}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := tg.Poll(context.Background(), sink); err != nil {
				b.Fatal(err)
			}
			all[k] = tg
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB/1000-targets")
		runtime.KeepAlive(all)
	}
}

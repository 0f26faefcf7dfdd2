package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/quic-go/quic-go"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

// The capacity benchmark's shape: an interface is the 12 counters the
// agent polls (agent/snmp counters.go: 8 64-bit, 4 32-bit), 48 to a host,
// 2,000 to an agent.
const (
	capCounters      = 12
	capIfPerHost     = 48
	capIfPerAgent    = 2000
	capWarmupMinutes = 2
	capMinutes       = 10
)

// BenchmarkCapacity measures one collector end to end, as a separate
// process: agents stream 60 s polls over QUIC (mutual TLS), the collector
// journals them with fsync, the applier writes the archives in the
// production layout (rrd.DefaultLayout, one file per interface) through
// the write-back cache, and the forwarder sends every sample to a
// remote-write store (a counting receiver in the benchmark process). Time
// is compressed: each agent sends the next minute's poll as soon as its
// window of 8 unacknowledged batches allows, so the collector runs flat
// out; the figure is how many simulated interface-minutes it completes
// per wall second, which × 60 is the number of interfaces it sustains at
// 60 s polling.
//
// Warm-up (the first 2 minutes, which create the archives and the
// inventory) is excluded: CPU (utime+stime of the collector process) and
// disk (its write_bytes, journal + archives + inventory) are counted from
// after the warm-up is acknowledged and forwarded to after a clean stop
// (whose final flush writes what the cache still holds), and the wall
// time to the last poll acknowledged and forwarded. rrd.flush_interval is
// 1s: a flush every few simulated minutes, more often than the
// production 5m (pessimistic for archives).
//
// The benchmark process (the agents and the store) shares the machine's
// cores with the collector, so the throughput is a lower bound; the CPU
// per interface-minute is the collector's own. Sub-benchmarks: archives
// and forward-only (rrd.enabled: false). OUTPOST_CAPACITY_INTERFACES sets
// the interfaces (default 4000: 9.4 GB of archives).
func BenchmarkCapacity(b *testing.B) {
	n := 4000
	if v := os.Getenv("OUTPOST_CAPACITY_INTERFACES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < capIfPerHost {
			b.Fatalf("OUTPOST_CAPACITY_INTERFACES=%q", v)
		}
	}
	for _, mode := range []struct {
		name string
		rrd  bool
	}{{"archives", true}, {"forward-only", false}} {
		b.Run(fmt.Sprintf("%s/interfaces=%d", mode.name, n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runCapacity(b, n, mode.rrd)
			}
		})
	}
}

// capStore is a remote-write receiver that counts the samples it accepts.
type capStore struct {
	samples atomic.Int64
	bad     atomic.Int64
}

func (s *capStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := s2.Decode(nil, body)
	if err != nil {
		s.bad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, err := countSamples(raw)
	if err != nil {
		s.bad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.samples.Add(int64(n))
	w.WriteHeader(http.StatusNoContent)
}

// countSamples counts the samples of a remote-write 1.0 WriteRequest
// (timeseries = 1, samples = 2 in each).
func countSamples(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		b = b[l:]
		if num != 1 || typ != protowire.BytesType {
			l = protowire.ConsumeFieldValue(num, typ, b)
			if l < 0 {
				return 0, protowire.ParseError(l)
			}
			b = b[l:]
			continue
		}
		ts, l := protowire.ConsumeBytes(b)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		b = b[l:]
		for len(ts) > 0 {
			num, typ, l := protowire.ConsumeTag(ts)
			if l < 0 {
				return 0, protowire.ParseError(l)
			}
			ts = ts[l:]
			if num == 2 {
				n++
			}
			l = protowire.ConsumeFieldValue(num, typ, ts)
			if l < 0 {
				return 0, protowire.ParseError(l)
			}
			ts = ts[l:]
		}
	}
	return n, nil
}

// procUsage is a process's CPU time and bytes written to storage.
type procUsage struct {
	cpu   time.Duration
	write int64
}

// readProcUsage reads /proc/PID/stat (utime, stime) and /proc/PID/io
// (write_bytes) of a running process.
func readProcUsage(pid int) (procUsage, error) {
	var u procUsage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14, clock ticks (100/s on Linux)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = time.Duration(ut+st) * 10 * time.Millisecond
	io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(io), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			u.write, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return u, nil
}

// capAgent is one simulated agent's connection.
type capAgent struct {
	name  string
	hosts []string
	tls   *tls.Config
	conn  *quic.Conn
	st    *quic.Stream
	codec *wire.Codec
}

func runCapacity(b *testing.B, n int, archives bool) {
	b.StopTimer()
	dir := b.TempDir()
	store := &capStore{}
	srv := httptest.NewServer(store)
	defer srv.Close()
	cfgPath := filepath.Join(dir, "collector.yaml")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`name: capacity
data_dir: %s
listen: {quic: "127.0.0.1:0", tcp: "off"}
web: {listen: "127.0.0.1:0"}
metrics: {listen: "%s"}
rrd: {enabled: %v, flush_interval: 1s}
log: {level: warn}
forward:
  remote_write:
    - name: store
      url: %s/api/v1/write
`, dir, metricsAddr, archives, srv.URL)), 0o600)
	if _, _, err := runCollectorB(b, "ca", "init", "-c", cfgPath); err != nil {
		b.Fatal(err)
	}
	var agents []*capAgent
	for i := 0; i*capIfPerAgent < n; i++ {
		name := fmt.Sprintf("a%d", i)
		bundle := filepath.Join(dir, "agent-"+name)
		if _, _, err := runCollectorB(b, "agent", "add", name, "--hosts", name+"-*", "--out", bundle, "-c", cfgPath); err != nil {
			b.Fatal(err)
		}
		cert, err := tls.LoadX509KeyPair(filepath.Join(bundle, "agent.pem"), filepath.Join(bundle, "agent.key"))
		if err != nil {
			b.Fatal(err)
		}
		caPEM, _ := os.ReadFile(filepath.Join(bundle, "ca.pem"))
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		a := &capAgent{name: name, tls: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "localhost",
			Certificates: []tls.Certificate{cert}, NextProtos: []string{wire.ALPN}}}
		a.codec, _ = wire.NewCodec()
		ifs := min(capIfPerAgent, n-i*capIfPerAgent)
		for h := 0; h*capIfPerHost < ifs; h++ {
			a.hosts = append(a.hosts, fmt.Sprintf("%s-h%d", name, h))
		}
		agents = append(agents, a)
	}
	n = 0 // whole hosts: the interfaces actually polled
	for _, a := range agents {
		n += len(a.hosts) * capIfPerHost
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), testbed.CrashChildEnv(cfgPath))
	stderr, _ := child.StderrPipe()
	child.Stdout = io.Discard
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	var logs syncBuffer
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`transport=quic addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteLine(sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	// The QUIC address is logged at info; the child logs at warn, so
	// find it from the process's sockets instead when it is not logged.
	addr := capWaitAddr(b, child.Process.Pid, addrc, &logs)

	total := capWarmupMinutes + capMinutes
	base := time.Now().Add(-time.Duration(total+5)*time.Minute).Unix() / 60 * 60
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	for _, a := range agents {
		if err := a.connect(ctx, addr, total); err != nil {
			b.Fatalf("agent %s: %v\n%s", a.name, err, logs.String())
		}
	}
	samplesPerMinute := int64(n) * capCounters
	// done waits until the store has every sample of the first minutes
	// and, with archives, the applier has applied every update.
	done := func(minutes int) {
		deadline := time.Now().Add(20 * time.Minute)
		for store.samples.Load() < samplesPerMinute*int64(minutes) ||
			(archives && capMetric(b, metricsAddr, "outpost_collector_rrd_updates_total") < float64(n*minutes)) {
			if time.Now().After(deadline) {
				b.Fatalf("the store has %d of %d samples\n%s", store.samples.Load(), samplesPerMinute*int64(minutes), logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	run := func(from, to int) {
		var wg sync.WaitGroup
		errs := make(chan error, len(agents))
		for _, a := range agents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := a.stream(base, from, to); err != nil {
					errs <- fmt.Errorf("agent %s: %w", a.name, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatalf("%v\n%s", err, logs.String())
		}
	}
	run(1, capWarmupMinutes)
	done(capWarmupMinutes)
	before, err := readProcUsage(child.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	b.StartTimer()
	run(capWarmupMinutes+1, total)
	done(total)
	b.StopTimer()
	wall := time.Since(start)
	for _, a := range agents {
		a.conn.CloseWithError(0, "")
	}
	child.Process.Signal(syscall.SIGTERM)
	if err := child.Wait(); err != nil {
		b.Fatalf("collector exit: %v\n%s", err, logs.String())
	}
	ru, ok := child.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage")
	}
	after := procUsage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), write: ru.Oublock * 512}
	if got := store.samples.Load(); got != samplesPerMinute*int64(total) || store.bad.Load() > 0 {
		b.Fatalf("the store got %d samples (%d bad requests), want %d", got, store.bad.Load(), samplesPerMinute*int64(total))
	}
	rrdFiles, rrdBytes := capArchives(b, dir)
	if archives != (rrdFiles == n) || (!archives && rrdFiles != 0) {
		b.Fatalf("%d archive files for %d interfaces (archives %v)", rrdFiles, n, archives)
	}
	ifMinutes := float64(n) * capMinutes
	cpu := (after.cpu - before.cpu).Seconds()
	disk := float64(after.write - before.write)
	perSec := ifMinutes / wall.Seconds()
	b.ReportMetric(perSec*60, "interfaces@60s")
	b.ReportMetric(cpu/ifMinutes*1e6, "cpu-µs/interface-minute")
	b.ReportMetric(2*60/(cpu/ifMinutes), "interfaces@60s/2cores-by-cpu")
	b.ReportMetric(disk/ifMinutes, "disk-B/interface-minute")
	b.ReportMetric(float64(rrdBytes)/float64(n), "archive-B/interface")
	b.ReportMetric(wall.Seconds()/capMinutes, "wall-s/sim-minute")
	b.ReportMetric(float64(ru.Maxrss)/1024, "collector-maxrss-MiB")
	b.ReportMetric(float64(n), "interfaces")
	b.ReportMetric(0, "ns/op")
}

// capMetric reads one unlabelled metric of the collector's metrics listener.
func capMetric(b *testing.B, addr, name string) float64 {
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	b.Fatalf("no %s at %s", name, addr)
	return 0
}

// capWaitAddr finds the collector's QUIC address: from its log when
// logged, else from the UDP socket it listens on (/proc/net/udp by inode).
func capWaitAddr(b *testing.B, pid int, addrc chan string, logs *syncBuffer) string {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case a := <-addrc:
			return a
		case <-time.After(50 * time.Millisecond):
		}
		if a := udpListenAddr(pid); a != "" {
			return a
		}
	}
	b.Fatalf("collector did not start:\n%s", logs.String())
	return ""
}

// udpListenAddr returns the loopback UDP address process pid has a socket
// bound to ("" when none yet).
func udpListenAddr(pid int) string {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	inodes := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || !inodes[f[9]] {
			continue
		}
		hostPort := strings.Split(f[1], ":")
		if hostPort[0] != "0100007F" {
			continue
		}
		port, _ := strconv.ParseInt(hostPort[1], 16, 32)
		return fmt.Sprintf("127.0.0.1:%d", port)
	}
	return ""
}

// capArchives counts the .rrd files under dir and their bytes.
func capArchives(b *testing.B, dir string) (files int, bytes int64) {
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".rrd") {
			files++
			bytes += fi.Size()
		}
		return nil
	})
	return files, bytes
}

func runCollectorB(b *testing.B, args ...string) (string, string, error) {
	b.Helper()
	var out, errb strings.Builder
	root := NewRoot(&out, &errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

// connect dials the collector, says Hello and defines the series: host
// h's interface i's counter c is series (h*48+i)*12+c.
func (a *capAgent) connect(ctx context.Context, addr string, last int) error {
	var err error
	if a.conn, err = quic.DialAddr(ctx, addr, a.tls, nil); err != nil {
		return err
	}
	if a.st, err = a.conn.OpenStreamSync(ctx); err != nil {
		return err
	}
	if err := a.send(&wire.Hello{Agent: a.name, Proto: wire.ProtocolVersion, Epoch: 1, FirstSeq: 1, LastSeq: uint64(last)}); err != nil {
		return err
	}
	if m, err := a.recv(); err != nil {
		return err
	} else if _, ok := m.(*wire.HelloAck); !ok {
		return fmt.Errorf("hello answered %T", m)
	}
	var defs []wire.SeriesDef
	for _, h := range a.hosts {
		for i := 0; i < capIfPerHost; i++ {
			for c, name := range capDSNames {
				defs = append(defs, wire.SeriesDef{Host: h, Attr: fmt.Sprintf("if:%d", i+1), DS: name, Kind: capKind(c)})
			}
		}
	}
	for first := 0; first < len(defs); first += 8192 {
		if err := a.send(&wire.Series{First: uint32(first), Defs: defs[first:min(first+8192, len(defs))]}); err != nil {
			return err
		}
	}
	return nil
}

var capDSNames = [capCounters]string{"in_octets", "out_octets", "in_ucast", "out_ucast", "in_mcast", "out_mcast",
	"in_bcast", "out_bcast", "in_errors", "out_errors", "in_discards", "out_discards"}

func capKind(c int) sample.Kind {
	if c < 8 {
		return sample.Counter64
	}
	return sample.Counter32
}

// batch is minute m's poll of every interface (with the inventory in minute 1).
func (a *capAgent) batch(base int64, m int) *wire.Batch {
	ts := base + int64(m)*60
	nSeries := len(a.hosts) * capIfPerHost * capCounters
	ints := make([]uint64, 0, 2*nSeries)
	for id := 0; id < nSeries; id++ {
		c := id % capCounters
		rate := uint64(1000 + id%977)
		if c >= 8 {
			rate = uint64(id % 3)
		}
		ints = append(ints, uint64(id), uint64(1e9)+uint64(m)*60*rate)
	}
	bt := &wire.Batch{Seq: uint64(m), Groups: []wire.Group{{Time: ts * 1000, Ints: ints}}}
	if m == 1 {
		nan := math.NaN()
		var ds []wire.DSDef
		for c, name := range capDSNames {
			ds = append(ds, wire.DSDef{Name: name, Kind: capKind(c), Min: 0, Max: nan})
		}
		for _, h := range a.hosts {
			host := wire.Host{Name: h, Address: "192.0.2.1", SysName: h, Complete: true}
			for i := 1; i <= capIfPerHost; i++ {
				name := fmt.Sprintf("ge-0/0/%d", i)
				host.Attrs = append(host.Attrs, wire.Attr{Key: fmt.Sprintf("if:%d", i), Kind: wire.KindInterface, Name: name, Interval: 60,
					Props: map[string]string{"ifIndex": strconv.Itoa(i), "ifName": name, "ifDescr": "GigabitEthernet " + name, "ifAlias": "link " + h},
					DS:    ds})
			}
			bt.Hosts = append(bt.Hosts, host)
		}
	}
	return bt
}

// stream sends minutes from..to, at most 8 unacknowledged, and waits for
// the last ack.
func (a *capAgent) stream(base int64, from, to int) error {
	const window = 8
	acks := make(chan error, 1)
	credit := make(chan struct{}, window)
	go func() {
		acked := uint64(from - 1)
		for {
			m, err := a.recv()
			if err != nil {
				acks <- err
				return
			}
			switch m := m.(type) {
			case *wire.Ack: // one ack may cover several batches
				for ; acked < m.Seq; acked++ {
					<-credit
				}
				if m.Seq == uint64(to) {
					acks <- nil
					return
				}
			case *wire.Reject:
				acks <- fmt.Errorf("batch %d rejected: %s %s", m.Seq, m.Kind, m.Reason)
				return
			case *wire.Error:
				acks <- m
				return
			}
		}
	}()
	for m := from; m <= to; m++ {
		select {
		case credit <- struct{}{}:
		case err := <-acks:
			return fmt.Errorf("before minute %d: %v", m, err)
		}
		if err := a.send(a.batch(base, m)); err != nil {
			return err
		}
	}
	return <-acks
}

func (a *capAgent) send(m wire.Message) error {
	buf, err := a.codec.AppendFrame(nil, m)
	if err != nil {
		return err
	}
	_, err = a.st.Write(buf)
	return err
}

func (a *capAgent) recv() (wire.Message, error) {
	typ, body, err := wire.ReadFrame(a.st, wire.HardMaxFrame, nil)
	if err != nil {
		return nil, err
	}
	return a.codec.Decode(typ, body)
}

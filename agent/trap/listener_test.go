package trap

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// memSink stores traps in memory; fail makes ReportTraps fail.
type memSink struct {
	mu    sync.Mutex
	traps []wire.Trap
	calls int
	fail  error
	// gate, when set, is waited on before each store (to hold informs).
	gate chan struct{}
}

func (s *memSink) ReportTraps(ts []wire.Trap) error {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		return s.fail
	}
	s.traps = append(s.traps, ts...)
	return nil
}

func (s *memSink) got() []wire.Trap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wire.Trap(nil), s.traps...)
}

func (s *memSink) wait(t *testing.T, n int) []wire.Trap {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := s.got(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d traps stored, want %d", len(s.got()), n)
	return nil
}

var testUser = config.SNMPv3{User: "trapuser", Level: "authPriv", AuthProtocol: "SHA256", AuthPassphrase: secret.New("authpass123"),
	PrivProtocol: "AES", PrivPassphrase: secret.New("privpass123")}

func startListener(t *testing.T, opt Options) (*Listener, string) {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quiet()
	}
	if opt.Communities == nil {
		opt.Communities = []string{"public"}
	}
	if opt.Users == nil {
		opt.Users = []config.SNMPv3{testUser}
	}
	if opt.EngineID == nil {
		opt.EngineID = []byte("\x80\x00\x1f\x88\x04outpost:test")
	}
	l, err := Listen("127.0.0.1:0", opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return l, l.Addr().String()
}

// run runs a net-snmp command and returns its combined output.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	testbed.RequireTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cmd.Environ(), "MIBS=", "MIBDIRS=/nonexistent", "SNMPCONFPATH=/nonexistent", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func netsnmp(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := run(t, name, args...); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

const v3args = "-v3 -l authPriv -u trapuser -a SHA-256 -A authpass123 -x AES -X privpass123"

// TestNetSNMPSenders sends every kind of notification with net-snmp's
// snmptrap and snmpinform and checks what is stored.
func TestNetSNMPSenders(t *testing.T) {
	targets, _ := NewTargets(context.Background(), []config.SNMPTarget{
		{Name: "loop", Address: "127.0.0.1"},
		{Name: "natted", Address: "192.0.2.99", TrapSources: []string{"198.51.100.7"}},
	})
	sink := &memSink{}
	l, addr := startListener(t, Options{Sink: sink, Targets: targets})
	linkDown := []string{"1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.3", "i", "3", "1.3.6.1.2.1.2.2.1.7.3", "i", "1",
		"1.3.6.1.2.1.2.2.1.8.3", "i", "2", "1.3.6.1.2.1.2.2.1.2.3", "s", "eth\xff0", "1.3.6.1.2.1.2.2.1.6.3", "x", "001a2b3c4d5e"}
	cases := []struct {
		name  string
		cmd   string
		args  []string
		check func(t *testing.T, tr wire.Trap)
	}{
		{"v1 coldStart", "snmptrap", append(strings.Fields("-v1 -c public "+addr+" 1.3.6.1.4.1.8072.3.2.10 127.0.0.1 0 0 4242"), "1.3.6.1.2.1.1.5.0", "s", "r1"),
			func(t *testing.T, tr wire.Trap) {
				if tr.Version != 1 || tr.OID != "1.3.6.1.6.3.1.1.5.1" || tr.Enterprise != "1.3.6.1.4.1.8072.3.2.10" || tr.Uptime != 4242 ||
					tr.SourceFrom != wire.SourceAgentAddr || tr.Host != "loop" || len(tr.VarBinds) != 1 || tr.VarBinds[0].Value != "r1" {
					t.Errorf("%+v", tr)
				}
			}},
		{"v1 enterprise specific", "snmptrap", strings.Fields("-v1 -c public " + addr + " 1.3.6.1.4.1.9.9.41 198.51.100.7 6 17 ''"),
			func(t *testing.T, tr wire.Trap) {
				if tr.OID != "1.3.6.1.4.1.9.9.41.0.17" || tr.Source != "198.51.100.7" || tr.Host != "natted" || tr.Generic != 6 || tr.Specific != 17 {
					t.Errorf("%+v", tr)
				}
			}},
		{"v2c linkDown", "snmptrap", append(strings.Fields("-v2c -c public "+addr+" 777"), linkDown...),
			func(t *testing.T, tr wire.Trap) {
				if tr.Version != 2 || tr.OID != "1.3.6.1.6.3.1.1.5.3" || tr.Uptime != 777 || tr.Host != "loop" || tr.SourceFrom != wire.SourceUDP || len(tr.VarBinds) != 5 {
					t.Fatalf("%+v", tr)
				}
				want := []wire.VarBind{{OID: "1.3.6.1.2.1.2.2.1.1.3", Type: 2, Value: "3"}, {OID: "1.3.6.1.2.1.2.2.1.7.3", Type: 2, Value: "1"},
					{OID: "1.3.6.1.2.1.2.2.1.8.3", Type: 2, Value: "2"}, {OID: "1.3.6.1.2.1.2.2.1.2.3", Type: 4, Value: `eth\xff0`, Hex: false},
					{OID: "1.3.6.1.2.1.2.2.1.6.3", Type: 4, Value: "00:1a:2b:3c:4d:5e", Hex: true}}
				for i := range want {
					if tr.VarBinds[i] != want[i] {
						t.Errorf("varbind %d = %+v, want %+v", i, tr.VarBinds[i], want[i])
					}
				}
			}},
		{"v2c behind NAT", "snmptrap", strings.Fields("-v2c -c public " + addr + " '' 1.3.6.1.6.3.1.1.5.1 1.3.6.1.6.3.18.1.3.0 a 198.51.100.7"),
			func(t *testing.T, tr wire.Trap) {
				if tr.Source != "198.51.100.7" || tr.SourceFrom != wire.SourceTrapAddress || tr.Host != "natted" || !strings.HasPrefix(tr.From, "127.0.0.1:") {
					t.Errorf("%+v", tr)
				}
			}},
		{"v2c inform", "snmpinform", strings.Fields("-v2c -c public -r 0 -t 5 " + addr + " '' 1.3.6.1.6.3.1.1.5.2"),
			func(t *testing.T, tr wire.Trap) {
				if !tr.Inform || tr.Version != 2 || tr.OID != "1.3.6.1.6.3.1.1.5.2" {
					t.Errorf("%+v", tr)
				}
			}},
		{"v3 authPriv trap", "snmptrap", append(strings.Fields(v3args+" -e 0x8000000001020304 "+addr+" '' 1.3.6.1.6.3.1.1.5.4"), "1.3.6.1.2.1.2.2.1.1.2", "i", "2"),
			func(t *testing.T, tr wire.Trap) {
				if tr.Version != 3 || tr.User != "trapuser" || tr.OID != "1.3.6.1.6.3.1.1.5.4" || tr.Inform || len(tr.VarBinds) != 1 {
					t.Errorf("%+v", tr)
				}
			}},
		{"v3 authPriv inform", "snmpinform", strings.Fields(v3args + " -r 0 -t 5 " + addr + " '' 1.3.6.1.6.3.1.1.5.5"),
			func(t *testing.T, tr wire.Trap) {
				if tr.Version != 3 || !tr.Inform || tr.OID != "1.3.6.1.6.3.1.1.5.5" || tr.User != "trapuser" {
					t.Errorf("%+v", tr)
				}
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]string, len(tc.args))
			for j, a := range tc.args {
				if a == "''" {
					a = ""
				}
				args[j] = a
			}
			netsnmp(t, tc.cmd, args...) // snmpinform exits 0 only when answered
			got := sink.wait(t, i+1)
			tc.check(t, got[i])
		})
	}
	if s := l.Stats(); s.Refused != 0 || s.InformsAnswered != 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestRefused: wrong credentials are refused, counted, never stored, and
// an inform with a wrong community is not answered.
func TestRefused(t *testing.T) {
	sink := &memSink{}
	l, addr := startListener(t, Options{Sink: sink})
	netsnmp(t, "snmptrap", "-v2c", "-c", "wrong", addr, "", "1.3.6.1.6.3.1.1.5.1")
	netsnmp(t, "snmptrap", "-v1", "-c", "wrong", addr, "1.3.6.1.4.1.9", "127.0.0.1", "0", "0", "")
	netsnmp(t, "snmptrap", strings.Fields("-v3 -l authPriv -u trapuser -a SHA-256 -A wrongpass123 -x AES -X privpass123 -e 0x8000000001020304 "+addr+" 1 1.3.6.1.6.3.1.1.5.1")...)
	netsnmp(t, "snmptrap", strings.Fields("-v3 -l authPriv -u nobody -a SHA-256 -A authpass123 -x AES -X privpass123 -e 0x8000000001020304 "+addr+" 1 1.3.6.1.6.3.1.1.5.1")...)
	if out, err := run(t, "snmpinform", "-v2c", "-c", "wrong", "-r", "0", "-t", "0.5", addr, "", "1.3.6.1.6.3.1.1.5.1"); err == nil {
		t.Errorf("an inform with a wrong community was answered: %s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Refused < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := l.Stats(); s.Refused != 5 || s.Received != 0 || len(sink.got()) != 0 {
		t.Fatalf("stats %+v, stored %d", s, len(sink.got()))
	}
}

// TestInformAnsweredOnlyAfterStore: the inform's answer waits for the
// sink; when the sink fails, no answer at all.
func TestInformAnsweredOnlyAfterStore(t *testing.T) {
	gate := make(chan struct{})
	sink := &memSink{gate: gate}
	_, addr := startListener(t, Options{Sink: sink})
	type result struct {
		out string
		err error
	}
	res := make(chan result, 1)
	go func() {
		out, err := run(t, "snmpinform", "-v2c", "-c", "public", "-r", "0", "-t", "10", addr, "", "1.3.6.1.6.3.1.1.5.1")
		res <- result{out, err}
	}()
	select {
	case r := <-res:
		t.Fatalf("snmpinform returned before the trap was stored: %v %s", r.err, r.out)
	case <-time.After(500 * time.Millisecond):
	}
	close(gate)
	if r := <-res; r.err != nil {
		t.Fatalf("snmpinform: %v %s", r.err, r.out)
	}

	failing := &memSink{fail: errors.New("disk full")}
	l2, addr2 := startListener(t, Options{Sink: failing})
	if out, err := run(t, "snmpinform", "-v2c", "-c", "public", "-r", "1", "-t", "0.5", addr2, "", "1.3.6.1.6.3.1.1.5.1"); err == nil {
		t.Fatalf("an inform the sink could not store was answered: %s", out)
	}
	if s := l2.Stats(); s.StoreFailed == 0 || s.InformsAnswered != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestInformRetransmissionStoredOnce: a retransmitted inform (our answer
// lost) is answered again but stored once.
func TestInformRetransmissionStoredOnce(t *testing.T) {
	sink := &memSink{}
	l, addr := startListener(t, Options{Sink: sink})
	// A v2c inform, sent twice with the same request ID, as a sender
	// retransmits; both copies must be answered.
	pkt := v2cInform(t, 4711)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for i := 0; i < 2; i++ {
		if _, err := c.Write(pkt); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("copy %d not answered: %v", i, err)
		}
	}
	if got := sink.wait(t, 1); len(got) != 1 {
		t.Fatalf("stored %d", len(got))
	}
	if s := l.Stats(); s.Duplicates != 1 || s.InformsAnswered != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestSetTargets: a reload's targets attribute the traps that follow.
func TestSetTargets(t *testing.T) {
	sink := &memSink{}
	l, addr := startListener(t, Options{Sink: sink})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(v2cPacket(t, 0xa7, 1))
	sink.wait(t, 1)
	ts, _ := NewTargets(context.Background(), []config.SNMPTarget{{Name: "lo", Address: "127.0.0.1"}})
	l.SetTargets(ts)
	c.Write(v2cPacket(t, 0xa7, 2))
	got := sink.wait(t, 2)
	if got[0].Host != "" || got[1].Host != "lo" {
		t.Fatalf("hosts %q, %q", got[0].Host, got[1].Host)
	}
}

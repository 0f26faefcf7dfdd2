package ingest

import (
	"context"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failingListener returns n accept errors of errno, then accepts.
type failingListener struct {
	net.Listener
	mu    sync.Mutex
	n     int
	errno syscall.Errno
}

func (f *failingListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: f.errno}
	}
	f.mu.Unlock()
	return f.Listener.Accept()
}

// Accept errors (file descriptors exhausted, no buffer space) do not end
// the TCP listener: it logs them, backs off and accepts the next agent.
// Before, the first such error returned from ServeTCP and stopped the
// whole collector.
func TestServeTCPSurvivesAcceptErrors(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	cert := s.addAgent(t, "edge-a", "r1")
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &failingListener{Listener: inner, n: 4, errno: syscall.EMFILE}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.srv.ServeTCP(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeTCP after cancel: %v", err)
		}
	}()
	a, err := dialTCP(t, inner.Addr().String(), s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge-a", 1, 1, 1); err != nil {
		t.Fatalf("hello after the accept errors: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("ServeTCP returned: %v", err)
	case <-time.After(10 * time.Millisecond):
	}
	s.log.waitLog(t, "too many open files")
}

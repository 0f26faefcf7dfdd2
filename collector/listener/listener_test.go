package listener

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func dial(t *testing.T, from, to string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// acceptOne accepts in the background; the channel yields the connection.
func acceptOne(ln net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func TestGuardMaxAndPerHost(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Guard(inner, Options{Name: "test", Max: 3, PerHost: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer ln.Close()
	addr := inner.Addr().String()

	// Two from 127.0.0.1 are accepted; the third is closed at once.
	var held []net.Conn
	for i := 0; i < 2; i++ {
		dial(t, "127.0.0.1", addr)
		c := <-acceptOne(ln)
		if c == nil {
			t.Fatal("accept failed")
		}
		held = append(held, c)
	}
	third := dial(t, "127.0.0.1", addr)
	next := acceptOne(ln)
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err == nil {
		t.Fatal("a third connection from one address was served")
	}
	// Another address takes the last slot.
	dial(t, "127.0.0.2", addr)
	c := <-next
	if c == nil || !strings.HasPrefix(c.RemoteAddr().String(), "127.0.0.2:") {
		t.Fatalf("the connection from 127.0.0.2 was not accepted: %v", c)
	}
	held = append(held, c)
	// At Max, Accept waits until a connection closes.
	dial(t, "127.0.0.3", addr)
	next = acceptOne(ln)
	select {
	case c := <-next:
		t.Fatalf("accepted %v beyond Max", c.RemoteAddr())
	case <-time.After(200 * time.Millisecond):
	}
	held[0].Close()
	held[0].Close() // a second Close frees nothing more
	select {
	case c := <-next:
		if c == nil || !strings.HasPrefix(c.RemoteAddr().String(), "127.0.0.3:") {
			t.Fatalf("after a close: %v", c)
		}
		held = append(held, c)
	case <-time.After(5 * time.Second):
		t.Fatal("a freed slot was not reused")
	}
	g := ln.(*guarded)
	if len(g.slots) != 3 || g.hosts["127.0.0.1"] != 1 {
		t.Errorf("slots %d, hosts %v", len(g.slots), g.hosts)
	}
	for _, c := range held {
		c.Close()
	}
	if len(g.slots) != 0 || len(g.hosts) != 0 {
		t.Errorf("after closing all: slots %d, hosts %v", len(g.slots), g.hosts)
	}
	// Close ends a waiting Accept.
	for i := 0; i < 3; i++ {
		g.slots <- struct{}{}
	}
	next = acceptOne(ln)
	ln.Close()
	if c, ok := <-next; ok {
		t.Fatalf("Accept after Close: %v", c)
	}
}

// failing returns errs from Accept one by one, then a connection.
type failing struct {
	net.Listener
	mu   sync.Mutex
	errs []error
}

func (f *failing) Accept() (net.Conn, error) {
	f.mu.Lock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	return f.Listener.Accept()
}

// Accept errors such as EMFILE are logged and retried with a growing
// delay; Accept returns the next connection, not the error.
func TestGuardRetriesAcceptErrors(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	f := &failing{Listener: inner, errs: []error{emfile, emfile, emfile, errors.New("no buffer space available")}}
	var log bytes.Buffer
	var mu sync.Mutex
	ln := Guard(f, Options{Name: "test", Log: slog.New(slog.NewTextHandler(&lockedWriter{w: &log, mu: &mu}, nil))})
	defer ln.Close()
	start := time.Now()
	next := acceptOne(ln)
	dial(t, "127.0.0.1", inner.Addr().String())
	select {
	case c := <-next:
		if c == nil {
			t.Fatal("Accept returned an error")
		}
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("Accept did not recover from the errors")
	}
	if el := time.Since(start); el < (5+10+20+40)*time.Millisecond {
		t.Errorf("recovered in %v: no backoff", el)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(log.String(), "accept failed; retrying"); n != 4 || !strings.Contains(log.String(), "too many open files") {
		t.Errorf("%d log lines:\n%s", n, log.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

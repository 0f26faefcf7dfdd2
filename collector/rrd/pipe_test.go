package rrd

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// rrdPipe drives one `rrdtool -` process (rrdtool's pipe mode) so that a
// test pays for one process start, not one per command.
type rrdPipe struct {
	in  io.WriteCloser
	out *bufio.Reader
}

func newRRDPipe(t testing.TB) *rrdPipe {
	t.Helper()
	cmd := exec.Command("rrdtool", "-")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &rrdPipe{in: in, out: bufio.NewReaderSize(out, 1<<20)}
}

// run sends one command (arguments must not contain spaces) and returns its
// output, or an error carrying rrdtool's "ERROR: ..." line.
func (p *rrdPipe) run(args ...string) (string, error) {
	for _, a := range args {
		if strings.ContainsAny(a, " \n") {
			return "", fmt.Errorf("argument %q has a space", a)
		}
	}
	if _, err := io.WriteString(p.in, strings.Join(args, " ")+"\n"); err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		line, err := p.out.ReadString('\n')
		if err != nil {
			return b.String(), fmt.Errorf("rrdtool pipe: %w (output so far %q)", err, b.String())
		}
		if strings.HasPrefix(line, "OK u:") {
			return b.String(), nil
		}
		if strings.HasPrefix(line, "ERROR: ") {
			return b.String(), fmt.Errorf("%s", strings.TrimSpace(line))
		}
		b.WriteString(line)
	}
}

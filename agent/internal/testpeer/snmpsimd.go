package testpeer

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

// SNMPSimDataDir is where Debian's snmpsim package installs its example
// data: recordings (.snmprec, some gzipped) of real devices.
const SNMPSimDataDir = "/usr/share/doc/snmpsim/examples/data"

// Recording is one device recording snmpsimd serves.
type Recording struct {
	// Community is the v1/v2c community that selects it (snmpsimd names
	// a recording by its file name without ".snmprec").
	Community string
	// Path is the recording: a .snmprec file, or a gzipped one (.gz) as
	// Debian installs most of them. It is read at test time, never copied
	// into the repository.
	Path string
}

// RecordedDevices are the recordings of real devices Debian's snmpsim
// ships, by community: a Linux host (2 interfaces), a Windows XP host (8;
// its ifDescr values end in a NUL byte, as Windows sends them), a 16-port
// Cisco switch stack (59), snmpsim's own "public" Linux host (2), and an HP
// host whose recording has no ifTable and an ifXTable snmpsimd cannot
// serve (a data error): a device with no interfaces to discover.
func RecordedDevices() []Recording {
	return []Recording{
		{"linux-full-walk", SNMPSimDataDir + "/recorded/linux-full-walk.snmprec.gz"},
		{"winxp-full-walk", SNMPSimDataDir + "/recorded/winxp-full-walk.snmprec.gz"},
		{"cisco_16_switch", SNMPSimDataDir + "/cisco_16_switch.snmprec.gz"},
		{"public", SNMPSimDataDir + "/public.snmprec.gz"},
		{"hp_perf", SNMPSimDataDir + "/hp_perf.snmprec.gz"},
	}
}

// SNMPSimD is a running snmpsimd on 127.0.0.1 serving recordings, each
// under its own community.
type SNMPSimD struct {
	Host       string // always 127.0.0.1
	Port       int    // UDP port
	Recordings []Recording
	LogFile    string // the daemon's log

	dir string
}

// Addr returns "127.0.0.1:PORT".
func (s *SNMPSimD) Addr() string { return s.Host + ":" + strconv.Itoa(s.Port) }

// StartSNMPSimD starts Debian's snmpsimd on a free loopback port serving
// recs (RecordedDevices when none are given). It builds a data directory
// under a private temporary directory with each recording decompressed
// under its community's name, runs the daemon in the foreground as an
// unprivileged user when the test runs as root (--process-user nobody, as
// snmpsimd requires), and returns once every community answers snmpget, or
// fails the test after 60 s (snmpsimd indexes each recording on start:
// the 3 MB Cisco one takes seconds). A missing snmpsimd, snmpget or
// recording skips the test on a developer machine and fails it with
// CI=true. The daemon is killed in t.Cleanup; its log is shown if the
// test failed.
func StartSNMPSimD(t testing.TB, recs ...Recording) *SNMPSimD {
	t.Helper()
	simd := testbed.RequireTool(t, "snmpsimd", "snmpsimd.py")
	snmpget := testbed.RequireTool(t, "snmpget")
	if len(recs) == 0 {
		recs = RecordedDevices()
	}
	for _, r := range recs {
		if _, err := os.Stat(r.Path); err != nil {
			testbed.Missing(t, "recording %s (package snmpsim): %v", r.Path, err)
		}
	}
	// A directory the unprivileged daemon can read (data) and write
	// (cache), which t.TempDir (mode 0700) is not.
	dir, err := os.MkdirTemp("", "outpost-snmpsimd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data, cache := filepath.Join(dir, "data"), filepath.Join(dir, "cache")
	for _, d := range []string{data, cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cache, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := copyRecording(r.Path, filepath.Join(data, r.Community+".snmprec")); err != nil {
			t.Fatalf("recording %s: %v", r.Path, err)
		}
	}
	s := &SNMPSimD{Host: "127.0.0.1", Recordings: recs, LogFile: filepath.Join(dir, "snmpsimd.log"), dir: dir}
	args := []string{"--data-dir=" + data, "--cache-dir=" + cache, "--logging-method=file:" + s.LogFile}
	if os.Geteuid() == 0 {
		group := "nogroup"
		if _, err := user.LookupGroup(group); err != nil {
			group = "nobody"
		}
		args = append(args, "--process-user=nobody", "--process-group="+group)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s.Port = testbed.FreeUDPPort(t)
		if lastErr = s.start(t, simd, snmpget, args); lastErr == nil {
			return s
		}
	}
	t.Fatalf("snmpsimd did not start: %v\n%s", lastErr, s.log())
	return nil
}

// copyRecording writes the recording at src to dst, decompressed.
func copyRecording(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	var r io.Reader = in
	if strings.HasSuffix(src, ".gz") {
		gz, err := gzip.NewReader(in)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (s *SNMPSimD) start(t testing.TB, simd, snmpget string, args []string) error {
	t.Helper()
	cmd := exec.Command(simd, append(args, fmt.Sprintf("--agent-udpv4-endpoint=%s", s.Addr()))...)
	cmd.Env = append(os.Environ(), "HOME="+s.dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start snmpsimd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, r := range s.Recordings {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			got, err := exec.CommandContext(ctx, snmpget, "-v2c", "-c", r.Community, "-t", "0.5", "-r", "0",
				"-On", s.Addr(), "1.3.6.1.2.1.1.3.0").CombinedOutput()
			cancel()
			if err == nil && bytes.Contains(got, []byte("1.3.6.1.2.1.1.3.0")) {
				break
			}
			select {
			case werr := <-exited:
				exited <- werr
				return fmt.Errorf("snmpsimd exited early: %v\n%s", werr, out.String())
			default:
			}
			if time.Now().After(deadline) {
				stop()
				return fmt.Errorf("snmpsimd on %s did not answer community %q within 60s (last snmpget: %v %s)", s.Addr(), r.Community, err, got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("snmpsimd output:\n%s\nlog (%s, last 4 KB):\n%s", out.String(), s.LogFile, s.log())
		}
	})
	return nil
}

func (s *SNMPSimD) log() string {
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b[max(0, len(b)-4096):])
}

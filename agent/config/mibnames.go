package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// MIBHelperEnv names the environment variable that, when set, is the path
// of the outpost-agent-mibs program (tests; unusual installs). Otherwise
// it is looked for beside the running executable, then on PATH.
const MIBHelperEnv = "OUTPOST_AGENT_MIBS"

// mibHelperTimeout bounds one run of the helper (it parses MIB files: a
// second or two for a full net-snmp tree).
const mibHelperTimeout = time.Minute

// mibHelperMaxOutput bounds what is read of the helper's output.
const mibHelperMaxOutput = 4 << 20

// resolveMIBNames asks outpost-agent-mibs for the OIDs of names with the
// MIB files of mibDirs and net-snmp's directories. The agent does not
// link the MIB parser itself (see cmd/outpost-agent-mibs), so a
// configuration without such names costs nothing. errs[i] is the
// helper's reason for names[i]; err is set when the helper could not run.
func resolveMIBNames(mibDirs, names []string) (oids []string, errs []error, err error) {
	helper, err := mibHelper()
	if err != nil {
		return nil, nil, err
	}
	args := []string{"--json"}
	for _, d := range mibDirs {
		args = append(args, "-M", d)
	}
	args = append(args, "--")
	args = append(args, names...)
	ctx, cancel := context.WithTimeout(context.Background(), mibHelperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, helper, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: mibHelperMaxOutput}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 64 << 10}
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !(errors.As(runErr, &exit) && exit.ExitCode() == 1) {
		return nil, nil, fmt.Errorf("%s: %w: %s", helper, runErr, bytes.TrimSpace(stderr.Bytes()))
	}
	var res []struct {
		Name  string `json:"name"`
		OID   string `json:"oid"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res) != len(names) {
		return nil, nil, fmt.Errorf("%s: unexpected output (%d results for %d names): %v", helper, len(res), len(names), err)
	}
	oids = make([]string, len(names))
	errs = make([]error, len(names))
	for i, r := range res {
		switch {
		case r.Error != "":
			errs[i] = errors.New(r.Error)
		case r.Name != names[i] || r.OID == "":
			return nil, nil, fmt.Errorf("%s: answer %d is for %q, not %q", helper, i, r.Name, names[i])
		default:
			oids[i] = r.OID
		}
	}
	return oids, errs, nil
}

// mibHelper finds outpost-agent-mibs.
func mibHelper() (string, error) {
	if p := os.Getenv(MIBHelperEnv); p != "" {
		return p, nil
	}
	name := "outpost-agent-mibs"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("object names need %s (installed beside outpost-agent), not found: write the OIDs numerically or install it", name)
	}
	return p, nil
}

// limitedBuffer keeps at most max bytes and fails the write past them.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.buf.Len()+len(p) > l.max {
		return 0, fmt.Errorf("output over %d bytes", l.max)
	}
	return l.buf.Write(p)
}

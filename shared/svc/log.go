package svc

import (
	"bytes"
	"io"
	"runtime"

	"github.com/kardianos/service"
)

// LogOutput is where a binary running under a service manager writes its
// log: on Windows, whose services have no stderr, the Windows event log
// (through kardianos/service's system logger); everywhere else stderr,
// which systemd sends to the journal and Outpost's SysV script to
// /var/log/NAME.log. In a terminal it is always stderr.
func LogOutput(spec Spec, stderr io.Writer) io.Writer {
	if service.Interactive() || runtime.GOOS != "windows" {
		return stderr
	}
	s, err := service.New(&runner{}, spec.config())
	if err != nil {
		return stderr
	}
	l, err := s.SystemLogger(nil)
	if err != nil {
		return stderr
	}
	return &systemLog{l: l}
}

// systemLog forwards each log record (slog writes one record per Write) to
// the system logger at the record's level.
type systemLog struct{ l service.Logger }

func (w *systemLog) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	var err error
	switch {
	case bytes.Contains(p, []byte("level=ERROR")), bytes.Contains(p, []byte(`"level":"ERROR"`)):
		err = w.l.Error(line)
	case bytes.Contains(p, []byte("level=WARN")), bytes.Contains(p, []byte(`"level":"WARN"`)):
		err = w.l.Warning(line)
	default:
		err = w.l.Info(line)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

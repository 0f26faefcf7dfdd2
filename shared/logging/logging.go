// Package logging builds the slog.Logger both binaries use, from the level
// and format named in their config files (log.level, log.format).
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Levels and formats accepted by New, as written in config files.
const (
	DefaultLevel  = "info"
	DefaultFormat = "text"
)

// ParseLevel maps debug, info, warn (or warning), error to a slog.Level;
// "" means info. Case is ignored.
func ParseLevel(level string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", level)
}

// CheckFormat accepts text and json ("" means text).
func CheckFormat(format string) error {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "text", "json":
		return nil
	}
	return fmt.Errorf("unknown log format %q (want text or json)", format)
}

// New returns a logger writing to w at level (debug, info, warn, error;
// "" is info) in format text (key=value lines) or json (one object per
// line); "" is text. An unknown level or format is an error.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	lv, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	if err := CheckFormat(format); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(strings.TrimSpace(format), "json") {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// Package logging builds the process's slog logger from the two settings an
// operator changes: the format (text for people, JSON for log shippers) and
// the level.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Formats lists the accepted values of the format setting.
var Formats = []string{"text", "json"}

// Levels lists the accepted values of the level setting.
var Levels = []string{"debug", "info", "warn", "error"}

// ParseLevel reads one of Levels, case-insensitively.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want one of %s", s, strings.Join(Levels, ", "))
}

// CheckFormat reports a format that New would refuse, so configuration can
// be validated before anything is opened.
func CheckFormat(format string) error {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "text", "json":
		return nil
	}
	return fmt.Errorf("log format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// New returns a logger writing to w in the given format at the given level.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	if err := CheckFormat(format); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if strings.EqualFold(strings.TrimSpace(format), "json") {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// Discard is a logger for code paths (and tests) that must not print.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

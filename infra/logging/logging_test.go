package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "JSON", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want one JSON record, got %q: %v", buf.String(), err)
	}
	if rec["msg"] != "shown" || rec["k"] != "v" {
		t.Errorf("record = %v", rec)
	}
}

func TestNewText(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "text", "debug")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hello", "n", 1)
	if got := buf.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "msg=hello") {
		t.Errorf("text output = %q", got)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct{ format, level, want string }{
		{"xml", "info", `log format "xml"`},
		{"text", "loud", `log level "loud"`},
	} {
		if _, err := New(&bytes.Buffer{}, tc.format, tc.level); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q) error = %v, want it to mention %s", tc.format, tc.level, err, tc.want)
		}
	}
}

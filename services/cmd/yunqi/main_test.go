package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// output is a stdout that tests can read while run is still writing.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitFor polls until the output matches re, and returns the first match's
// groups.
func (o *output) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(o.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("output never matched %s; it is:\n%s", re, o.String())
	return nil
}

// quietEnv keeps the tests' logs to warnings and errors.
func quietEnv(extra ...string) func(string) string {
	env := map[string]string{"YUNQI_LOG_LEVEL": "warn"}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return func(k string) string { return env[k] }
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out output
	err := run(t.Context(), args, quietEnv(), &out)
	return out.String(), err
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"serve", "events", "backup", "users", "keys", "YUNQI_DATA"}},
		{[]string{"-h"}, []string{"Usage: yunqi <command>"}},
		{[]string{"help", "serve"}, []string{"Usage: yunqi serve", "-addr", "YUNQI_ADDR", "127.0.0.1:8080", "-data", "-log-format", "-log-level"}},
		{[]string{"serve", "-h"}, []string{"Usage: yunqi serve", "/healthz"}},
		{[]string{"events", "-h"}, []string{"tail", "export", "import"}},
		{[]string{"events", "tail", "-h"}, []string{"-from-start", "-n N"}},
		{[]string{"events", "export", "--help"}, []string{"JSON Lines", "-to FILE"}},
		{[]string{"events", "import", "-h"}, []string{"events import [flags] FILE", "empty"}},
		{[]string{"backup", "-h"}, []string{"backup --to FILE", "never"}},
		{[]string{"serve", "-h"}, []string{"-issuer", "YUNQI_AUDIENCE", "-access-ttl", "15m0s", "-refresh-ttl", "-secure-cookies",
			"-rate-signup-per-address", "10/1h", "-rate-login-per-address", "30/1m", "-rate-login-per-account", "100/1h",
			"YUNQI_RATE_LOGIN_PER_ACCOUNT", "-rate-login-failures-per-pair", "5/15m", "-rate-login-failures-per-address", "50/15m",
			"YUNQI_RATE_LOGIN_FAILURES_PER_PAIR", "-trusted-proxy", "YUNQI_TRUSTED_PROXY", "/api/openapi.json"}},
		{[]string{"users", "-h"}, []string{"grant", "revoke"}},
		{[]string{"users", "grant", "-h"}, []string{"users grant --email ADDRESS --role ROLE", "reviewer", "organizer", "-email", "-role", "-data", "while 'yunqi serve' runs"}},
		{[]string{"users", "revoke", "-h"}, []string{"Revokes a role"}},
		{[]string{"keys", "-h"}, []string{"rotate"}},
		{[]string{"keys", "rotate", "-h"}, []string{"keys rotate", "nobody is logged out", "-data"}},
	} {
		out, err := runCmd(t, tc.args...)
		if err != nil {
			t.Errorf("yunqi %s: %v", strings.Join(tc.args, " "), err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("yunqi %s: output lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}

func TestBadInvocations(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o600)
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{nil, nil, "no command given"},
		{[]string{"launch"}, nil, `unknown command "launch"`},
		{[]string{"serve", "--port", "80"}, nil, "flag provided but not defined: -port"},
		{[]string{"serve", "--port", "80"}, nil, "Run 'yunqi serve -h' for usage"},
		{[]string{"serve", "--addr", "8080"}, nil, "--addr: want host:port"},
		{[]string{"serve", "extra"}, nil, "serve takes no arguments"},
		{[]string{"serve"}, []string{"YUNQI_LOG_LEVEL", "loud"}, `YUNQI_LOG_LEVEL: log level "loud"`},
		{[]string{"serve"}, []string{"YUNQI_SHUTDOWN_TIMEOUT", "soon"}, "YUNQI_SHUTDOWN_TIMEOUT=soon: not a valid duration"},
		{[]string{"serve", "--log-format", "xml"}, nil, `--log-format: log format "xml"`},
		{[]string{"serve", "--data", file, "--addr", "127.0.0.1:0"}, nil, "data dir " + file + " is not a directory"},
		{[]string{"events"}, nil, "which command?"},
		{[]string{"events", "replay"}, nil, `events: unknown command "replay"`},
		{[]string{"events", "tail", "-n", "-1", "--data", t.TempDir()}, nil, "want 0 or more"},
		{[]string{"events", "export", "--data", filepath.Join(t.TempDir(), "none")}, nil, "no event log at"},
		{[]string{"events", "import"}, nil, "name one export FILE"},
		{[]string{"backup", "--data", t.TempDir()}, nil, "--to FILE is required"},
		{[]string{"serve", "--rate-login-per-account", "10"}, nil, `--rate-login-per-account: "10" is not a rate limit: no /; write REQUESTS/WINDOW such as 10/15m, or off`},
		{[]string{"serve", "--rate-login-per-address", "ten/1m"}, nil, "--rate-login-per-address: \"ten/1m\" is not a rate limit: the number of requests must be a whole number from 1"},
		{[]string{"serve"}, []string{"YUNQI_RATE_SIGNUP_PER_ADDRESS", "5/fortnight"}, "YUNQI_RATE_SIGNUP_PER_ADDRESS: \"5/fortnight\" is not a rate limit: the window must be a duration"},
		{[]string{"serve", "--rate-login-per-account", "5/500ms"}, nil, "the window must be at least 1s"},
		{[]string{"serve", "--trusted-proxy", "10.0.0.0/8,10.1"}, nil, `--trusted-proxy: "10.1" is neither a CIDR prefix`},
		{[]string{"serve", "--access-ttl", "30s"}, nil, "--access-ttl: must be between 1m and 24h"},
		{[]string{"serve", "--access-ttl", "1h", "--refresh-ttl", "10m"}, nil, "refresh session lifetime 10m0s is shorter than the access token lifetime 1h0m0s"},
		{[]string{"serve", "--issuer", " "}, nil, "--issuer: must not be empty"},
		{[]string{"serve"}, []string{"YUNQI_SECURE_COOKIES", "maybe"}, "YUNQI_SECURE_COOKIES=maybe: not a valid bool"},
		{[]string{"keys"}, nil, "keys: which command? rotate"},
	} {
		var out output
		err := run(t.Context(), tc.args, quietEnv(tc.env...), &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("yunqi %s (env %v): error = %v, want it to contain %q", strings.Join(tc.args, " "), tc.env, err, tc.want)
		}
	}
}

// serve starts "yunqi serve" in the background and returns its base URL and
// a stop function that cancels it and returns run's error.
func serve(t *testing.T, data string, args ...string) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out output
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, args...), quietEnv(), &out)
	}()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended before listening: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("serve did not print its address")
		}
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = fmt.Errorf("serve did not stop within 20 s of its context ending")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return base, stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "nested", "data")
	base, stop := serve(t, data)

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	// Ready once the services' projections have caught up with the log.
	waitUntil(t, func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"ready"`) || !strings.Contains(body, `"identity":"ok"`) {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "# HELP") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, body without Prometheus text:\n%.500s", code, body)
	}
	if code, body := get(t, base+"/static/style.css"); code != 200 || !strings.Contains(body, "font-family") {
		t.Errorf("/static/style.css = %d", code)
	}
	if code, body := get(t, base+"/no/such/page"); code != 404 || !strings.Contains(body, `class="skip-link"`) {
		t.Errorf("unknown path = %d %s", code, body)
	}
	if code, body := get(t, base+"/api/no/such"); code != 404 || !strings.Contains(body, "not-found") {
		t.Errorf("unknown API path = %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(data, "events.db")); err != nil {
		t.Errorf("serve did not create the event log: %v", err)
	}

	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("serve after cancel: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("graceful shutdown took %v", d)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestServeDataDirNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories; run as another user to test this")
	}
	data := t.TempDir()
	os.Chmod(data, 0o500)
	t.Cleanup(func() { os.Chmod(data, 0o700) })
	_, err := runCmd(t, "serve", "--addr", "127.0.0.1:0", "--data", data)
	if err == nil || !strings.Contains(err.Error(), "data dir "+data+" is not writable") {
		t.Errorf("error = %v", err)
	}
}

func TestServeLogsConfig(t *testing.T) {
	var logs output
	logOutput = &logs
	t.Cleanup(func() { logOutput = os.Stderr })
	data := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	var out output
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"},
			quietEnv("YUNQI_LOG_LEVEL", "info", "YUNQI_DATA", data), &out)
	}()
	out.waitFor(t, regexp.MustCompile("listening on"))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "config" {
			cfg = rec
		}
	}
	if cfg == nil {
		t.Fatalf("no config line in the log:\n%s", logs.String())
	}
	if cfg["data"] != data || cfg["addr"] != "127.0.0.1:0" || cfg["set_by"] != "addr:flag data:env log-format:flag log-level:env" {
		t.Errorf("config line = %v", cfg)
	}
}

// seed writes a few events of every shape an export must carry unchanged:
// several streams, Chinese text, characters JSON encoders like to escape,
// nested payloads, full metadata.
func seed(t *testing.T, data string, n int) []events.Event {
	t.Helper()
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	store, err := sqlitestore.Open(filepath.Join(data, "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	occurred := time.Date(2013, 10, 24, 19, 30, 0, 123456789, time.FixedZone("CST", 8*3600))
	for i := range n {
		stream := fmt.Sprintf("registration-%03d", i%4)
		payload := fmt.Sprintf(`{"edition":"yunqi2013","name":"开发者 %d","note":"<b>&</b> \u2028","tracks":["大数据","云网络"],"seats":%d}`, i, i)
		_, err := store.Append(t.Context(), stream, events.Any, events.Proposed{
			ID:   events.NewID(),
			Type: "conference.RegistrationPlaced",
			Data: json.RawMessage(payload),
			Metadata: events.Metadata{
				Actor: fmt.Sprintf("user-%d", i), CorrelationID: "c", CausationID: "k", RequestID: "r",
				OccurredAt: occurred, SchemaVersion: 1, Visibility: events.Owner, Subject: "person-1",
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := store.ReadAll(t.Context(), events.ReadAllOptions{Count: n + 10})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

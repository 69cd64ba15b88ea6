package config

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	Addr    string
	Token   string
	Workers int
	Timeout time.Duration
	Verbose bool
}

func newTestSet(env map[string]string) (*Set, *testConfig) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c testConfig
	s := New(fs, "APP", func(k string) string { return env[k] })
	s.String(&c.Addr, "listen-addr", "127.0.0.1:8080", "address", Check(func(v string) error {
		if !strings.Contains(v, ":") {
			return errors.New("want host:port")
		}
		return nil
	}))
	s.String(&c.Token, "token", "", "API token", Secret())
	s.Int(&c.Workers, "workers", 4, "workers", Check(func(n int) error {
		if n < 1 {
			return errors.New("must be at least 1")
		}
		return nil
	}))
	s.Duration(&c.Timeout, "timeout", 10*time.Second, "timeout")
	s.Bool(&c.Verbose, "verbose", false, "verbose")
	return s, &c
}

func TestPrecedence(t *testing.T) {
	s, c := newTestSet(map[string]string{
		"APP_LISTEN_ADDR": "0.0.0.0:1",
		"APP_WORKERS":     "8",
		"APP_TOKEN":       "hunter2",
	})
	if err := s.Parse([]string{"--workers", "2"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:1" || c.Workers != 2 || c.Timeout != 10*time.Second || c.Token != "hunter2" {
		t.Errorf("config = %+v", c)
	}
	want := map[string]Setting{
		"listen-addr": {"listen-addr", "APP_LISTEN_ADDR", "0.0.0.0:1", FromEnv},
		"token":       {"token", "APP_TOKEN", "********", FromEnv},
		"workers":     {"workers", "APP_WORKERS", "2", FromFlag},
		"timeout":     {"timeout", "APP_TIMEOUT", "10s", FromDefault},
		"verbose":     {"verbose", "APP_VERBOSE", "false", FromDefault},
	}
	for _, st := range s.Settings() {
		if st != want[st.Name] {
			t.Errorf("setting %s = %+v, want %+v", st.Name, st, want[st.Name])
		}
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	s, _ := newTestSet(map[string]string{"APP_TOKEN": "hunter2"})
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).LogAttrs(t.Context(), slog.LevelInfo, "config", s.LogAttrs()...)
	if strings.Contains(b.String(), "hunter2") {
		t.Errorf("log line leaks the secret: %s", b.String())
	}
	if !strings.Contains(b.String(), "token=********") || !strings.Contains(b.String(), `set_by=token:env`) {
		t.Errorf("log line = %s", b.String())
	}
}

func TestErrorsNameTheirOrigin(t *testing.T) {
	s, _ := newTestSet(map[string]string{"APP_TIMEOUT": "soon", "APP_TOKEN": "x"})
	err := s.Parse(nil)
	if err == nil || !strings.Contains(err.Error(), "APP_TIMEOUT=soon") {
		t.Errorf("bad env value: error = %v", err)
	}

	s, _ = newTestSet(nil)
	err = s.Parse([]string{"--listen-addr", "nowhere", "--workers", "0"})
	if err == nil {
		t.Fatal("invalid flags accepted")
	}
	for _, want := range []string{"--listen-addr: want host:port", "--workers: must be at least 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	s, _ = newTestSet(map[string]string{"APP_WORKERS": "-3"})
	if err := s.Parse(nil); err == nil || !strings.Contains(err.Error(), "APP_WORKERS: must be at least 1") {
		t.Errorf("bad env check: error = %v", err)
	}
}

func TestSecretMaskedInEnvError(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var n int
	s := New(fs, "APP", func(string) string { return "s3cret" })
	s.Int(&n, "pin", 0, "pin", Secret())
	err := s.Parse(nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error = %v, want a failure that does not show the secret", err)
	}
}

func TestHelpAndUsage(t *testing.T) {
	s, _ := newTestSet(nil)
	if err := s.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: error = %v, want flag.ErrHelp", err)
	}
	var b strings.Builder
	s.fs.SetOutput(&b)
	s.fs.PrintDefaults()
	if !strings.Contains(b.String(), "(env APP_LISTEN_ADDR)") {
		t.Errorf("usage does not name the environment variable:\n%s", b.String())
	}
}

func TestCheckTypeMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a check of the wrong type was accepted")
		}
	}()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var n int
	New(fs, "APP", func(string) string { return "" }).Int(&n, "n", 0, "n", Check(func(string) error { return nil }))
}

func TestListFromFlagsOrVariable(t *testing.T) {
	parse := func(env map[string]string, args ...string) ([]string, error) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var routes []string
		s := New(fs, "APP", func(k string) string { return env[k] })
		s.List(&routes, "route", "routes", Check(func(v []string) error {
			for _, r := range v {
				if !strings.Contains(r, "=") {
					return errors.New("want NAME=URL, got " + r)
				}
			}
			return nil
		}))
		return routes, s.Parse(args)
	}
	got, err := parse(nil, "--route", "a=1", "--route", "b=2;c=3")
	if err != nil || strings.Join(got, " ") != "a=1 b=2 c=3" {
		t.Errorf("flags: %q, %v", got, err)
	}
	got, err = parse(map[string]string{"APP_ROUTE": "a=1; b=2 ;"})
	if err != nil || strings.Join(got, " ") != "a=1 b=2" {
		t.Errorf("variable: %q, %v", got, err)
	}
	// A flag replaces the variable rather than adding to it, as for every
	// other setting.
	got, err = parse(map[string]string{"APP_ROUTE": "a=1"}, "--route", "z=9")
	if err != nil || strings.Join(got, " ") != "z=9" {
		t.Errorf("flag over variable: %q, %v", got, err)
	}
	if _, err := parse(map[string]string{"APP_ROUTE": "nonsense"}); err == nil || !strings.Contains(err.Error(), "APP_ROUTE") {
		t.Errorf("bad entry: %v, want an error naming APP_ROUTE", err)
	}
}

func TestRedactedURLShowsNoPassword(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var u string
	s := New(fs, "APP", func(string) string { return "esdb://admin:changeit@db:2113?tls=false" })
	s.String(&u, "event-store", "", "log", Redact(func(v string) string { return strings.ReplaceAll(v, "changeit", "xxxxx") }))
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range s.LogAttrs() {
		if strings.Contains(a.Value.String(), "changeit") {
			t.Errorf("log attribute %s shows the password", a)
		}
	}
	if u != "esdb://admin:changeit@db:2113?tls=false" {
		t.Errorf("the value itself must stay whole, got %q", u)
	}
}

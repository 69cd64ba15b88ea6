// Package config builds a command's configuration from, in order of
// precedence, its command-line flags, PREFIX_* environment variables and
// defaults, validates it, and describes it with secrets masked.
//
// A command keeps its settings in one plain struct and registers each field
// here; the struct stays the single place the rest of the program reads.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
)

// Source says where a setting's value came from, so the start-up log can
// answer "why is it listening there?".
type Source string

const (
	FromDefault Source = "default"
	FromEnv     Source = "env"
	FromFlag    Source = "flag"
)

// Set is the configuration of one command.
type Set struct {
	fs       *flag.FlagSet
	prefix   string
	getenv   func(string) string
	settings []*setting
}

type setting struct {
	name   string
	env    string
	secret bool
	redact func(string) string
	check  func(any) error
	typ    reflect.Type // of the flag's value, for checking Check's type
	source Source
}

// New returns a Set that registers its settings on fs and reads environment
// variables named prefix_NAME through getenv (os.Getenv in main, a map in
// tests).
func New(fs *flag.FlagSet, prefix string, getenv func(string) string) *Set {
	return &Set{fs: fs, prefix: prefix, getenv: getenv}
}

// Option refines a setting.
type Option func(*setting)

// Secret masks the value wherever the configuration is described.
func Secret() Option { return func(s *setting) { s.secret = true } }

// Redact shows a value through fn wherever the configuration is
// described: for a URL that may carry a password among what an operator
// needs to see.
func Redact(fn func(string) string) Option { return func(s *setting) { s.redact = fn } }

// Check validates the resolved value. T must be the setting's type (string
// for String, time.Duration for Duration…); a mismatch panics when the
// setting is registered, which every test of the command catches.
func Check[T any](fn func(T) error) Option {
	want := reflect.TypeFor[T]()
	return func(s *setting) {
		if s.typ != want {
			panic(fmt.Sprintf("config: check for --%s takes %v, but the setting is %v", s.name, want, s.typ))
		}
		s.check = func(v any) error { return fn(v.(T)) }
	}
}

// String registers a string setting.
func (s *Set) String(p *string, name, def, usage string, opts ...Option) {
	s.fs.StringVar(p, name, def, s.usage(name, usage))
	s.add(name, opts)
}

// Bool registers a boolean setting.
func (s *Set) Bool(p *bool, name string, def bool, usage string, opts ...Option) {
	s.fs.BoolVar(p, name, def, s.usage(name, usage))
	s.add(name, opts)
}

// Int registers an integer setting.
func (s *Set) Int(p *int, name string, def int, usage string, opts ...Option) {
	s.fs.IntVar(p, name, def, s.usage(name, usage))
	s.add(name, opts)
}

// Duration registers a duration setting ("10s", "1m30s").
func (s *Set) Duration(p *time.Duration, name string, def time.Duration, usage string, opts ...Option) {
	s.fs.DurationVar(p, name, def, s.usage(name, usage))
	s.add(name, opts)
}

// List registers a setting that may be given more than once: each
// occurrence of the flag adds entries, and so does the variable, whose
// entries are separated by ";" (one variable cannot repeat). A semicolon
// separates entries in a flag too, so both spell a list the same way.
func (s *Set) List(p *[]string, name, usage string, opts ...Option) {
	s.fs.Var((*listValue)(p), name, s.usage(name, usage+`; repeat the flag, or separate entries with ";"`))
	s.add(name, opts)
}

type listValue []string

func (l *listValue) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ";")
}

func (l *listValue) Set(v string) error {
	for e := range strings.SplitSeq(v, ";") {
		if e = strings.TrimSpace(e); e != "" {
			*l = append(*l, e)
		}
	}
	return nil
}

func (l *listValue) Get() any { return []string(*l) }

// EnvName is the environment variable that sets the named flag.
func (s *Set) EnvName(name string) string {
	return s.prefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func (s *Set) usage(name, usage string) string {
	return fmt.Sprintf("%s (env %s)", usage, s.EnvName(name))
}

func (s *Set) add(name string, opts []Option) {
	st := &setting{name: name, env: s.EnvName(name), source: FromDefault}
	st.typ = reflect.TypeOf(s.fs.Lookup(name).Value.(flag.Getter).Get())
	for _, o := range opts {
		o(st)
	}
	s.settings = append(s.settings, st)
}

// Parse parses args, fills every setting not given as a flag from its
// environment variable, and runs the checks. All problems are reported
// together, each naming the flag or variable the bad value came from.
// flag.ErrHelp comes back unwrapped so the caller can print usage.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	explicit := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	var errs []error
	for _, st := range s.settings {
		if explicit[st.name] {
			st.source = FromFlag
			continue
		}
		// An empty variable counts as unset: getenv cannot tell them apart,
		// and "YUNQI_ADDR= yunqi serve" meaning "use the default" is what a
		// shell user expects.
		v := s.getenv(st.env)
		if v == "" {
			continue
		}
		st.source = FromEnv
		if err := s.fs.Set(st.name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: not a valid %s: %w", st.env, st.display(v), kindName(st.typ), err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, st := range s.settings {
		if st.check == nil {
			continue
		}
		if err := st.check(s.get(st)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.origin(), err))
		}
	}
	return errors.Join(errs...)
}

// kindName names a setting's type the way its usage text would.
func kindName(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "duration (such as 10s or 1m30s)"
	}
	return t.String()
}

func (s *Set) get(st *setting) any { return s.fs.Lookup(st.name).Value.(flag.Getter).Get() }

// origin names where the value was set, in the user's terms.
func (st *setting) origin() string {
	switch st.source {
	case FromEnv:
		return st.env
	case FromFlag:
		return "--" + st.name
	}
	return "--" + st.name + " (default)"
}

func (st *setting) display(v string) string {
	if st.secret {
		return Mask(v)
	}
	if st.redact != nil {
		return st.redact(v)
	}
	return v
}

// Mask hides a secret but still tells an operator whether one is set.
func Mask(v string) string {
	if v == "" {
		return ""
	}
	return "********"
}

// Setting describes one resolved setting, with secrets masked.
type Setting struct {
	Name   string // the flag name
	Env    string // the environment variable
	Value  string // masked when secret
	Source Source
}

// Settings lists the resolved settings in registration order.
func (s *Set) Settings() []Setting {
	out := make([]Setting, 0, len(s.settings))
	for _, st := range s.settings {
		out = append(out, Setting{
			Name:   st.name,
			Env:    st.env,
			Value:  st.display(s.fs.Lookup(st.name).Value.String()),
			Source: st.source,
		})
	}
	return out
}

// LogAttrs describes the configuration for a start-up log line: one
// attribute per setting, then "set_by" naming the settings that did not take
// their default and where they came from.
func (s *Set) LogAttrs() []slog.Attr {
	var attrs []slog.Attr
	var setBy []string
	for _, st := range s.Settings() {
		attrs = append(attrs, slog.String(st.Name, st.Value))
		if st.Source != FromDefault {
			setBy = append(setBy, st.Name+":"+string(st.Source))
		}
	}
	return append(attrs, slog.String("set_by", strings.Join(setBy, " ")))
}

package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// seen is what a fake instance reports about the request it got.
type seen struct {
	Instance  string `json:"instance"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Host      string `json:"host"`
	XFF       string `json:"xff"`
	XFHost    string `json:"xf_host"`
	XFProto   string `json:"xf_proto"`
	RequestID string `json:"request_id"`
	Body      string `json:"body"`
}

// fake is an instance: it echoes what it saw, counts requests, and its
// /healthz can be switched off.
type fake struct {
	name    string
	srv     *httptest.Server
	hits    atomic.Int64
	polls   atomic.Int64
	sick    atomic.Bool
	handler http.HandlerFunc // replaces the echo when set
}

func newFake(t *testing.T, name string) *fake {
	t.Helper()
	f := &fake{name: name}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			f.polls.Add(1)
			if f.sick.Load() {
				http.Error(w, "sick", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ok\n")
			return
		}
		f.hits.Add(1)
		if f.handler != nil {
			f.handler(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set(httpserver.RequestIDHeader, r.Header.Get(httpserver.RequestIDHeader))
		httpserver.WriteJSON(w, http.StatusOK, seen{
			Instance: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host,
			XFF: r.Header.Get("X-Forwarded-For"), XFHost: r.Header.Get("X-Forwarded-Host"),
			XFProto: r.Header.Get("X-Forwarded-Proto"), RequestID: r.Header.Get(httpserver.RequestIDHeader),
			Body: string(body),
		})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) url() *url.URL {
	u, err := url.Parse(f.srv.URL)
	if err != nil {
		panic(err)
	}
	return u
}

func urls(fs ...*fake) []*url.URL {
	var out []*url.URL
	for _, f := range fs {
		out = append(out, f.url())
	}
	return out
}

func mustNew(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// do sends a request through g as a client at 192.0.2.1 asking for
// yunqi.example.
func do(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Host = "yunqi.example"
	req.RemoteAddr = "192.0.2.1:4711"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decodeSeen(t *testing.T, rec *httptest.ResponseRecorder) seen {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	var s seen
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return s
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRoutesByLongestPrefixOnSegmentBoundaries(t *testing.T) {
	identity, conference, checkin, search := newFake(t, "identity"), newFake(t, "conference"), newFake(t, "checkin"), newFake(t, "search")
	g := mustNew(t, Config{
		Services: []Service{
			{Name: "identity", Prefixes: []string{"/api/identity", "/.well-known"}, Instances: urls(identity)},
			{Name: "conference", Prefixes: []string{"/api/conference", "/conference/"}, Instances: urls(conference)},
			{Name: "checkin", Prefixes: []string{"/api/conference/checkin"}, Instances: urls(checkin)},
			{Name: "search", Prefixes: []string{"/api/search", "/search"}, Instances: urls(search)},
		},
		Default: "identity",
	})
	for _, c := range []struct{ path, want string }{
		{"/", "identity"},
		{"/static/app.css", "identity"},
		{"/no/such/page", "identity"},
		{"/.well-known/jwks.json", "identity"},
		{"/api/conference", "conference"},
		{"/api/conference/", "conference"},
		{"/api/conference/editions/yunqi2015", "conference"},
		{"/api/conferences", "identity"},
		{"/conference", "conference"},
		{"/conferences", "identity"},
		{"/api/conference/checkin", "checkin"},
		{"/api/conference/checkin/42", "checkin"},
		{"/api/conference/checkins", "conference"},
		{"/api/search", "search"},
		{"/search/advanced", "search"},
	} {
		s := decodeSeen(t, do(t, g, http.MethodGet, c.path, ""))
		if s.Instance != c.want || s.Path != c.path {
			t.Errorf("%s went to %s as %s, want %s", c.path, s.Instance, s.Path, c.want)
		}
	}

	req := httptest.NewRequest(http.MethodGet, "/api/search?q=%E6%9D%AD%E5%B7%9E&facets=city&page=2", nil)
	req.Host = "yunqi.example"
	req.RemoteAddr = "192.0.2.1:4711"
	req.Header.Set("X-Forwarded-For", "203.0.113.66")  // a client's claim
	req.Header.Set("X-Forwarded-Host", "evil.example") // likewise
	req.Header.Set("Origin", "http://yunqi.example")   // must reach the service for its CSRF check
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	s := decodeSeen(t, rec)
	want := seen{Instance: "search", Method: "GET", Path: "/api/search", Query: "q=%E6%9D%AD%E5%B7%9E&facets=city&page=2",
		Host: "yunqi.example", XFF: "192.0.2.1", XFHost: "yunqi.example", XFProto: "http"}
	if s != want {
		t.Errorf("the service saw\n%+v\nwant\n%+v", s, want)
	}
}

func TestRoundRobin(t *testing.T) {
	a, b := newFake(t, "a"), newFake(t, "b")
	g := mustNew(t, Config{Services: []Service{{Name: "conference", Prefixes: []string{"/"}, Instances: urls(a, b)}}, Default: "conference"})
	for range 10 {
		decodeSeen(t, do(t, g, http.MethodGet, "/api/conference/editions", ""))
	}
	if a.hits.Load() != 5 || b.hits.Load() != 5 {
		t.Errorf("a got %d requests, b %d; want 5 each", a.hits.Load(), b.hits.Load())
	}
}

func TestFailsOverFromAClosedInstance(t *testing.T) {
	dead, live := newFake(t, "dead"), newFake(t, "live")
	var logs syncBuffer
	g := mustNew(t, Config{
		Services: []Service{{Name: "conference", Prefixes: []string{"/api/conference"}, Instances: urls(dead, live)}},
		Default:  "conference",
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	})
	dead.srv.Close()
	// Through a real server, whose request bodies fail once closed: the
	// transport closes the body of the refused attempt.
	front := httptest.NewServer(g)
	defer front.Close()

	// The round-robin counter points at the dead instance first, so the
	// POST is refused there and must reach the live one whole.
	body := strings.Repeat(`{"name":"杜勇","track":"bigdata"}`, 2000)
	res, err := http.Post(front.URL+"/api/conference/registrations", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var s seen
	json.NewDecoder(res.Body).Decode(&s)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || s.Instance != "live" || s.Method != http.MethodPost || s.Body != body {
		t.Errorf("POST answered %d from %q with %d of %d body bytes", res.StatusCode, s.Instance, len(s.Body), len(body))
	}
	for i := range 10 {
		method, b := http.MethodGet, ""
		if i%2 == 1 {
			method, b = http.MethodPost, "hello"
		}
		if s := decodeSeen(t, do(t, g, method, "/api/conference/x", b)); s.Instance != "live" || s.Body != b {
			t.Errorf("%s %d reached %s with body %q", method, i, s.Instance, s.Body)
		}
	}
	if n := logs.count("instance down", dead.url().String()); n != 1 {
		t.Errorf("the dead instance was logged down %d times, want once:\n%s", n, logs.String())
	}
	if err := g.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), "conference") {
		t.Errorf("Ready = %v before any health check passed", err)
	}
}

// A GET on a connection kept alive from before the instance died is
// replayed by the transport, whose fresh dial is refused and fails over.
func TestFailsOverFromAKeptAliveConnection(t *testing.T) {
	dead, live := newFake(t, "dead"), newFake(t, "live")
	g := mustNew(t, Config{Services: []Service{{Name: "conference", Prefixes: []string{"/api/conference"}, Instances: urls(dead, live)}}, Default: "conference"})
	decodeSeen(t, do(t, g, http.MethodGet, "/api/conference/x", ""))
	decodeSeen(t, do(t, g, http.MethodGet, "/api/conference/x", ""))
	dead.srv.Close()
	for range 4 {
		if s := decodeSeen(t, do(t, g, http.MethodGet, "/api/conference/x", "")); s.Instance != "live" {
			t.Errorf("a request reached %s", s.Instance)
		}
	}
}

func TestDoesNotRetryARequestAnInstanceReceived(t *testing.T) {
	broken, other := newFake(t, "broken"), newFake(t, "other")
	broken.handler = func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		panic(http.ErrAbortHandler) // drops the connection without an answer
	}
	g := mustNew(t, Config{Services: []Service{{Name: "contest", Prefixes: []string{"/api/contest"}, Instances: urls(broken, other)}}, Default: "contest"})
	rec := do(t, g, http.MethodPost, "/api/contest/submissions", `{"title":"x"}`)
	if rec.Code != http.StatusBadGateway {
		t.Errorf("status %d, want 502", rec.Code)
	}
	if n := other.hits.Load(); n != 0 {
		t.Errorf("the request was sent again to another instance (%d times): it may have been acted on", n)
	}
}

func TestAnswers502NamingTheService(t *testing.T) {
	a, b, identity := newFake(t, "a"), newFake(t, "b"), newFake(t, "identity")
	var logs syncBuffer
	g := mustNew(t, Config{
		Services: []Service{
			{Name: "identity", Instances: urls(identity)},
			{Name: "conference", Prefixes: []string{"/api/conference", "/conference"}, Instances: urls(a, b)},
			{Name: "alliance", Prefixes: []string{"/api/alliance"}},
		},
		Default: "identity",
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})
	a.srv.Close()
	b.srv.Close()

	for _, c := range []struct{ path, service, detail string }{
		{"/api/conference/editions", "conference", "The conference service did not answer."},
		{"/conference/", "conference", "The conference service did not answer."},
		{"/api/alliance/members", "alliance", "The alliance service has no route configured."},
	} {
		rec := do(t, g, http.MethodPost, c.path, `{"x":1}`)
		if rec.Code != http.StatusBadGateway || rec.Header().Get("Content-Type") != httpserver.ProblemContentType {
			t.Fatalf("%s: status %d, type %q", c.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		var p map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"type": TypeServiceUnavailable, "title": "Service unavailable", "status": 502.0,
			"detail": c.detail, "service": c.service}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("%s: %s = %v, want %v", c.path, k, p[k], v)
			}
		}
		for _, f := range []*fake{a, b} {
			if host := f.url().Host; strings.Contains(rec.Body.String(), host) || strings.Contains(rec.Body.String(), "127.0.0.1") {
				t.Errorf("%s: the body gives away an internal address: %s", c.path, rec.Body)
			}
		}
	}
	// Operators need the addresses, so the log has them.
	if !strings.Contains(logs.String(), a.url().Host) {
		t.Errorf("the log does not name the dead instance:\n%s", logs.String())
	}
}

func TestHealthChecksMarkInstancesDownAndUp(t *testing.T) {
	a, b := newFake(t, "a"), newFake(t, "b")
	var logs syncBuffer
	g := mustNew(t, Config{
		Services: []Service{
			{Name: "conference", Prefixes: []string{"/api/conference"}, Instances: urls(a, b)},
			{Name: "identity", Instances: nil}, // not routed: never holds readiness up
		},
		Default:        "identity",
		HealthInterval: 10 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err := g.Ready(t.Context()); err == nil {
		t.Error("ready before any health check")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	ready := func() bool { return g.Ready(ctx) == nil }
	waitFor(t, "ready", ready)

	a.sick.Store(true)
	waitFor(t, "a marked down", func() bool { return g.services[0].instances[0].state.Load() == stateDown })
	a.hits.Store(0)
	for range 6 {
		if s := decodeSeen(t, do(t, g, http.MethodGet, "/api/conference/x", "")); s.Instance != "b" {
			t.Errorf("a request went to %s while a is down", s.Instance)
		}
	}

	b.sick.Store(true)
	waitFor(t, "not ready", func() bool { return !ready() })
	if err := g.Ready(ctx); !strings.Contains(err.Error(), "conference") || strings.Contains(err.Error(), "identity") {
		t.Errorf("Ready = %v; want it to name conference alone", err)
	}
	// Both marked down, yet both still serve: the marks are tried anyway.
	decodeSeen(t, do(t, g, http.MethodGet, "/api/conference/x", ""))

	a.sick.Store(false)
	waitFor(t, "ready again", ready)
	b.hits.Store(0)
	for range 4 {
		if s := decodeSeen(t, do(t, g, http.MethodGet, "/api/conference/x", "")); s.Instance != "a" {
			t.Errorf("a request went to %s while only a is up", s.Instance)
		}
	}

	// Several polls later, each change is in the log once.
	n := a.polls.Load()
	waitFor(t, "more polls", func() bool { return a.polls.Load() >= n+3 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	for _, c := range []struct {
		msg, instance string
		want          int
	}{
		{"instance down", a.url().String(), 1},
		{"instance back up", a.url().String(), 1},
		{"instance down", b.url().String(), 1},
		{"instance back up", b.url().String(), 0},
	} {
		if got := logs.count(c.msg, c.instance); got != c.want {
			t.Errorf("%q for %s logged %d times, want %d:\n%s", c.msg, c.instance, got, c.want, logs.String())
		}
	}
}

func TestForwardsTheRequestIDBehindTheServer(t *testing.T) {
	a := newFake(t, "a")
	g := mustNew(t, Config{Services: []Service{{Name: "blog", Instances: urls(a)}}, Default: "blog"})
	srv := httpserver.New(httpserver.Options{})
	srv.Router().Handle("/*", g)
	rec := do(t, srv, http.MethodGet, "/blog/posts", "")
	s := decodeSeen(t, rec)
	ids := rec.Header().Values(httpserver.RequestIDHeader)
	if len(ids) != 1 || s.RequestID != ids[0] {
		t.Errorf("the service saw request id %q; the client got %q", s.RequestID, ids)
	}
}

func TestConfigErrors(t *testing.T) {
	good := func() Config {
		return Config{
			Services: []Service{
				{Name: "identity", Prefixes: []string{"/api/identity"}, Instances: []*url.URL{{Scheme: "http", Host: "10.0.0.1:8080"}}},
				{Name: "conference", Prefixes: []string{"/api/conference"}},
			},
			Default: "identity",
		}
	}
	if _, err := New(good()); err != nil {
		t.Fatalf("a good config fails: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"unnamed", func(c *Config) { c.Services[1].Name = "" }, "service 2 has no name"},
		{"twice", func(c *Config) { c.Services[1].Name = "identity" }, `service "identity" is configured twice`},
		{"relative prefix", func(c *Config) { c.Services[1].Prefixes = []string{"api/conference"} }, `service "conference": prefix "api/conference" must start with /`},
		{"unclean prefix", func(c *Config) { c.Services[1].Prefixes = []string{"/api/../conference"} }, `prefix "/api/../conference" must be a clean path`},
		{"claimed twice", func(c *Config) { c.Services[1].Prefixes = []string{"/api/identity/"} }, `prefix "/api/identity" is claimed by both "identity" and "conference"`},
		{"no prefixes", func(c *Config) { c.Services[1].Prefixes = nil }, `service "conference" owns no path prefix`},
		{"no default", func(c *Config) { c.Default = "" }, "no default service"},
		{"unknown default", func(c *Config) { c.Default = "home" }, `default service "home" is not among the services`},
		{"bare host", func(c *Config) { c.Services[1].Instances = []*url.URL{mustParse("localhost:8081")} }, `instance "localhost:8081": scheme must be http or https`},
		{"ftp", func(c *Config) { c.Services[1].Instances = []*url.URL{mustParse("ftp://10.0.0.2")} }, "scheme must be http or https"},
		{"no host", func(c *Config) { c.Services[1].Instances = []*url.URL{mustParse("http:///x")} }, `instance "http:///x" has no host`},
		{"path", func(c *Config) { c.Services[1].Instances = []*url.URL{mustParse("http://10.0.0.2/conf")} }, "must be scheme and host only"},
		{"credentials", func(c *Config) { c.Services[1].Instances = []*url.URL{mustParse("http://u:secret@10.0.0.2")} }, "must not carry credentials"},
		{"nil instance", func(c *Config) { c.Services[1].Instances = []*url.URL{nil} }, "an instance URL is missing"},
		{"duplicate instance", func(c *Config) {
			c.Services[1].Instances = []*url.URL{mustParse("http://10.0.0.2:1"), mustParse("http://10.0.0.2:1/")}
		}, `service "conference" lists instance http://10.0.0.2:1/ twice`},
		{"negative interval", func(c *Config) { c.HealthInterval = -time.Second }, "health interval -1s is negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good()
			c.change(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error gives away a password: %v", err)
			}
		})
	}
	// Every mistake at once, so an operator fixes them in one go.
	cfg := good()
	cfg.Default = ""
	cfg.Services[1].Prefixes = []string{"x"}
	if _, err := New(cfg); err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("err = %v, want two lines", err)
	}
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count counts log lines with msg about instance.
func (b *syncBuffer) count(msg, instance string) int {
	n := 0
	for line := range strings.Lines(b.String()) {
		if strings.Contains(line, `msg="`+msg+`"`) && slices.Contains(strings.Fields(line), "instance="+instance) {
			n++
		}
	}
	return n
}

// The gateway's own server caps bodies; a body over the cap is the
// client's mistake, not a dead service.
func TestBodyOverTheServersLimitIs413(t *testing.T) {
	a := newFake(t, "a")
	g := mustNew(t, Config{Services: []Service{{Name: "blog", Instances: urls(a)}}, Default: "blog"})
	srv := httpserver.New(httpserver.Options{MaxBodyBytes: 1 << 10})
	srv.Router().Handle("/*", g)
	front := httptest.NewServer(srv)
	defer front.Close()
	// Chunked, so that only reading finds out.
	res, err := http.Post(front.URL+"/api/blog/import", "text/plain", io.MultiReader(strings.NewReader(strings.Repeat("x", 4<<10))))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", res.StatusCode)
	}
}

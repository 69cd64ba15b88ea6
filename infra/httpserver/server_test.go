package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestServer(t *testing.T, opts Options) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return New(opts), logs
}

func do(t *testing.T, h http.Handler, method, target string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeProblem(t *testing.T, w *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q (body %s)", ct, ProblemContentType, w.Body)
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body, err)
	}
	if p.Status != w.Code {
		t.Errorf("problem status %d, response status %d", p.Status, w.Code)
	}
	return p
}

func TestHealthz(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	w := do(t, s, "GET", "/healthz", nil)
	if w.Code != 200 || w.Body.String() != "ok\n" {
		t.Errorf("GET /healthz = %d %q", w.Code, w.Body)
	}
}

func TestRequestID(t *testing.T) {
	s, logs := newTestServer(t, Options{})
	w := do(t, s, "GET", "/healthz", nil)
	id := w.Header().Get(RequestIDHeader)
	if len(id) != 16 {
		t.Errorf("generated request id %q", id)
	}
	if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Errorf("access log lacks the request id %s:\n%s", id, logs)
	}
	if got := do(t, s, "GET", "/healthz", nil, RequestIDHeader, "edge-42").Header().Get(RequestIDHeader); got != "edge-42" {
		t.Errorf("upstream request id replaced by %q", got)
	}
	if got := do(t, s, "GET", "/healthz", nil, RequestIDHeader, "bad id\nforged log line").Header().Get(RequestIDHeader); strings.Contains(got, " ") {
		t.Errorf("unsafe request id kept: %q", got)
	}
}

func TestPanicDoesNotLeak(t *testing.T) {
	s, logs := newTestServer(t, Options{})
	s.Router().Get("/boom", func(http.ResponseWriter, *http.Request) {
		panic("database password is hunter2")
	})
	w := do(t, s, "GET", "/boom", nil)
	if w.Code != 500 {
		t.Fatalf("status = %d", w.Code)
	}
	p := decodeProblem(t, w)
	if p.Type != TypeInternal || p.RequestID == "" {
		t.Errorf("problem = %+v", p)
	}
	if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "goroutine") {
		t.Errorf("500 body leaks internals: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), `"status":500`) {
		t.Errorf("the panic is not in the log:\n%s", logs)
	}
	// The server keeps serving after a panic.
	if w := do(t, s, "GET", "/healthz", nil); w.Code != 200 {
		t.Errorf("after panic: /healthz = %d", w.Code)
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	if p := decodeProblem(t, do(t, s, "GET", "/nowhere", nil)); p.Type != TypeNotFound || p.Status != 404 {
		t.Errorf("404 problem = %+v", p)
	}
	if p := decodeProblem(t, do(t, s, "POST", "/healthz", nil)); p.Type != TypeMethodNotAllowed || p.Status != 405 {
		t.Errorf("405 problem = %+v", p)
	}
}

type payload struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func jsonHandler(logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var p payload
		if err := DecodeJSON(r, &p); err != nil {
			WriteError(w, r, logger, err)
			return
		}
		if p.Name == "" {
			WriteError(w, r, logger, fmt.Errorf("register: %w", ValidationProblem(FieldError{"name", "Enter a name."})))
			return
		}
		if p.Name == "fail" {
			WriteError(w, r, logger, errors.New("sql: connection refused at 10.0.0.3"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func TestBodiesAndErrors(t *testing.T) {
	s, logs := newTestServer(t, Options{MaxBodyBytes: 64})
	s.Router().Post("/things", jsonHandler(s.logger))
	s.Router().With(LimitBody(8)).Post("/small", jsonHandler(s.logger))
	s.Router().With(LimitBody(256)).Post("/large", jsonHandler(s.logger))

	big := `{"name":"` + strings.Repeat("x", 100) + `"}`
	for _, tc := range []struct {
		name, path, body string
		status           int
		typ, detail      string
	}{
		{"ok", "/things", `{"name":"a"}`, 204, "", ""},
		{"too large", "/things", big, 413, TypeBodyTooLarge, "at most 64 bytes"},
		{"route limit", "/small", `{"name":"abc"}`, 413, TypeBodyTooLarge, "at most 8 bytes"},
		{"route allows more", "/large", big, 204, "", ""},
		{"route limit above the default", "/large", `{"name":"` + strings.Repeat("x", 300) + `"}`, 413, TypeBodyTooLarge, "at most 256 bytes"},
		{"syntax", "/things", `{"name":`, 400, TypeBadRequest, "not valid JSON"},
		{"empty", "/things", ``, 400, TypeBadRequest, "empty"},
		{"unknown field", "/things", `{"nmae":"a"}`, 400, TypeBadRequest, `Unknown field "nmae"`},
		{"wrong type", "/things", `{"name":"a","n":"x"}`, 400, TypeBadRequest, `Field "n" must be a whole number`},
		{"trailing", "/things", `{"name":"a"} {}`, 400, TypeBadRequest, "single JSON value"},
		{"null", "/things", ` null `, 400, TypeBadRequest, "null"},
		{"validation", "/things", `{"n":1}`, 422, TypeValidation, "see errors"},
		{"internal", "/things", `{"name":"fail"}`, 500, TypeInternal, "request id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, "POST", tc.path, strings.NewReader(tc.body), "Content-Type", "application/json")
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if tc.status == 204 {
				return
			}
			p := decodeProblem(t, w)
			if p.Type != tc.typ || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("problem = %+v, want type %s and detail containing %q", p, tc.typ, tc.detail)
			}
		})
	}
	w := do(t, s, "POST", "/things", strings.NewReader(`{"n":1}`))
	if p := decodeProblem(t, w); len(p.Errors) != 1 || p.Errors[0].Field != "name" {
		t.Errorf("field errors = %+v", p.Errors)
	}
	w = do(t, s, "POST", "/things", strings.NewReader(`{"name":"fail"}`))
	if strings.Contains(w.Body.String(), "10.0.0.3") || !strings.Contains(logs.String(), "10.0.0.3") {
		t.Errorf("internal error text must reach the log and not the client; body %s", w.Body)
	}
	w = do(t, s, "POST", "/things", strings.NewReader(`name=a`), "Content-Type", "application/x-www-form-urlencoded")
	if p := decodeProblem(t, w); p.Status != 415 {
		t.Errorf("form body: problem = %+v", p)
	}
}

func TestReadyz(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	w := do(t, s, "GET", "/readyz", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"ready"`) {
		t.Errorf("no checks: /readyz = %d %s", w.Code, w.Body)
	}
	var behind sync.Mutex
	lag := 3
	s.AddReadyCheck("projections", func(context.Context) error {
		behind.Lock()
		defer behind.Unlock()
		if lag > 0 {
			return fmt.Errorf("timeline projection is %d events behind", lag)
		}
		return nil
	})
	w = do(t, s, "GET", "/readyz", nil)
	if w.Code != 503 || !strings.Contains(w.Body.String(), "3 events behind") {
		t.Errorf("lagging: /readyz = %d %s", w.Code, w.Body)
	}
	behind.Lock()
	lag = 0
	behind.Unlock()
	if w := do(t, s, "GET", "/readyz", nil); w.Code != 200 {
		t.Errorf("caught up: /readyz = %d %s", w.Code, w.Body)
	}
}

func TestMetrics(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.Router().Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) {})
	do(t, s, "GET", "/things/1", nil)
	do(t, s, "GET", "/things/2", nil)
	do(t, s, "GET", "/nowhere", nil)
	body := do(t, s, "GET", "/metrics", nil).Body.String()
	for _, want := range []string{
		"# HELP go_goroutines",
		"# HELP process_",
		`http_requests_total{code="200",method="GET",route="/things/{id}"} 2`,
		`http_requests_total{code="404",method="GET",route="unmatched"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	s, _ := newTestServer(t, Options{ShutdownTimeout: 5 * time.Second})
	started := make(chan struct{})
	release := make(chan struct{})
	s.Router().Get("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Write([]byte("done"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{string(b), err}
	}()
	<-started
	cancel()
	// Shutdown has begun once readiness says so; the in-flight request
	// must still complete.
	deadline := time.Now().Add(5 * time.Second)
	for !s.stopping.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w := do(t, s, "GET", "/readyz", nil)
	if w.Code != 503 || !strings.Contains(w.Body.String(), "shutting down") {
		t.Errorf("/readyz during shutdown = %d %s", w.Code, w.Body)
	}
	close(release)
	if r := <-slow; r.err != nil || r.body != "done" {
		t.Errorf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

func TestShutdownTimeoutCutsOff(t *testing.T) {
	s, _ := newTestServer(t, Options{ShutdownTimeout: 50 * time.Millisecond})
	started := make(chan struct{})
	s.Router().Get("/stuck", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	go http.Get("http://" + ln.Addr().String() + "/stuck")
	<-started
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its shutdown timeout")
	}
}

// Only a trusted proxy's X-Forwarded-For names the client; from any other
// peer the header is ignored, since anyone can send it.
func TestTrustedProxies(t *testing.T) {
	srv, logs := newTestServer(t, Options{TrustedProxies: []string{"10.0.0.0/8"}})
	var seen []string
	srv.Router().Get("/who", func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, middleware.GetClientIP(r.Context()))
	})
	for _, remote := range []string{"10.1.2.3:4000", "198.51.100.9:4000"} {
		r := httptest.NewRequest("GET", "/who", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
		srv.ServeHTTP(httptest.NewRecorder(), r)
	}
	if want := []string{"203.0.113.7", "198.51.100.9"}; !slices.Equal(seen, want) {
		t.Errorf("client addresses = %v, want %v", seen, want)
	}
	if !strings.Contains(logs.String(), `"client":"203.0.113.7"`) {
		t.Errorf("the access log does not name the forwarded client:\n%s", logs)
	}

	plain, _ := newTestServer(t, Options{})
	seen = nil
	plain.Router().Get("/who", func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, middleware.GetClientIP(r.Context()))
	})
	r := httptest.NewRequest("GET", "/who", nil)
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	plain.ServeHTTP(httptest.NewRecorder(), r)
	if !slices.Equal(seen, []string{""}) {
		t.Errorf("without trusted proxies X-Forwarded-For was read: %v", seen)
	}
}

// TestDateTimeFieldErrors: a date-time in the wrong format, at any depth
// of a command, is a 422 naming the field and the format expected.
func TestDateTimeFieldErrors(t *testing.T) {
	type window struct {
		Phase    string    `json:"phase"`
		StartsAt time.Time `json:"starts_at"`
	}
	type command struct {
		Name     string    `json:"name"`
		Deadline time.Time `json:"cancellation_deadline"`
		Until    *time.Time
		Schedule []window `json:"schedule"`
	}
	for _, tc := range []struct{ body, field string }{
		{`{"cancellation_deadline":"2015-10-14 09:00"}`, "cancellation_deadline"},
		{`{"cancellation_deadline":20151014}`, "cancellation_deadline"},
		{`{"name":"x","schedule":[{"phase":"a","starts_at":"2015-10-14T09:00:00Z"},{"phase":"b","starts_at":"next week"}]}`, "schedule[1].starts_at"},
		{`{"until":"yesterday"}`, "Until"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		var c command
		err := DecodeJSON(r, &c)
		var p *Problem
		if !errors.As(err, &p) || p.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != tc.field || !strings.Contains(p.Errors[0].Message, "RFC 3339") {
			t.Errorf("%s: got %v (%+v), want a 422 naming %s and the format", tc.body, err, p, tc.field)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"cancellation_deadline":"2015-10-14T09:00:00+08:00","schedule":[]}`))
	var c command
	if err := DecodeJSON(r, &c); err != nil || c.Deadline.IsZero() {
		t.Errorf("a good date-time was refused: %v", err)
	}
}

// Package httpserver is the HTTP base every service mounts on: a chi router
// with request ids, access logs, panic recovery, body limits and metrics, the
// operational endpoints (/healthz, /readyz, /metrics), problem+json errors,
// and a server that shuts down gracefully when its context ends.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Options left zero.
const (
	// DefaultMaxBodyBytes matches the event store's largest append, so any
	// request that could become one event batch fits.
	DefaultMaxBodyBytes    = 1 << 20
	DefaultShutdownTimeout = 10 * time.Second
)

// Options configure a Server; the zero value works.
type Options struct {
	Logger *slog.Logger // nil: discard
	// Registry is served at /metrics; nil creates one with NewRegistry. Pass
	// your own to register other collectors (the event store's) on it.
	Registry        *prometheus.Registry
	MaxBodyBytes    int64         // per request unless a route sets its own LimitBody; 0: DefaultMaxBodyBytes
	ShutdownTimeout time.Duration // how long in-flight requests get to finish; 0: DefaultShutdownTimeout
	// TrustedProxies are the CIDR prefixes of the reverse proxies in front
	// of the server. A request from one of them has its client address
	// taken from X-Forwarded-For (chi's middleware.GetClientIP); empty means
	// no proxy is trusted and the TCP peer is the client, because a header
	// anyone can send must not decide whose rate limit a request counts
	// against. Each prefix must parse with netip.ParsePrefix.
	TrustedProxies []string
	// NoKeepAlive closes each connection after its answer. A server that
	// hands its listener over to another one needs it: a client's idle
	// connection would otherwise be cut under its next request.
	NoKeepAlive bool
}

// Server is the router plus the operational endpoints.
type Server struct {
	router          *chi.Mux
	logger          *slog.Logger
	registry        *prometheus.Registry
	shutdownTimeout time.Duration
	noKeepAlive     bool

	mu       sync.Mutex
	checks   []readyCheck
	stopping atomic.Bool
}

// New builds the router with its middleware and operational endpoints.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	s := &Server{
		router:          chi.NewRouter(),
		logger:          opts.Logger,
		registry:        opts.Registry,
		shutdownTimeout: opts.ShutdownTimeout,
		noKeepAlive:     opts.NoKeepAlive,
	}
	m := newHTTPMetrics(opts.Registry)
	if len(opts.TrustedProxies) > 0 {
		// First, so that the access log and every handler see the client.
		s.router.Use(middleware.ClientIPFromXFF(opts.TrustedProxies...))
	}
	// Metrics and the access log sit outside the recoverer so that a
	// panicking request is still counted and logged as the 500 it became.
	s.router.Use(
		requestID,
		m.middleware,
		accessLog(s.logger),
		recoverer(s.logger),
		limitBody(opts.MaxBodyBytes, false),
	)
	s.router.NotFound(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, NewProblem(http.StatusNotFound, TypeNotFound, "Not found", "No resource at "+r.URL.Path+"."))
	})
	s.router.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, NewProblem(http.StatusMethodNotAllowed, TypeMethodNotAllowed, "Method not allowed",
			r.Method+" is not supported on "+r.URL.Path+"."))
	})
	s.router.Get("/healthz", s.healthz)
	s.router.Get("/readyz", s.readyz)
	s.router.Handle("/metrics", metricsHandler(opts.Registry, s.logger))
	return s
}

// Router is where services mount their routes.
func (s *Server) Router() chi.Router { return s.router }

// Registry is the metrics registry served at /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Serve answers requests on ln until ctx ends, then stops accepting, lets
// in-flight requests finish within the shutdown timeout, and returns nil. It
// returns an error only when serving itself fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	srv.SetKeepAlivesEnabled(!s.noKeepAlive)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	// Readiness goes down first so a load balancer stops sending new work
	// while the old work drains.
	s.stopping.Store(true)
	s.logger.Info("shutting down", "timeout", s.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.logger.Warn("requests still running at the shutdown timeout were cut off", "err", err)
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	s.logger.Info("stopped")
	return nil
}

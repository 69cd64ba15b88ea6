// Package gateway is the reverse proxy in front of services that run one per
// process (`yunqi serve --services=gateway`). Each service owns path prefixes
// (its /api/<name> and /<name>, a few shared ones); the gateway sends every
// request to the service owning the longest matching prefix, round-robin
// over that service's healthy instances, fails over when an instance refuses
// the connection, and answers 502 problem+json naming the service when none
// of them answers. It knows nothing of the domain and keeps no state beyond
// instance health, so gateways can run side by side.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// Defaults for Config fields left zero.
const (
	DefaultHealthInterval = 2 * time.Second
	// DefaultTimeout is generous because it also bounds how long a service
	// may think before its response headers (an EPUB build, a bulk import);
	// dead instances are found by the health checks long before.
	DefaultTimeout = 30 * time.Second
)

// healthTimeout bounds one health check: an instance slower than this to
// say it is alive is no use to a user waiting behind the gateway. It does
// not shrink with HealthInterval, since a round waits for its slowest check
// before the next begins.
const healthTimeout = time.Second

// TypeServiceUnavailable is the problem type of a request no instance of
// its service answered.
const TypeServiceUnavailable = httpserver.ProblemBase + "service-unavailable"

// Service is one routed service and where its instances listen.
type Service struct {
	Name string // "conference"
	// Prefixes are the paths the service owns, matched on segment
	// boundaries: "/api/conference" matches "/api/conference" and
	// "/api/conference/x", not "/api/conferences".
	Prefixes []string
	// Instances are base URLs (scheme and host only). Empty means the
	// service is not routed: its paths answer 502 naming it.
	Instances []*url.URL
}

// Config configures a Gateway.
type Config struct {
	Services []Service
	// Default names the service that answers paths no prefix matches (the
	// home page, the not-found page, shared assets).
	Default string
	// HealthInterval is how often every instance's GET /healthz is polled;
	// 0: DefaultHealthInterval.
	HealthInterval time.Duration
	// Timeout bounds dialling an instance and waiting for its response
	// headers; 0: DefaultTimeout.
	Timeout time.Duration
	Logger  *slog.Logger // nil: discard
	// Transport replaces the HTTP transport to instances (tests); nil: one
	// built from Timeout.
	Transport http.RoundTripper
}

// Gateway routes requests to service instances. It is an http.Handler; Run
// keeps the health marks current and Ready reports them.
type Gateway struct {
	services       []*service
	routes         []route // longest prefix first
	def            *service
	proxy          *httputil.ReverseProxy
	health         *http.Client
	healthInterval time.Duration
	logger         *slog.Logger
}

type route struct {
	prefix string
	svc    *service
}

type service struct {
	name      string
	instances []*instance
	next      atomic.Uint64 // round-robin counter
}

// Instance states. An instance nobody has checked yet is routed to, since
// it probably works, but does not count towards Ready.
const (
	stateUnknown int32 = iota
	stateUp
	stateDown
)

type instance struct {
	service string
	base    *url.URL
	state   atomic.Int32
}

// New validates cfg and builds the gateway. Nothing is contacted until a
// request comes or Run starts.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = DefaultHealthInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	base := cfg.Transport
	if base == nil {
		base = newTransport(cfg.Timeout)
	}
	g := &Gateway{healthInterval: cfg.HealthInterval, logger: cfg.Logger}
	for _, s := range cfg.Services {
		svc := &service{name: s.Name}
		for _, u := range s.Instances {
			svc.instances = append(svc.instances, &instance{service: s.Name, base: u})
		}
		g.services = append(g.services, svc)
		if s.Name == cfg.Default {
			g.def = svc
		}
		for _, p := range s.Prefixes {
			g.routes = append(g.routes, route{prefix: normalPrefix(p), svc: svc})
		}
	}
	slices.SortFunc(g.routes, func(a, b route) int { return len(b.prefix) - len(a.prefix) })

	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      &failover{base: base, g: g},
		ModifyResponse: dropEchoedRequestID,
		ErrorHandler:   g.proxyError,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	g.health = &http.Client{
		Transport: base,
		Timeout:   healthTimeout,
		// A /healthz that redirects is misconfigured, not healthy.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return g, nil
}

func newTransport(timeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Instances are reached directly: an HTTP_PROXY meant for outbound
	// traffic must not capture the internal hop.
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = timeout
	// The default of 2 idle connections per host would make most requests
	// under load dial afresh.
	t.MaxIdleConnsPerHost = 64
	return t
}

func (cfg Config) validate() error {
	var errs []error
	names := map[string]bool{}
	owner := map[string]string{} // normalised prefix → service
	for i, s := range cfg.Services {
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("service %d has no name", i+1))
			continue
		}
		if names[s.Name] {
			errs = append(errs, fmt.Errorf("service %q is configured twice", s.Name))
			continue
		}
		names[s.Name] = true
		if len(s.Prefixes) == 0 && s.Name != cfg.Default {
			errs = append(errs, fmt.Errorf("service %q owns no path prefix, so no request would reach it", s.Name))
		}
		for _, p := range s.Prefixes {
			if err := checkPrefix(p); err != nil {
				errs = append(errs, fmt.Errorf("service %q: %w", s.Name, err))
				continue
			}
			np := normalPrefix(p)
			if o, ok := owner[np]; ok {
				errs = append(errs, fmt.Errorf("prefix %q is claimed by both %q and %q", np, o, s.Name))
				continue
			}
			owner[np] = s.Name
		}
		seen := map[string]bool{}
		for _, u := range s.Instances {
			if err := checkInstance(u); err != nil {
				errs = append(errs, fmt.Errorf("service %q: %w", s.Name, err))
				continue
			}
			if seen[u.Host] {
				errs = append(errs, fmt.Errorf("service %q lists instance %s twice", s.Name, u))
			}
			seen[u.Host] = true
		}
	}
	switch {
	case cfg.Default == "":
		errs = append(errs, errors.New("no default service: name the one that answers paths no prefix matches"))
	case !names[cfg.Default]:
		errs = append(errs, fmt.Errorf("default service %q is not among the services", cfg.Default))
	}
	if cfg.HealthInterval < 0 {
		errs = append(errs, fmt.Errorf("health interval %s is negative", cfg.HealthInterval))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("gateway config: %w", err)
	}
	return nil
}

func checkPrefix(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("prefix %q must start with /", p)
	}
	if strings.ContainsAny(p, "?#") || path.Clean(p) != normalPrefix(p) {
		return fmt.Errorf("prefix %q must be a clean path, without query, dot segments or doubled slashes", p)
	}
	return nil
}

// normalPrefix drops a trailing slash, since prefixes match on segment
// boundaries anyway: "/blog/" and "/blog" mean the same.
func normalPrefix(p string) string {
	if p == "/" {
		return p
	}
	return strings.TrimSuffix(p, "/")
}

// checkInstance accepts base URLs only. The proxy keeps the request's path
// as it is, so an instance serving under a sub-path would not work; and
// credentials in a URL would end up in logs.
func checkInstance(u *url.URL) error {
	switch {
	case u == nil:
		return errors.New("an instance URL is missing")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("instance %q: scheme must be http or https (write it as http://host:port)", u.Redacted())
	case u.Host == "":
		return fmt.Errorf("instance %q has no host", u.Redacted())
	case u.User != nil:
		return fmt.Errorf("instance %q must not carry credentials", u.Redacted())
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return fmt.Errorf("instance %q must be scheme and host only: services serve at the root", u.Redacted())
	}
	return nil
}

// ServeHTTP proxies r to an instance of the service owning its path.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	svc := g.match(r.URL.Path)
	if len(svc.instances) == 0 {
		writeUnavailable(w, r, svc.name, "The "+svc.name+" service has no route configured.")
		return
	}
	ctx := context.WithValue(r.Context(), attemptKey{}, &attempt{svc: svc, order: svc.order()})
	g.proxy.ServeHTTP(w, r.WithContext(ctx))
}

func (g *Gateway) match(p string) *service {
	for _, rt := range g.routes {
		if rt.prefix == "/" || p == rt.prefix || strings.HasPrefix(p, rt.prefix) && p[len(rt.prefix)] == '/' {
			return rt.svc
		}
	}
	return g.def
}

// order is the sequence in which a request tries the instances: the
// healthy ones round-robin, then those marked down, since a mark can be
// stale and trying costs only a refused dial.
func (s *service) order() []*instance {
	var up, down []*instance
	for _, in := range s.instances {
		if in.state.Load() == stateDown {
			down = append(down, in)
		} else {
			up = append(up, in)
		}
	}
	n := s.next.Add(1) - 1
	return append(rotate(up, n), rotate(down, n)...)
}

func rotate(list []*instance, n uint64) []*instance {
	if len(list) == 0 {
		return nil
	}
	k := int(n % uint64(len(list)))
	return append(list[k:len(list):len(list)], list[:k]...)
}

type attemptKey struct{}

// attempt travels with a proxied request, from ServeHTTP to the transport
// that tries its instances in turn.
type attempt struct {
	svc   *service
	order []*instance
}

func attemptFrom(ctx context.Context) *attempt {
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	return a
}

func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	retarget(pr.Out, attemptFrom(pr.In.Context()).order[0])
	// Services build absolute URLs from Host, and cross-origin protection
	// compares Origin with it: both must see what the browser sent.
	pr.Out.Host = pr.In.Host
	// X-Forwarded-* from the client are replaced, not appended to: the
	// services trust the header only from configured proxies, and the
	// gateway vouches only for what it saw itself.
	pr.SetXForwarded()
	// Unless a proxy the gateway's own server trusts stands in front, in
	// which case the client it resolved is the one to pass on.
	if ip := middleware.GetClientIP(pr.In.Context()); ip != "" {
		pr.Out.Header.Set("X-Forwarded-For", ip)
	}
	// One id for the request in the gateway's log and the service's.
	if id := httpserver.RequestID(pr.In.Context()); id != "" {
		pr.Out.Header.Set(httpserver.RequestIDHeader, id)
	}
}

func retarget(out *http.Request, in *instance) {
	out.URL.Scheme = in.base.Scheme
	out.URL.Host = in.base.Host
}

// dropEchoedRequestID keeps the response from carrying the request id
// twice: the gateway's server has set it already, and the service echoes
// the one it was given.
func dropEchoedRequestID(res *http.Response) error {
	if id := httpserver.RequestID(res.Request.Context()); id != "" && res.Header.Get(httpserver.RequestIDHeader) == id {
		res.Header.Del(httpserver.RequestIDHeader)
	}
	return nil
}

// proxyError answers a request no instance answered. The error names
// instance addresses, so it goes to the log; the client learns only which
// service failed.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if httpserver.IsTooLarge(err) {
		httpserver.WriteError(w, r, g.logger, err)
		return
	}
	name := attemptFrom(r.Context()).svc.name
	level := slog.LevelError
	if r.Context().Err() != nil {
		level = slog.LevelInfo // the client went away; nothing failed
	}
	g.logger.Log(r.Context(), level, "proxied request failed", "service", name, "method", r.Method,
		"path", r.URL.Path, "err", err, "request_id", httpserver.RequestID(r.Context()))
	writeUnavailable(w, r, name, "The "+name+" service did not answer.")
}

// unavailable extends the project's problem with the service's name
// (RFC 9457 extension member), which clients and operators read without
// parsing the detail.
type unavailable struct {
	httpserver.Problem
	Service string `json:"service"`
}

// writeUnavailable writes what httpserver.WriteProblem would, plus the
// service member, which *httpserver.Problem has no room for.
func writeUnavailable(w http.ResponseWriter, r *http.Request, name, detail string) {
	p := unavailable{
		Problem: *httpserver.NewProblem(http.StatusBadGateway, TypeServiceUnavailable, "Service unavailable", detail),
		Service: name,
	}
	p.RequestID = httpserver.RequestID(r.Context())
	h := w.Header()
	h.Set("Content-Type", httpserver.ProblemContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

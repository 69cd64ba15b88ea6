package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

type serveConfig struct {
	commonConfig
	Addr            string
	ShutdownTimeout time.Duration
	TrustedProxy    string
	SearchIndex     string
	Demo            bool
	Identity        identityFlags
	Engines         engineFlags
	Notify          notifyFlags
	// Services is the --services list as given; only is what it selects
	// (empty: every service), gateway whether this process is the gateway.
	Services    string
	only        []string
	gateway     bool
	Routes      []string
	routes      map[string][]*url.URL
	IdentityURL string
	PublicURL   string
}

const serveAbout = `
Serves Yunqi over HTTP on the embedded engines: the event log is
<data>/events.db, the signing keys are in <data>/keys. Besides the services
it answers /healthz (the process is up), /readyz (projections have caught
up), /metrics (Prometheus) and /api/openapi.json (the API description).
SIGINT or SIGTERM stops it gracefully.

One process runs every service by default. --services runs some of them,
for one service per process behind a gateway: --services=gateway with one
--route per service (--route conference=http://a:8080,http://b:8080) sends
each service's paths to its instances, round-robin, skipping those whose
/healthz fails. Services in another process than identity verify tokens
with the key set at --identity-url, or with the keys in --data when they
share the machine. With --eventstore and --search the log and the
index are EventStoreDB/KurrentDB and Meilisearch; an unreachable server is
retried with backoff while /readyz says what is awaited.

Rate limits are REQUESTS/WINDOW (10/15m, 30/1m, 10/h) or off; switch them
off only for load tests. Behind a reverse proxy, name it with
--trusted-proxy so that per-address limits count the client's address from
X-Forwarded-For instead of the proxy's.`

// parseServe reads serve's flags and environment into a checked
// configuration; help is true when -h was asked for and answered.
func parseServe(args []string, getenv func(string) string, stdout io.Writer) (c *serveConfig, set *config.Set, help bool, err error) {
	c = &serveConfig{}
	fs := flagSet("serve")
	set = config.New(fs, envPrefix, getenv)
	set.String(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)",
		config.Check(func(v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port: %w", err)
			}
			return nil
		}))
	c.register(set)
	set.Duration(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests may finish after SIGINT/SIGTERM",
		config.Check(func(d time.Duration) error {
			if d <= 0 {
				return errors.New("must be positive")
			}
			return nil
		}))
	set.String(&c.TrustedProxy, "trusted-proxy", "",
		"comma-separated CIDR prefixes or addresses of reverse proxies whose X-Forwarded-For names the client (default: trust none)",
		config.Check(func(v string) error {
			_, err := parseTrustedProxies(v)
			return err
		}))
	set.String(&c.SearchIndex, "search-index", "", "directory of the search index, which this process holds alone (default <data>/index)")
	set.Bool(&c.Demo, "demo", false, "seed demo data into an empty event log: the historic conference editions (closed) and next year's (open), the alliance's founding members, the 2013 contest and one in progress, a sample blog published as a collection, and staff accounts for each role, whose passwords are printed; a log with events is left as it is")
	c.Identity.register(set)
	c.Engines.register(set)
	c.Notify.register(set)
	set.String(&c.Services, "services", "all",
		"services this process runs: all, or a comma-separated list of "+strings.Join(serviceNames, ", ")+"; or gateway alone",
		config.Check(func(v string) error {
			_, _, err := parseServices(v)
			return err
		}))
	set.List(&c.Routes, "route", "gateway only: SERVICE=URL[,URL…], the instances of one service",
		config.Check(func(v []string) error {
			_, err := parseRoutes(v)
			return err
		}))
	set.String(&c.IdentityURL, "identity-url", "",
		"base URL of the identity service, whose key set verifies tokens in services running without it (default: the keys in --data)",
		config.Check(checkHTTPURL))
	set.String(&c.PublicURL, "public-url", "",
		"the site's address as readers reach it (https://yunqi.example), for the absolute links of feeds, the sitemap and books (default: each request's own host)",
		config.Check(func(v string) error {
			if v == "" {
				return nil
			}
			return checkHTTPURL(v)
		}))
	if help, err := parseFlags(fs, set.Parse, args, stdout, "serve [flags]", serveAbout); help || err != nil {
		return nil, nil, help, err
	}
	if fs.NArg() > 0 {
		return nil, nil, false, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	c.only, c.gateway, _ = parseServices(c.Services)
	c.routes, _ = parseRoutes(c.Routes)
	switch {
	case c.gateway && len(c.routes) == 0:
		return nil, nil, false, errors.New("serve: --services=gateway needs a --route for at least one service")
	case !c.gateway && len(c.routes) > 0:
		return nil, nil, false, errors.New("serve: --route is for --services=gateway; this process runs the services themselves")
	}
	// Settings that are only wrong together (a session shorter than its
	// access token) fail here, before anything is opened.
	if err := c.Identity.identityConfig(c.Data).Defaults().Validate(); err != nil {
		return nil, nil, false, err
	}
	return c, set, false, nil
}

// deps are the services' dependencies as this configuration sets them.
func (c *serveConfig) deps(store events.Store, logger *slog.Logger, reg prometheus.Registerer) serviceDeps {
	return serviceDeps{
		store:     store,
		logger:    logger,
		registry:  reg,
		dataDir:   c.Data,
		publicURL: strings.TrimSuffix(c.PublicURL, "/"),
		searchDir: searchDir(c.Data, c.SearchIndex),
		identity:  c.Identity.identityConfig(c.Data),
		only:      c.only,
	}
}

func (c *serveConfig) serverOptions(logger *slog.Logger, reg *prometheus.Registry) httpserver.Options {
	// parseServe checked the list already.
	proxies, _ := parseTrustedProxies(c.TrustedProxy)
	return httpserver.Options{
		Logger:          logger,
		Registry:        reg,
		ShutdownTimeout: c.ShutdownTimeout,
		TrustedProxies:  proxies,
	}
}

func serveCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c, set, help, err := parseServe(args, getenv, stdout)
	if help || err != nil {
		return err
	}

	logger := c.logger()
	logger.LogAttrs(ctx, slog.LevelInfo, "config", set.LogAttrs()...)

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	defer ln.Close()
	// Tests and scripts that ask for port 0 read the real address here,
	// once the port answers: when the app is built, or as soon as /readyz
	// can say which server it waits for.
	announce := sync.OnceFunc(func() {
		fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
		logger.Info("listening", "addr", ln.Addr().String(), "data", c.Data, "services", c.Services)
	})

	registry := httpserver.NewRegistry()
	if c.gateway {
		announce()
		return serveGateway(ctx, c, ln, c.serverOptions(logger, registry))
	}
	eng, err := connectEngines(ctx, c, c.runs("search"), ln, announce, logger, registry)
	if err != nil {
		return err
	}
	defer eng.Close()
	if c.Demo {
		if err := seedDemo(ctx, eng.store, logger, c.Data, stdout); err != nil {
			return err
		}
	}

	deps := c.deps(eng.store, logger, registry)
	deps.openIndex = eng.openIndex
	if c.runs("notify") {
		if deps.mailer, err = c.Notify.mailer(); err != nil {
			return err
		}
		deps.siteURL = siteURL(deps.publicURL, ln.Addr())
		deps.mailLease = c.Notify.MailLease
	}
	if !c.runs("identity") {
		if deps.verifier, deps.pageSession, deps.revocations, err = c.remoteAuth(eng.store, logger); err != nil {
			return err
		}
	}
	a, err := newApp(deps, c.serverOptions(logger, registry))
	if err != nil {
		return err
	}

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	wait := a.runServices(ctx, stop)
	announce()
	err = a.server.Serve(ctx, ln)
	stop(nil)
	wait()
	if err != nil {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// app is what serve runs: the HTTP server with the services mounted. Tests
// build it with newApp too, so that what they check is what serve serves.
type app struct {
	server   *httpserver.Server
	services []service
	// background is work besides the services': the deny list of revoked
	// tokens when identity runs in another process.
	background []func(context.Context) error
}

func newApp(deps serviceDeps, opts httpserver.Options) (*app, error) {
	srv := httpserver.New(opts)
	srv.Router().Handle("/static/*", http.StripPrefix("/static/", web.Static()))

	ui, err := web.New(web.Options{Logger: opts.Logger, SecureCookies: deps.identity.SecureCookies})
	if err != nil {
		return nil, err
	}
	deps.ui = ui
	services, pageSession, err := newServices(deps)
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		s.mount(srv.Router())
		if s.ready != nil {
			srv.AddReadyCheck(s.name, s.ready)
		}
	}
	// The shell's own pages (home, not found) know the visitor through the
	// same page session as the services' pages.
	ui.Mount(srv.Router(), pageSession)
	doc, err := openAPIDocument(services)
	if err != nil {
		return nil, err
	}
	srv.Router().Get(openAPIPath, serveOpenAPI(doc))
	a := &app{server: srv, services: services}
	if deps.revocations != nil {
		srv.AddReadyCheck("revocations", deps.revocations.Ready)
		a.background = append(a.background, deps.revocations.Run)
	}
	return a, nil
}

// runServices starts the services' background work. A service that fails
// stops the whole server through stop, rather than serving stale answers;
// the returned wait blocks until every service has returned.
func (a *app) runServices(ctx context.Context, stop context.CancelCauseFunc) (wait func()) {
	var wg sync.WaitGroup
	for _, s := range a.services {
		if s.run == nil {
			continue
		}
		wg.Go(func() {
			if err := s.run(ctx); err != nil && ctx.Err() == nil {
				stop(fmt.Errorf("service %s: %w", s.name, err))
			}
		})
	}
	for _, run := range a.background {
		wg.Go(func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				stop(err)
			}
		})
	}
	return wg.Wait
}

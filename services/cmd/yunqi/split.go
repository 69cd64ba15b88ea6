package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/services/gateway"
	"github.com/yunqi-town/yunqi/services/identity"
)

// One service per process: every service process opens the same event
// log (the SQLite file on one machine, or EventStoreDB), only the search
// process holds the index, and a gateway process sends each path to the
// service that owns it.

// parseServices reads --services: "all" (only is nil), "gateway" alone, or
// a list of service names.
func parseServices(v string) (only []string, gw bool, err error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "all") {
		return nil, false, nil
	}
	for n := range strings.SplitSeq(v, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		switch {
		case n == "":
			continue
		case n == "gateway":
			gw = true
		case n == "all":
			return nil, false, errors.New(`"all" cannot be combined with names`)
		case !slices.Contains(serviceNames, n):
			return nil, false, fmt.Errorf("no service %q (want %s, or gateway)", n, strings.Join(serviceNames, ", "))
		case slices.Contains(only, n):
			return nil, false, fmt.Errorf("%s is named twice", n)
		default:
			only = append(only, n)
		}
	}
	if gw && len(only) > 0 {
		return nil, false, errors.New("the gateway runs alone: --services=gateway, and the services in their own processes")
	}
	if !gw && len(only) == 0 {
		return nil, false, errors.New("names no service")
	}
	return only, gw, nil
}

// parseRoutes reads the --route entries: SERVICE=URL[,URL…].
func parseRoutes(entries []string) (map[string][]*url.URL, error) {
	routes := map[string][]*url.URL{}
	for _, e := range entries {
		name, list, ok := strings.Cut(e, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want SERVICE=URL[,URL…]", e)
		}
		if !slices.Contains(serviceNames, name) {
			return nil, fmt.Errorf("%q: no service %q (want %s)", e, name, strings.Join(serviceNames, ", "))
		}
		if _, dup := routes[name]; dup {
			return nil, fmt.Errorf("%s is routed twice: list all its instances in one --route", name)
		}
		for raw := range strings.SplitSeq(list, ",") {
			raw = strings.TrimSpace(raw)
			if raw == "" {
				continue
			}
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("%s: %q is not an http:// or https:// URL with a host", name, raw)
			}
			if u.Path != "" && u.Path != "/" {
				return nil, fmt.Errorf("%s: %q has a path; an instance is a base URL, the path is the request's", name, raw)
			}
			u.Path = ""
			routes[name] = append(routes[name], u)
		}
		if len(routes[name]) == 0 {
			return nil, fmt.Errorf("%q names no instance", e)
		}
	}
	return routes, nil
}

// runs reports whether this process runs the named service.
func (c *serveConfig) runs(name string) bool {
	return !c.gateway && (len(c.only) == 0 || slices.Contains(c.only, name))
}

// remoteAuth is how a process without identity knows callers: tokens are
// checked against identity's published key set and this process's own
// deny list of revoked tokens, which follows store's log (its Run and
// Ready are the caller's to run and report), and pages renew an expired
// session through identity's renew page.
func (c *serveConfig) remoteAuth(store events.Store, logger *slog.Logger) (*auth.Verifier, func(http.Handler) http.Handler, *identity.Revocations, error) {
	idCfg := c.Identity.identityConfig(c.Data).Defaults()
	var keys auth.KeySource
	if c.IdentityURL != "" {
		keys = auth.NewRemoteJWKS(strings.TrimRight(c.IdentityURL, "/")+"/.well-known/jwks.json", auth.RemoteOptions{})
	} else {
		logger.Info("no --identity-url: tokens are verified with the signing keys in the data dir", "dir", c.Data)
		keys = identity.DiskKeySet(c.Data, idCfg.AccessTTL, logger)
	}
	revocations := identity.NewRevocations(store, nil, logger)
	v, err := auth.NewVerifier(keys, idCfg.VerifierConfig(revocations))
	if err != nil {
		return nil, nil, nil, err
	}
	return v, identity.RemotePageSession(v), revocations, nil
}

// gatewayMaxBody bounds what the gateway passes on. Each service enforces
// its own, smaller limits; this one only keeps the gateway from streaming
// without end.
const gatewayMaxBody = 1 << 30

// serveGateway runs the gateway on ln until ctx ends.
func serveGateway(ctx context.Context, c *serveConfig, ln net.Listener, opts httpserver.Options) error {
	var svcs []gateway.Service
	for _, n := range serviceNames {
		svcs = append(svcs, gateway.Service{Name: n, Prefixes: servicePrefixes(n), Instances: c.routes[n]})
	}
	gw, err := gateway.New(gateway.Config{Services: svcs, Default: "identity", Logger: opts.Logger})
	if err != nil {
		return err
	}
	// The API description is the services' fragments, known without
	// asking them, so the gateway serves it whole.
	var all []service
	for _, n := range serviceNames {
		all = append(all, service{name: n, openAPI: serviceOpenAPI[n]()})
	}
	doc, err := openAPIDocument(all)
	if err != nil {
		return err
	}
	srv := httpserver.New(opts)
	srv.Router().Get(openAPIPath, serveOpenAPI(doc))
	srv.Router().With(httpserver.LimitBody(gatewayMaxBody)).Handle("/*", gw)
	srv.AddReadyCheck("routes", gw.Ready)

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	err = srv.Serve(ctx, ln)
	stop()
	<-done
	return err
}

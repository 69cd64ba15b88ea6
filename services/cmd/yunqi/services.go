package main

import (
	"context"
	"log/slog"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/services/blog"
	"github.com/yunqi-town/yunqi/services/conference"
	"github.com/yunqi-town/yunqi/services/identity"
	"github.com/yunqi-town/yunqi/web"
)

// service is one slice of the domain that serve runs in this process. Each
// service package offers a constructor; newServices calls them and fills in
// this struct, so the seam stays a plain list that a reader can follow.
type service struct {
	name string
	// mount registers the service's routes: its JSON API under
	// /api/<name>/ and its pages under /<name>/.
	mount func(r chi.Router)
	// ready reports whether the service can answer correctly yet (its
	// projections have caught up); nil when it always can.
	ready httpserver.ReadyCheck
	// run does the background work (projections, subscriptions) until ctx
	// ends; nil when there is none. An error stops the server.
	run func(ctx context.Context) error
	// openAPI is the service's part of /api/openapi.json: a JSON object
	// with the "paths" of its API and the "components" they use, kept
	// beside its handlers so that the two change together. A test fails
	// when a registered API route is missing from it or vice versa.
	openAPI []byte
}

// serviceDeps is what services are built from.
type serviceDeps struct {
	store    events.Store
	logger   *slog.Logger
	registry prometheus.Registerer
	dataDir  string
	identity identity.Config
	ui       *web.UI
}

// newServices builds the services serve runs.
func newServices(deps serviceDeps) ([]service, error) {
	idCfg := deps.identity
	if idCfg.DataDir == "" {
		idCfg.DataDir = deps.dataDir
	}
	id, err := identity.New(idCfg, deps.store, deps.logger)
	if err != nil {
		return nil, err
	}
	pages, err := id.Pages(deps.ui) // parses templates and catalogues: a mistake stops start-up
	if err != nil {
		return nil, err
	}
	mountIdentity := func(r chi.Router) {
		id.Mount(r)
		pages.Mount(r)
		// The shell's own pages (home, not found) know the visitor through
		// identity's page session.
		deps.ui.Mount(r, id.PageSession)
	}
	bl, err := blog.New(blog.Config{Verifier: id.Verifier()}, deps.store, deps.logger)
	if err != nil {
		return nil, err
	}
	blogPages, err := bl.Pages(deps.ui)
	if err != nil {
		return nil, err
	}
	mountBlog := func(r chi.Router) {
		bl.Mount(r)
		blogPages.Mount(r, id.PageSession)
	}
	conf, err := conference.New(conference.Config{DataDir: deps.dataDir, Verifier: id.Verifier()}, deps.store, deps.logger)
	if err != nil {
		return nil, err
	}
	return []service{
		{name: "identity", mount: mountIdentity, ready: id.Ready, run: id.Run, openAPI: identity.OpenAPI()},
		{name: "conference", mount: conf.Mount, ready: conf.Ready, run: conf.Run, openAPI: conference.OpenAPI()},
		{name: "blog", mount: mountBlog, ready: bl.Ready, run: bl.Run, openAPI: blog.OpenAPI()},
	}, nil
}

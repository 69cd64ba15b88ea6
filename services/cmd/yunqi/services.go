package main

import (
	"context"
	"log/slog"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/services/alliance"
	"github.com/yunqi-town/yunqi/services/blog"
	"github.com/yunqi-town/yunqi/services/conference"
	"github.com/yunqi-town/yunqi/services/contest"
	"github.com/yunqi-town/yunqi/services/identity"
	"github.com/yunqi-town/yunqi/services/search"
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
	// searchDir holds the search index (<data>/index by default).
	searchDir string
	identity  identity.Config
	ui        *web.UI
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
	confPages, err := conf.Pages(deps.ui)
	if err != nil {
		return nil, err
	}
	mountConference := func(r chi.Router) {
		conf.Mount(r)
		confPages.Mount(r, id.PageSession)
	}
	runConference := func(ctx context.Context) error {
		// Both return when ctx ends; the pages' follower is waited for so
		// that it never reads a store that is being closed.
		done := make(chan struct{})
		go func() { defer close(done); confPages.Run(ctx) }()
		err := conf.Run(ctx)
		<-done
		return err
	}
	readyConference := func(ctx context.Context) error {
		if err := conf.Ready(ctx); err != nil {
			return err
		}
		return confPages.Ready(ctx)
	}
	sr, err := search.New(search.Config{Dir: deps.searchDir, Open: openSearchIndex(deps.logger)}, deps.store, deps.logger)
	if err != nil {
		return nil, err
	}
	searchPages, err := sr.Pages(deps.ui)
	if err != nil {
		return nil, err
	}
	mountSearch := func(r chi.Router) {
		sr.Mount(r)
		searchPages.Mount(r, id.PageSession)
	}
	al, err := alliance.New(alliance.Config{DataDir: deps.dataDir, Verifier: id.Verifier()}, deps.store, deps.logger)
	if err != nil {
		return nil, err
	}
	allPages, err := al.Pages(deps.ui)
	if err != nil {
		return nil, err
	}
	mountAlliance := func(r chi.Router) {
		al.Mount(r)
		allPages.Mount(r, id.PageSession)
	}
	ct, err := contest.New(contest.Config{DataDir: deps.dataDir, Verifier: id.Verifier()}, deps.store, deps.logger)
	if err != nil {
		return nil, err
	}
	contestPages, err := ct.Pages(deps.ui)
	if err != nil {
		return nil, err
	}
	mountContest := func(r chi.Router) {
		ct.Mount(r)
		contestPages.Mount(r, id.PageSession)
	}
	return []service{
		{name: "identity", mount: mountIdentity, ready: id.Ready, run: id.Run, openAPI: identity.OpenAPI()},
		{name: "search", mount: mountSearch, ready: sr.Ready, run: sr.Run, openAPI: search.OpenAPI()},
		{name: "conference", mount: mountConference, ready: readyConference, run: runConference, openAPI: conference.OpenAPI()},
		{name: "blog", mount: mountBlog, ready: bl.Ready, run: bl.Run, openAPI: blog.OpenAPI()},
		{name: "alliance", mount: mountAlliance, ready: al.Ready, run: al.Run, openAPI: alliance.OpenAPI()},
		{name: "contest", mount: mountContest, ready: ct.Ready, run: ct.Run, openAPI: contest.OpenAPI()},
	}, nil
}

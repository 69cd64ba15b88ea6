package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/services/alliance"
	"github.com/yunqi-town/yunqi/services/blog"
	"github.com/yunqi-town/yunqi/services/conference"
	"github.com/yunqi-town/yunqi/services/contest"
	"github.com/yunqi-town/yunqi/services/identity"
	"github.com/yunqi-town/yunqi/services/notify"
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

// serviceNames are the services serve can run, in the order they start;
// "gateway" is not among them, since it runs alone.
var serviceNames = []string{"identity", "search", "conference", "blog", "alliance", "contest", "notify"}

// servicePrefixes are the paths a service answers, on segment boundaries:
// its API under /api/<name> and its pages under /<name>. Identity also
// publishes the key set; the shell's own pages (home, not found) and the
// shared assets go with it as the gateway's default. A test checks every
// route a service mounts against this.
func servicePrefixes(name string) []string {
	p := []string{"/api/" + name, "/" + name}
	switch name {
	case "identity":
		p = append(p, "/.well-known")
	case "blog":
		// Crawlers look for these at the root of the site.
		p = append(p, "/sitemap.xml", "/robots.txt")
	}
	return p
}

// serviceOpenAPI is each service's part of /api/openapi.json, which the
// gateway serves whole without running any service.
var serviceOpenAPI = map[string]func() []byte{
	"identity":   identity.OpenAPI,
	"search":     search.OpenAPI,
	"conference": conference.OpenAPI,
	"blog":       blog.OpenAPI,
	"alliance":   alliance.OpenAPI,
	"contest":    contest.OpenAPI,
	"notify":     notify.OpenAPI,
}

// serviceDeps is what services are built from.
type serviceDeps struct {
	store    events.Store
	logger   *slog.Logger
	registry prometheus.Registerer
	dataDir  string
	// publicURL is the site's address for absolute links ("" : each
	// request's host).
	publicURL string
	// searchDir holds the search index (<data>/index by default), opened
	// with openIndex (nil: the embedded index).
	searchDir string
	openIndex search.OpenIndex
	identity  identity.Config
	ui        *web.UI
	// only names the services to run; empty runs them all.
	only []string
	// verifier and pageSession recognise callers when identity runs in
	// another process; with identity here, its own are used.
	verifier    *auth.Verifier
	pageSession func(http.Handler) http.Handler
	// revocations is the verifier's deny list then, which the app runs.
	revocations *identity.Revocations
	// mailer sends notification email (nil: inbox only); siteURL is the
	// address mail links point to.
	mailer    notify.Mailer
	siteURL   string
	mailLease time.Duration
}

func (d serviceDeps) runs(name string) bool { return len(d.only) == 0 || slices.Contains(d.only, name) }

// newServices builds the services serve runs, and the page session the
// shell's pages use.
func newServices(deps serviceDeps) ([]service, func(http.Handler) http.Handler, error) {
	var out []service
	var notifier *notify.Service
	verifier, pageSession := deps.verifier, deps.pageSession
	if deps.runs("identity") {
		idCfg := deps.identity
		if idCfg.DataDir == "" {
			idCfg.DataDir = deps.dataDir
		}
		if p, ok := deps.store.(*personalLog); ok {
			idCfg.Keys, idCfg.Claims = p.Keys(), p.claims
			// Derived from the master key, so every identity replica
			// knows the browsers any of them let in.
			idCfg.DeviceKey = p.Keys().Derive("identity device cookie")
		}
		// The notifier is made below; a person's copy of their data asks
		// it only once a request comes.
		if deps.runs("notify") {
			idCfg.Exporters = append(idCfg.Exporters, func(ctx context.Context, user, lang string) ([]identity.ExportFile, error) {
				if notifier == nil {
					return nil, errors.New("the notifier is not running")
				}
				var files []identity.ExportFile
				for name, data := range notifier.PersonalData(ctx, user, lang) {
					files = append(files, identity.ExportFile{Name: name, Data: data})
				}
				slices.SortFunc(files, func(a, b identity.ExportFile) int { return strings.Compare(a.Name, b.Name) })
				return files, nil
			})
		}
		id, err := identity.New(idCfg, deps.store, deps.logger)
		if err != nil {
			return nil, nil, err
		}
		pages, err := id.Pages(deps.ui) // parses templates and catalogues: a mistake stops start-up
		if err != nil {
			return nil, nil, err
		}
		verifier, pageSession = id.Verifier(), id.PageSession
		out = append(out, service{name: "identity", ready: id.Ready, run: id.Run,
			mount: func(r chi.Router) { id.Mount(r); pages.Mount(r) }})
	}
	if verifier == nil || pageSession == nil {
		return nil, nil, errors.New("the services need a token verifier: run identity in this process or name it")
	}
	if deps.runs("search") {
		open := deps.openIndex
		if open == nil {
			open = openSearchIndex(deps.logger)
		}
		sr, err := search.New(search.Config{Dir: deps.searchDir, Open: open}, deps.store, deps.logger)
		if err != nil {
			return nil, nil, err
		}
		pages, err := sr.Pages(deps.ui)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, service{name: "search", ready: sr.Ready, run: sr.Run,
			mount: func(r chi.Router) { sr.Mount(r); pages.Mount(r, pageSession) }})
	}
	if deps.runs("conference") {
		conf, err := conference.New(conference.Config{DataDir: deps.dataDir, Verifier: verifier, PublicURL: deps.publicURL}, deps.store, deps.logger)
		if err != nil {
			return nil, nil, err
		}
		pages, err := conf.Pages(deps.ui)
		if err != nil {
			return nil, nil, err
		}
		run := func(ctx context.Context) error {
			// Both return when ctx ends; the pages' follower is waited for
			// so that it never reads a store that is being closed.
			done := make(chan struct{})
			go func() { defer close(done); pages.Run(ctx) }()
			err := conf.Run(ctx)
			<-done
			return err
		}
		ready := func(ctx context.Context) error {
			if err := conf.Ready(ctx); err != nil {
				return err
			}
			return pages.Ready(ctx)
		}
		out = append(out, service{name: "conference", ready: ready, run: run,
			mount: func(r chi.Router) { conf.Mount(r); pages.Mount(r, pageSession) }})
	}
	if deps.runs("blog") {
		bl, err := blog.New(blog.Config{Verifier: verifier, DataDir: deps.dataDir, PublicURL: deps.publicURL}, deps.store, deps.logger)
		if err != nil {
			return nil, nil, err
		}
		pages, err := bl.Pages(deps.ui)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, service{name: "blog", ready: bl.Ready, run: bl.Run,
			mount: func(r chi.Router) { bl.Mount(r); pages.Mount(r, pageSession) }})
	}
	if deps.runs("alliance") {
		al, err := alliance.New(alliance.Config{DataDir: deps.dataDir, Verifier: verifier}, deps.store, deps.logger)
		if err != nil {
			return nil, nil, err
		}
		pages, err := al.Pages(deps.ui)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, service{name: "alliance", ready: al.Ready, run: al.Run,
			mount: func(r chi.Router) { al.Mount(r); pages.Mount(r, pageSession) }})
	}
	if deps.runs("contest") {
		ct, err := contest.New(contest.Config{DataDir: deps.dataDir, Verifier: verifier}, deps.store, deps.logger)
		if err != nil {
			return nil, nil, err
		}
		pages, err := ct.Pages(deps.ui)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, service{name: "contest", ready: ct.Ready, run: ct.Run,
			mount: func(r chi.Router) { ct.Mount(r); pages.Mount(r, pageSession) }})
	}
	if deps.runs("notify") {
		ncfg := notify.Config{Verifier: verifier, Mailer: deps.mailer, BaseURL: deps.siteURL,
			KeyFile: notifyKeyFile(deps.dataDir), Registry: deps.registry, Lease: deps.mailLease}
		if p, ok := deps.store.(*personalLog); ok {
			// Derived from the master key: every notifier replica signs
			// and checks unsubscribe links alike, with no secret of its own.
			ncfg.Key = p.Keys().Derive("notify unsubscribe links")
		}
		nt, err := notify.New(ncfg, deps.store, deps.logger)
		if err != nil {
			return nil, nil, err
		}
		pages, err := nt.Pages(deps.ui)
		if err != nil {
			return nil, nil, err
		}
		deps.ui.SetUnread(nt.Unread)
		notifier = nt
		out = append(out, service{name: "notify", ready: nt.Ready, run: nt.Run,
			mount: func(r chi.Router) { nt.Mount(r); pages.Mount(r, pageSession) }})
	}
	for i := range out {
		out[i].openAPI = serviceOpenAPI[out[i].name]()
	}
	return out, pageSession, nil
}

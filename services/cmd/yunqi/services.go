package main

import (
	"context"
	"log/slog"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/httpserver"
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
}

// serviceDeps is what services are built from.
type serviceDeps struct {
	store    events.Store
	logger   *slog.Logger
	registry prometheus.Registerer
	dataDir  string
}

// newServices builds the services serve runs. None exists yet.
func newServices(deps serviceDeps) ([]service, error) {
	return nil, nil
}

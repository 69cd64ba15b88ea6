package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/esdbstore"
	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/meiliindex"
)

// engineFlags choose the event log and the search engine: the embedded
// ones (SQLite in the data dir, Bleve beside it) unless a server is named.
type engineFlags struct {
	EventStore string
	SearchURL  string
	SearchKey  string
}

func (f *engineFlags) register(s *config.Set) {
	eventStoreFlag(s, &f.EventStore)
	s.String(&f.SearchURL, "search", "",
		"Meilisearch base URL (http://host:7700); empty: the embedded index in --search-index",
		config.Redact(redactURL), config.Check(checkHTTPURL))
	s.String(&f.SearchKey, "search-key", "", "Meilisearch API key (with --search)", config.Secret())
}

// eventStoreFlag registers --eventstore alone, for the commands that work
// on the log but never on the index.
func eventStoreFlag(s *config.Set, p *string) {
	s.String(p, "eventstore", "",
		"EventStoreDB or KurrentDB connection string (esdb://host:2113?tls=false); empty: the SQLite log in --data",
		config.Redact(redactURL), config.Check(checkEventStoreURL))
}

// openEventLog opens the log a command works on: EventStoreDB when url
// names one, else the SQLite log in --data, which must exist unless create.
func openEventLog(ctx context.Context, c *commonConfig, url string, create bool, logger *slog.Logger, reg prometheus.Registerer) (events.Store, error) {
	if url == "" {
		return openLog(c, create, logger, reg)
	}
	store, err := esdbstore.Open(url, esdbstore.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("event store %s: %w", redactURL(url), err)
	}
	// The client dials lazily: asking for the head is what tells whether
	// the server is there.
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := store.Head(hctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("event store %s is unreachable: %w", redactURL(url), err)
	}
	return store, nil
}

func (f *engineFlags) embedded() bool { return f.EventStore == "" && f.SearchURL == "" }

func checkEventStoreURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("not a connection string")
	}
	if u.Scheme != "esdb" && u.Scheme != "esdb+discover" {
		return fmt.Errorf("scheme %q: want esdb:// or esdb+discover://", u.Scheme)
	}
	return nil
}

func checkHTTPURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http:// or https:// URL with a host")
	}
	return nil
}

// redactURL keeps a URL readable in logs and errors without its password.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return config.Mask(v)
	}
	return u.Redacted()
}

// engines are the backends one serve process opened.
type engines struct {
	store events.Store
	// openIndex opens a search index generation; nil when this process
	// runs no search service.
	openIndex search.OpenIndex
	closers   []func()
}

func (e *engines) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// openEngines makes one attempt at opening the backends this process
// needs. An error from a server names its URL.
func openEngines(ctx context.Context, c *commonConfig, f engineFlags, needSearch bool, logger *slog.Logger, reg prometheus.Registerer) (*engines, error) {
	store, err := openPersonalLog(ctx, c, f.EventStore, true, logger, reg)
	if err != nil {
		return nil, err
	}
	e := &engines{store: store, closers: []func(){func() { store.Close() }}}
	if !needSearch {
		return e, nil
	}
	if f.SearchURL == "" {
		e.openIndex = openSearchIndex(logger)
		return e, nil
	}
	client, err := meiliindex.Connect(ctx, meiliindex.Config{URL: f.SearchURL, APIKey: f.SearchKey, Logger: logger})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("search engine: %w", err)
	}
	e.closers = append(e.closers, client.Close)
	e.openIndex = meiliOpener(client)
	return e, nil
}

// meiliOpener maps the search service's index generations (directories
// g1, g2… that a rebuild moves between) onto Meilisearch indexes named
// after them; the directory keeps only the service's lock, the name of the
// generation in use and a marker that the index was started from it. A
// generation whose directory is missing starts afresh: a rebuild clears
// the directory to build from position 0, and a new volume must not trust
// an index some earlier process left half-written under the same name.
func meiliOpener(client *meiliindex.Client) search.OpenIndex {
	return func(dir string) (search.Index, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		uid := "yunqi_" + filepath.Base(dir)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := client.Delete(ctx, uid); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, err
			}
		}
		return client.Open(ctx, uid)
	}
}

// connectEngines opens the backends, retrying with backoff while a server
// is unreachable. Meanwhile ln answers /healthz (the process is up) and a
// /readyz that says what it waits for, so an orchestrator neither kills the
// process nor sends it work. The embedded engines are opened once: a
// problem with a local file does not go away by waiting.
func connectEngines(ctx context.Context, c *serveConfig, needSearch bool, ln net.Listener, announce func(), logger *slog.Logger, reg prometheus.Registerer) (*engines, error) {
	if c.Engines.embedded() {
		return openEngines(ctx, &c.commonConfig, c.Engines, needSearch, logger, reg)
	}
	var (
		mu     sync.Mutex
		reason = errors.New("connecting to the event store and search engine")
	)
	boot := httpserver.New(httpserver.Options{Logger: logger, Registry: httpserver.NewRegistry(), ShutdownTimeout: time.Second,
		NoKeepAlive: true})
	boot.AddReadyCheck("engines", func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return reason
	})
	bootCtx, stopBoot := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- boot.Serve(bootCtx, handover{ln}) }()
	announce()
	defer func() {
		stopBoot()
		<-served
		resumeAccept(ln)
	}()

	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		e, err := openEngines(ctx, &c.commonConfig, c.Engines, needSearch, logger, reg)
		if err == nil {
			if attempt > 1 {
				logger.Info("engines reachable", "attempts", attempt)
			}
			return e, nil
		}
		if ctx.Err() != nil || errors.As(err, new(permanent)) {
			return nil, err
		}
		logger.Warn("engines not reachable; retrying", "err", err, "attempt", attempt, "retry_in", delay)
		mu.Lock()
		reason = fmt.Errorf("%w (attempt %d; next in %s)", err, attempt, delay)
		mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("gave up waiting: %w", err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 15*time.Second)
	}
}

// handover lets a server stop accepting on a listener without closing it,
// so that the next server takes over the same socket and a client that
// connects in between waits in the backlog instead of being refused.
type handover struct{ net.Listener }

func (h handover) Close() error {
	// A deadline in the past wakes the Accept the server is blocked in;
	// the server then sees it is shutting down and returns.
	if d, ok := h.Listener.(interface{ SetDeadline(time.Time) error }); ok {
		return d.SetDeadline(time.Now())
	}
	return nil
}

func resumeAccept(ln net.Listener) {
	if d, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
		d.SetDeadline(time.Time{})
	}
}

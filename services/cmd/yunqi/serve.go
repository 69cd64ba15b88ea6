package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

type serveConfig struct {
	commonConfig
	Addr            string
	ShutdownTimeout time.Duration
}

const serveAbout = `
Serves Yunqi over HTTP on the embedded engines: the event log is
<data>/events.db. Besides the services it answers /healthz (the process is
up), /readyz (projections have caught up) and /metrics (Prometheus).
SIGINT or SIGTERM stops it gracefully.`

func serveCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c serveConfig
	fs := flagSet("serve")
	set := config.New(fs, envPrefix, getenv)
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
	if help, err := parseFlags(fs, set.Parse, args, stdout, "serve [flags]", serveAbout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}

	logger := c.logger()
	logger.LogAttrs(ctx, slog.LevelInfo, "config", set.LogAttrs()...)

	registry := httpserver.NewRegistry()
	store, err := openLog(&c.commonConfig, true, logger, registry)
	if err != nil {
		return err
	}
	defer store.Close()

	srv := httpserver.New(httpserver.Options{
		Logger:          logger,
		Registry:        registry,
		ShutdownTimeout: c.ShutdownTimeout,
	})
	srv.Router().Handle("/static/*", http.StripPrefix("/static/", web.Static()))

	services, err := newServices(serviceDeps{store: store, logger: logger, registry: registry, dataDir: c.Data})
	if err != nil {
		return err
	}
	for _, s := range services {
		s.mount(srv.Router())
		if s.ready != nil {
			srv.AddReadyCheck(s.name, s.ready)
		}
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	// Tests and scripts that ask for port 0 read the real address here.
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	logger.Info("listening", "addr", ln.Addr().String(), "data", c.Data)

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	for _, s := range services {
		if s.run == nil {
			continue
		}
		wg.Go(func() {
			if err := s.run(ctx); err != nil && ctx.Err() == nil {
				stop(fmt.Errorf("service %s: %w", s.name, err))
			}
		})
	}
	err = srv.Serve(ctx, ln)
	stop(nil)
	wg.Wait()
	if err != nil {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

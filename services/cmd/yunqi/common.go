package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/infra/logging"
)

// envPrefix names every environment variable the binary reads.
const envPrefix = "YUNQI"

// commonConfig is what every command takes.
type commonConfig struct {
	Data          string
	LogFormat     string
	LogLevel      string
	MasterKeyFile string
}

func (c *commonConfig) register(s *config.Set) {
	s.String(&c.Data, "data", "./data", "data directory: the event log (events.db), the signing keys (keys/), later the search index",
		config.Check(func(v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("must name a directory")
			}
			return nil
		}))
	registerMasterKey(s, &c.MasterKeyFile)
	s.String(&c.LogFormat, "log-format", "text", "log format: text or json", config.Check(logging.CheckFormat))
	s.String(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error",
		config.Check(func(v string) error {
			_, err := logging.ParseLevel(v)
			return err
		}))
}

func (c *commonConfig) logger() *slog.Logger {
	// register's checks ran already, so New cannot fail here.
	log, err := logging.New(logOutput, c.LogFormat, c.LogLevel)
	if err != nil {
		panic(err)
	}
	return log
}

func (c *commonConfig) eventLogPath() string { return filepath.Join(c.Data, "events.db") }

// prepareDataDir makes sure dir is a directory this process can write,
// creating it when missing, so that a wrong --data fails here with its name
// rather than deep inside SQLite.
func prepareDataDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("data dir %s cannot be created: %w", dir, err)
		}
	case err != nil:
		return fmt.Errorf("data dir %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("data dir %s is not a directory", dir)
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// openLog opens the event log in the data dir. With create false the log
// must exist already: reading commands on a mistyped --data would otherwise
// report an empty log instead of the mistake.
func openLog(c *commonConfig, create bool, logger *slog.Logger, reg prometheus.Registerer) (*sqlitestore.Store, error) {
	path := c.eventLogPath()
	if !create {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no event log at %s (check --data, or run 'yunqi serve' or 'yunqi events import' first)", path)
		}
	}
	if err := prepareDataDir(c.Data); err != nil {
		return nil, err
	}
	store, err := sqlitestore.Open(path, sqlitestore.Options{Logger: logger, Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	return store, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/yunqi-town/yunqi/infra/config"
)

const backupAbout = `
Writes a consistent copy of the event log to FILE, a SQLite file that can
replace <data>/events.db. It is safe while 'yunqi serve' runs: appends go
on during the copy and the copy holds the log as of one moment. It never
overwrites an existing FILE.

The copy holds personal data sealed, never the keys that open it: back the
key store up on its own with --keys (a copy of <data>/keys.db, its keys
wrapped by the master key) and restore it with 'yunqi keys import', which
re-applies every erasure.`

func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("backup")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	to := fs.String("to", "", "write the copy to `FILE` (required; must not exist)")
	keys := fs.Bool("keys", false, "back up the key store (people's data keys, wrapped, and the erasure list) instead of the log")
	if help, err := parseFlags(fs, set.Parse, args, stdout, "backup --to FILE [flags]", backupAbout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup takes no arguments, got %q (use --to FILE)", fs.Args())
	}
	if *to == "" {
		return errors.New("backup: --to FILE is required")
	}
	logger := c.logger()
	if *keys {
		_, backend, err := openExistingKeys(ctx, &c)
		if err != nil {
			return err
		}
		defer backend.Close()
		if err := backend.Backup(ctx, *to); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backed up the key store %s to %s; it opens only with the master key %s\n", c.keyStorePath(), *to, c.masterKeyPath())
		return nil
	}
	store, err := openLog(&c, false, logger, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, *to); err != nil {
		return fmt.Errorf("back up %s: %w", c.eventLogPath(), err)
	}
	fi, err := os.Stat(*to)
	if err != nil {
		return fmt.Errorf("backup %s: %w", *to, err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes)\n", c.eventLogPath(), *to, fi.Size())
	return nil
}

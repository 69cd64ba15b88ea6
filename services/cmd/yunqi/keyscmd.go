package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/keystore"
	"github.com/yunqi-town/yunqi/events/keystore/sqlitekeys"
	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/services/identity"
)

// The data keys' own commands: `keys export` and `keys import` move the key
// store with a deployment, `backup --keys` copies it. Every file they write
// holds keys wrapped by the master key only, so it is useless without the
// master key, which moves separately (a mounted secret).

const keysExportAbout = `
Writes every person's data key, wrapped by the master key, and the erasure
list to FILE (JSON), to move the key store with a deployment: 'yunqi keys
import' on the new machine, which needs the same master key
(--master-key-file). Safe while 'yunqi serve' runs. Never overwrites FILE.`

const keysImportAbout = `
Adds the keys in FILE (written by 'yunqi keys export' or 'yunqi backup
--keys') to this data dir's key store. The erasure list is re-applied: a
person erased here, listed as erased in FILE, or erased in the event log
stays erased, whatever keys FILE holds. Restoring an old key backup is this
command. The master key must be the one FILE's keys were wrapped with.`

type keysFile struct {
	Format   string             `json:"format"` // "yunqi-keys-1"
	Exported time.Time          `json:"exported"`
	Keys     []keystore.Record  `json:"keys"`
	Erased   []keystore.Erasure `json:"erased"`
}

const keysFileFormat = "yunqi-keys-1"

func keysExportCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("keys export")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	to := fs.String("to", "", "write to `FILE` (required; must not exist)")
	if help, err := parseFlags(fs, set.Parse, args, stdout, "keys export --to FILE [flags]", keysExportAbout); help || err != nil {
		return err
	}
	if *to == "" || fs.NArg() > 0 {
		return errors.New("keys export: --to FILE is required and no arguments are taken")
	}
	if _, err := os.Lstat(*to); err == nil {
		return fmt.Errorf("keys export: %s already exists; choose a new name", *to)
	}
	_, backend, err := openExistingKeys(ctx, &c)
	if err != nil {
		return err
	}
	defer backend.Close()
	recs, gone, err := backend.Dump(ctx)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(keysFile{Format: keysFileFormat, Exported: time.Now().UTC(), Keys: recs, Erased: gone}, "", " ")
	if err != nil {
		return err
	}
	if err := writeAtomically(*to, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	if err := os.Chmod(*to, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %d keys and %d erasures to %s (wrapped by the master key in %s)\n", len(recs), len(gone), *to, c.masterKeyPath())
	return nil
}

func keysImportCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("keys import")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	var eventstore string
	eventStoreFlag(set, &eventstore)
	from := fs.String("from", "", "read `FILE` (required)")
	if help, err := parseFlags(fs, set.Parse, args, stdout, "keys import --from FILE [flags]", keysImportAbout); help || err != nil {
		return err
	}
	if *from == "" || fs.NArg() > 0 {
		return errors.New("keys import: --from FILE is required and no arguments are taken")
	}
	recs, gone, err := readKeysFile(ctx, *from)
	if err != nil {
		return fmt.Errorf("keys import: %s: %w", *from, err)
	}
	// On EventStoreDB the key store is in the event store itself.
	var keyLog events.Store
	if eventstore != "" {
		if keyLog, err = openEventLog(ctx, &c, eventstore, false, c.logger(), nil); err != nil {
			return err
		}
		defer keyLog.Close()
	}
	keys, backend, err := openKeys(ctx, &c, keyLog)
	if err != nil {
		return err
	}
	defer backend.Close()
	// Every key must open with this master key before any is added.
	for _, r := range recs {
		if err := keys.CheckWrapped(r); err != nil {
			return fmt.Errorf("keys import: %w; nothing was imported", err)
		}
	}
	// Erasures recorded in the event log count too: the log may be newer
	// than both key stores.
	if _, err := os.Stat(c.eventLogPath()); err == nil || eventstore != "" {
		raw, err := openEventLog(ctx, &c, eventstore, false, c.logger(), nil)
		if err != nil {
			return err
		}
		logged, err := loggedErasures(ctx, raw)
		raw.Close()
		if err != nil {
			return err
		}
		gone = append(gone, logged...)
	}
	if err := backend.Load(ctx, recs, gone); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d keys; %d erasures applied\n", len(recs), len(gone))
	return nil
}

// readKeysFile reads an export (JSON) or a key store backup (SQLite).
func readKeysFile(ctx context.Context, path string) ([]keystore.Record, []keystore.Erasure, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if bytes.HasPrefix(b, []byte("SQLite format 3\x00")) {
		s, err := sqlitekeys.Open(path)
		if err != nil {
			return nil, nil, err
		}
		defer s.Close()
		return s.Dump(ctx)
	}
	var f keysFile
	if err := json.Unmarshal(b, &f); err != nil || f.Format != keysFileFormat {
		return nil, nil, errors.New("not a key export or key store backup")
	}
	return f.Keys, f.Erased, nil
}

// loggedErasures lists the AccountErased events of the log.
func loggedErasures(ctx context.Context, raw events.Store) ([]keystore.Erasure, error) {
	var out []keystore.Erasure
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for m, err := range raw.Subscribe(ctx, events.SubscribeOptions{Filter: events.Filter{TypePrefixes: []string{"identity.AccountErased"}}}) {
		if err != nil {
			return nil, err
		}
		if m.Kind == events.KindCaughtUp {
			break
		}
		if m.Kind != events.KindEvent {
			continue
		}
		var p events.AccountErased
		if err := json.Unmarshal(m.Event.Data, &p); err == nil && p.UserID != "" {
			out = append(out, keystore.Erasure{Subject: p.UserID, At: m.Event.Recorded})
		}
	}
	return out, nil
}

// openExistingKeys opens the key store of a data dir that has one.
func openExistingKeys(ctx context.Context, c *commonConfig) (*keystore.Keyring, *sqlitekeys.Store, error) {
	if _, err := os.Stat(c.keyStorePath()); err != nil {
		return nil, nil, fmt.Errorf("no key store at %s (check --data)", c.keyStorePath())
	}
	keys, backend, err := openKeys(ctx, c, nil)
	if err != nil {
		return nil, nil, err
	}
	return keys, backend.(*sqlitekeys.Store), nil
}

const eraseAbout = `
Erases the account with this address on the person's request: their data
key is destroyed, so their personal data becomes unreadable in the log and
in every backup and export of it; every projection drops what it held, and
the address can sign up again. The log records the erasure (no personal
data) and this command's operating system user. It works while 'yunqi
serve' runs. Erasing is for ever.`

func eraseCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("users erase")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	var eventstore string
	eventStoreFlag(set, &eventstore)
	email := fs.String("email", "", "the account's email `ADDRESS` (required)")
	if help, err := parseFlags(fs, set.Parse, args, stdout, "users erase --email ADDRESS [flags]", eraseAbout); help || err != nil {
		return err
	}
	if *email == "" || fs.NArg() > 0 {
		return errors.New("users erase: --email ADDRESS is required and no arguments are taken")
	}
	store, err := openPersonalLog(ctx, &c, eventstore, false, c.logger(), nil)
	if err != nil {
		return err
	}
	defer store.Close()
	id, err := identity.EraseByEmail(ctx, store, store.claims, store.Keys(), *email, cliActor(getenv))
	if errors.Is(err, identity.ErrUserNotFound) {
		return fmt.Errorf("users erase: no account has the email address %q (an erased account's address is not known any more)", *email)
	}
	if err != nil {
		return fmt.Errorf("users erase: %w", err)
	}
	fmt.Fprintf(stdout, "erased account %s\n", id)
	return nil
}

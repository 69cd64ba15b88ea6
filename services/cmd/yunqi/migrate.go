package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/keystore"
	"github.com/yunqi-town/yunqi/events/sealing"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/services/identity"
)

const migrateAbout = `
Seals the personal data of a log written before personal data was sealed:
a copy-and-transform migration. It writes a new log beside the old one with
every event's personal member encrypted under its person's key (ids,
streams, revisions, types, metadata, recorded times and order kept), names
each address claim stream by the keyed hash instead of the plain one,
checks that the new log opens to exactly the old data, and then swaps it
in. The old log, which holds the personal data in clear, is deleted unless
--keep-old is given. Stop 'yunqi serve' first: a log that changes during
the migration is refused.

On EventStoreDB, export the database, import it into an empty embedded
log (yunqi events import), migrate that, and import the result into an
empty database.`

func migratePersonalCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("events migrate-personal")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	keepOld := fs.Bool("keep-old", false, "keep the old clear-text log as events.db.cleartext-<time> (delete it yourself once checked)")
	if help, err := parseFlags(fs, set.Parse, args, stdout, "events migrate-personal [flags]", migrateAbout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("events migrate-personal takes no arguments, got %q", fs.Args())
	}
	logger := c.logger()
	src, err := openLog(&c, false, logger, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	if e, found, err := firstClearText(ctx, src); err != nil {
		return err
	} else if !found {
		if err := writeSealedMarker(ctx, src, events.Any); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "the log holds no clear-text personal data; nothing to migrate")
		return nil
	} else {
		logger.Info("migrating: first clear-text event", "event", e.ID, "type", e.Type)
	}
	head, err := src.Head(ctx)
	if err != nil {
		return err
	}

	keys, backend, err := openKeys(ctx, &c, nil)
	if err != nil {
		return err
	}
	defer backend.Close()
	claims := identity.ClaimKey(keys.Derive("identity email claim"))

	// Pass 1: every address the log ever held, to rename the claim
	// streams named by its plain hash.
	// The same pass lists the people whose data is sealed, so their keys
	// are made in one write rather than one durable write each.
	renamed := map[string]string{}
	var subjects []string
	if err := eachEvent(ctx, src, head, func(e events.Event) error {
		for _, addr := range addressesIn(e) {
			renamed[events.EmailClaimStream(identity.LegacyClaimHash(addr))] = claims.ClaimStreamOf(addr)
		}
		if !sealing.IsSealed(upcast(e)) {
			subjects = append(subjects, e.Metadata.Subject)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := keys.Prepare(ctx, subjects); err != nil {
		return err
	}

	path := c.eventLogPath()
	tmp := path + ".migrating"
	for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(f)
	}
	dst, err := sqlitestore.Open(tmp, sqlitestore.Options{Logger: logger})
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			dst.Close()
			for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
				os.Remove(f)
			}
		}
	}()

	// Pass 2: copy, sealing.
	n := 0
	var batch []events.Event
	flush := func() error {
		err := dst.Restore(ctx, batch)
		batch = batch[:0]
		return err
	}
	started := time.Now()
	if err := eachEvent(ctx, src, head, func(e events.Event) error {
		// Copy and transform: each event at its current schema version
		// (older versions may hold personal fields outside the personal
		// member), then sealed.
		out, err := sealEvent(ctx, keys, upcast(e))
		if err != nil {
			return fmt.Errorf("event %s (%s in %s): %w", e.ID, e.Type, e.Stream, err)
		}
		if to, ok := renamed[e.Stream]; ok {
			out.Stream = to
		}
		batch = append(batch, out)
		n++
		if len(batch) == 1000 {
			return flush()
		}
		return nil
	}); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if err := writeSealedMarker(ctx, dst, events.NoStream); err != nil {
		return err
	}

	// Verify: the new log opens to exactly the old events.
	opened := sealing.New(dst, keys, logger)
	if err := verifyMigration(ctx, src, opened, head, renamed); err != nil {
		return fmt.Errorf("the migrated log does not match the old one, nothing was swapped: %w", err)
	}
	if now, err := src.Head(ctx); err != nil || now != head {
		return errors.New("the log changed during the migration (is 'yunqi serve' running?); nothing was swapped: stop it and run the migration again")
	}
	src.Close()
	if err := dst.Close(); err != nil {
		return err
	}
	closed = true

	old := fmt.Sprintf("%s.cleartext-%s", path, time.Now().UTC().Format("20060102T150405"))
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	if err := os.Rename(path, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Rename(old, path)
		return err
	}
	syncDir(filepath.Dir(path))
	if *keepOld {
		fmt.Fprintf(stdout, "kept the old log, with personal data in clear, at %s: delete it once you have checked the new one\n", old)
	} else if err := os.Remove(old); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sealed the personal data of %d events in %s (%.1f s); %d address claim streams renamed\n", n, path, time.Since(started).Seconds(), len(renamed))
	return nil
}

func eachEvent(ctx context.Context, store events.Store, head events.Position, f func(events.Event) error) error {
	after := events.Start
	for after.Compare(head) < 0 {
		page, err := store.ReadAll(ctx, events.ReadAllOptions{After: after})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, e := range page {
			if e.Position.Compare(head) > 0 {
				return nil
			}
			if err := f(e); err != nil {
				return err
			}
		}
		after = page[len(page)-1].Position
	}
	return nil
}

func sealEvent(ctx context.Context, keys *keystore.Keyring, e events.Event) (events.Event, error) {
	p, _, err := sealing.Seal(ctx, keys, events.Proposed{ID: e.ID, Type: e.Type, Data: e.Data, Metadata: e.Metadata})
	if err != nil {
		return e, err
	}
	e.Data, e.Metadata = p.Data, p.Metadata
	return e, nil
}

// addressesIn lists the addresses an old identity event holds in clear.
func addressesIn(e events.Event) []string {
	if !strings.HasPrefix(e.Type, "identity.") || !bytes.Contains(e.Data, []byte(`"email"`)) {
		return nil
	}
	var p struct {
		Personal *struct {
			Email string `json:"email"`
		} `json:"personal"`
	}
	if json.Unmarshal(e.Data, &p) != nil || p.Personal == nil || p.Personal.Email == "" {
		return nil
	}
	return []string{p.Personal.Email}
}

func verifyMigration(ctx context.Context, src events.Store, dst events.Store, head events.Position, renamed map[string]string) error {
	var want []events.Event
	if err := eachEvent(ctx, src, head, func(e events.Event) error { want = append(want, upcast(e)); return nil }); err != nil {
		return err
	}
	dstHead, err := dst.Head(ctx)
	if err != nil {
		return err
	}
	i := 0
	err = eachEvent(ctx, dst, dstHead, func(got events.Event) error {
		if got.Stream == sealedMarkerStream {
			return nil
		}
		if i >= len(want) {
			return fmt.Errorf("an extra event %s", got.ID)
		}
		w := want[i]
		i++
		stream := w.Stream
		if to, ok := renamed[stream]; ok {
			stream = to
		}
		if got.ID != w.ID || got.Type != w.Type || got.Stream != stream || got.Revision != w.Revision || !got.Recorded.Equal(w.Recorded) ||
			got.Metadata.SchemaVersion != w.Metadata.SchemaVersion {
			return fmt.Errorf("event %d: %s %s@%d, want %s %s@%d", i, got.ID, got.Stream, got.Revision, w.ID, stream, w.Revision)
		}
		// Sealing splices the member in place and opening splices the
		// same bytes back: the data must come back byte for byte.
		if !bytes.Equal(got.Data, w.Data) {
			return fmt.Errorf("event %s: its data opens to something else", w.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if i != len(want) {
		return fmt.Errorf("%d of %d events copied", i, len(want))
	}
	raw := dst.(*sealing.Store).Unwrap()
	rawHead, _ := raw.Head(ctx)
	return eachEvent(ctx, raw, rawHead, func(e events.Event) error {
		if !sealing.IsSealed(e) {
			return fmt.Errorf("event %s is still in clear", e.ID)
		}
		return nil
	})
}

// syncDir makes the renames durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

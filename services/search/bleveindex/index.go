// Package bleveindex is the embedded search backend: a Bleve v2 index on
// disk, analysed with services/search/analysis and ranked the way
// Meilisearch ranks (see rank.go). It implements search.Index and passes
// searchtest.
package bleveindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/lockfile"
	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/analysis"
)

// Index is a Bleve index in a directory of its own, which one process
// holds at a time.
type Index struct {
	dir  string
	lock *lockfile.Lock
	log  *slog.Logger

	mu     sync.RWMutex // Close waits for searches and writes in flight
	idx    bleve.Index
	closed bool

	lengths lengthCache // field lengths per segment, for ranking
	vocab   vocabCache  // the _all dictionary merged, for typos and prefixes
}

var _ search.Index = (*Index)(nil)

// Internal keys, stored with the documents in the same batches.
var (
	keyCheckpoint = []byte("yunqi.checkpoint")
	keySchema     = []byte("yunqi.schema")
)

// Options configure Open.
type Options struct {
	Logger *slog.Logger
}

// Open opens the index in dir, creating it when missing. The directory is
// locked for this process: a second Open, here or in another process,
// fails with a *lockfile.HeldError naming the holder. An index built with
// another schema version is discarded and created afresh (empty, at
// checkpoint Start), since it is only a projection of the log.
func Open(dir string, opts Options) (*Index, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("search index %s: %w", dir, err)
	}
	lock, err := lockfile.Acquire(filepath.Join(dir, "lock"), "search index "+dir)
	if err != nil {
		return nil, err
	}
	ix := &Index{dir: dir, lock: lock, log: opts.Logger}
	path := filepath.Join(dir, "bleve")
	idx, err := bleve.Open(path)
	if err == nil {
		v, verr := idx.GetInternal(keySchema)
		if verr == nil && string(v) == schemaVersion {
			ix.idx = idx
			return ix, nil
		}
		idx.Close()
		opts.Logger.Warn("search index was built with another schema; starting it afresh", "dir", dir, "schema", string(v), "want", schemaVersion)
		if err := os.RemoveAll(path); err != nil {
			lock.Release()
			return nil, fmt.Errorf("search index %s: remove outdated index: %w", dir, err)
		}
	} else if !errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		// A damaged index is only a projection: start again rather than
		// refuse to serve.
		opts.Logger.Warn("search index cannot be opened; starting it afresh", "dir", dir, "err", err)
		if err := os.RemoveAll(path); err != nil {
			lock.Release()
			return nil, fmt.Errorf("search index %s: remove damaged index: %w", dir, err)
		}
	}
	idx, err = bleve.New(path, newMapping())
	if err != nil {
		lock.Release()
		return nil, fmt.Errorf("search index %s: %w", dir, err)
	}
	b := idx.NewBatch()
	b.SetInternal(keySchema, []byte(schemaVersion))
	if err := idx.Batch(b); err != nil {
		idx.Close()
		lock.Release()
		return nil, fmt.Errorf("search index %s: %w", dir, err)
	}
	ix.idx = idx
	return ix, nil
}

// Dir is the index's directory.
func (ix *Index) Dir() string { return ix.dir }

// Close flushes and closes the index and releases the directory.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	err := ix.idx.Close()
	return errors.Join(err, ix.lock.Release())
}

// Apply writes the batch and its checkpoint in one Bleve batch, and
// returns once Bleve has persisted it: a crash afterwards loses nothing,
// and a crash before leaves the previous checkpoint with the previous
// documents, so the projector redoes exactly the batch.
func (ix *Index) Apply(ctx context.Context, b search.Batch) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return search.ErrClosed
	}
	batch := ix.idx.NewBatch()
	for _, id := range b.Deletes {
		batch.Delete(id)
	}
	for _, d := range b.Upserts {
		if d.ID == "" {
			return errors.New("search index: a document without an id")
		}
		doc, err := toBleve(d)
		if err != nil {
			return err
		}
		if err := batch.Index(d.ID, doc); err != nil {
			return fmt.Errorf("search index: document %s: %w", d.ID, err)
		}
	}
	cp, _ := b.Checkpoint.MarshalText()
	batch.SetInternal(keyCheckpoint, cp)
	return ix.writePersisted(ctx, batch)
}

// writePersisted applies a batch and waits until scorch has persisted it:
// only then is it durable, and only persisted segments are merged.
func (ix *Index) writePersisted(ctx context.Context, batch *bleve.Batch) error {
	persisted := make(chan error, 1)
	batch.SetPersistedCallback(func(err error) {
		select {
		case persisted <- err:
		default:
		}
	})
	if err := ix.idx.Batch(batch); err != nil {
		return fmt.Errorf("search index: write batch: %w", err)
	}
	select {
	case err := <-persisted:
		if err != nil {
			return fmt.Errorf("search index: persist batch: %w", err)
		}
		return nil
	case <-ctx.Done():
		// The batch is in and will be persisted; the caller is leaving.
		return ctx.Err()
	}
}

// Checkpoint reads the position stored with the documents.
func (ix *Index) Checkpoint(context.Context) (events.Position, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return events.Start, search.ErrClosed
	}
	v, err := ix.idx.GetInternal(keyCheckpoint)
	if err != nil {
		return events.Start, fmt.Errorf("search index: read checkpoint: %w", err)
	}
	if len(v) == 0 {
		return events.Start, nil
	}
	var p events.Position
	if err := p.UnmarshalText(v); err != nil {
		return events.Start, fmt.Errorf("search index: checkpoint %q: %w", v, err)
	}
	return p, nil
}

// Count is the number of documents.
func (ix *Index) Count(context.Context) (int, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return 0, search.ErrClosed
	}
	n, err := ix.idx.DocCount()
	return int(n), err
}

// toBleve is a document as the mapping expects it.
func toBleve(d search.Document) (map[string]any, error) {
	src, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("search index: encode document %s: %w", d.ID, err)
	}
	m := map[string]any{
		fieldSource: string(src),
		fieldBody:   d.Body,
		"summary":   d.Summary,
		"body":      d.Body,
	}
	// One title stays a plain value, so that documents without a second
	// title are indexed exactly as before titles could be several.
	switch titles := d.Titles(); len(titles) {
	case 0:
		m["title"] = ""
	case 1:
		m["title"] = titles[0]
	default:
		m["title"] = titles
	}
	names, labels := d.Names(), d.Labels()
	if len(names) > 0 {
		m["name"] = names
	}
	if len(d.Authors) > 0 {
		m["authors"] = d.Authors
	}
	if len(labels) > 0 {
		m["tags"] = labels
	}
	var py []string
	for _, a := range append(slices.Clone(d.Authors), names...) {
		py = append(py, analysis.Pinyin(a)...)
	}
	if len(py) > 0 {
		m[fieldPinyin] = py
	}
	kw := map[string]any{
		"type": d.Type, "blog": d.Blog, "slug": d.Slug,
		"city": d.City, "industry": d.Industry, "tier": d.Tier,
		"contest": d.Contest, "track": d.Track, "award": d.Award,
	}
	for k, v := range map[string][]string{"tags": d.Tags, "authors": d.Authors, "skills": d.Skills} {
		if len(v) > 0 {
			kw[k] = v
		}
	}
	for k, n := range map[string]int{"year": d.Year, "founded_year": d.FoundedYear} {
		if n != 0 {
			kw[k] = strconv.Itoa(n)
			m[k] = float64(n)
		}
	}
	for k, v := range kw {
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		m[filterPrefix+k] = v
		m[facetPrefix+k] = v
	}
	switch {
	case !d.Date.IsZero():
		m[fieldDate] = d.Date
	case d.JoinedOn != "":
		// A member's join date orders placeholder searches as a post's
		// date does.
		if t, err := time.Parse(time.DateOnly, d.JoinedOn); err == nil {
			m[fieldDate] = t
		}
	}
	lengths := map[string]int{
		"summary": analysis.ApproxWords(d.Summary), "body": analysis.ApproxWords(d.Body),
	}
	for _, group := range []struct {
		field  string
		values []string
	}{{"title", d.Titles()}, {"name", names}, {"authors", d.Authors}, {"tags", labels}} {
		for _, v := range group.values {
			lengths[group.field] += analysis.ApproxWords(v)
		}
	}
	for f, n := range lengths {
		m[lengthPrefix+f] = float64(n)
	}
	return m, nil
}

// document reads a stored document back, from r when given.
func (ix *Index) document(r index.IndexReader, id string) (search.Document, error) {
	var doc index.Document
	var err error
	if r != nil {
		doc, err = r.Document(id)
	} else {
		doc, err = ix.idx.Document(id)
	}
	if err != nil {
		return search.Document{}, err
	}
	if doc == nil {
		return search.Document{}, fmt.Errorf("search index: document %s vanished", id)
	}
	var src, body []byte
	doc.VisitFields(func(f index.Field) {
		switch f.Name() {
		case fieldSource:
			src = f.Value()
		case fieldBody:
			body = f.Value()
		}
	})
	var d search.Document
	if err := json.Unmarshal(src, &d); err != nil {
		return search.Document{}, fmt.Errorf("search index: decode document %s: %w", id, err)
	}
	d.ID, d.Body = id, string(body)
	return d, nil
}

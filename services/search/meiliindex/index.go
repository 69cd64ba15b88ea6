// Package meiliindex is the search backend on a Meilisearch server, through
// github.com/meilisearch/meilisearch-go. It implements search.Index and
// passes searchtest except the cases of our embedded engine's own ranking
// (Options.SkipEngineRanking).
//
// Meilisearch does the ranking, typo tolerance, prefixes, filters, facets,
// highlighting and cropping itself; this package configures the index so
// that they follow DESIGN.md, adds what Meilisearch lacks for Chinese
// (document.go), keeps the checkpoint with the documents, and waits on
// the tasks whose results a caller relies on.
package meiliindex

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
)

// Config locates the server and tunes how writes are waited on.
type Config struct {
	URL    string // e.g. http://127.0.0.1:7700
	APIKey string // sent as Authorization: Bearer; empty for an open server
	Logger *slog.Logger
	// HTTPClient, when set, carries every request (timeouts, TLS).
	HTTPClient *http.Client
	// Attempts bounds how often a write whose task fails is tried
	// (default 4); RetryDelay is the first pause between attempts, doubled
	// each time (default 250 ms).
	Attempts   int
	RetryDelay time.Duration
	// PollInterval is how often a task's status is asked for (default 10 ms:
	// the projector waits on every batch, so this is part of the lag).
	PollInterval time.Duration
	// ChunkSize bounds the documents of one addition task (default 1000):
	// Meilisearch's payload limit is 100 MB, and a post body is capped at
	// search.MaxBodyText.
	ChunkSize int
}

// Client is a connection to one Meilisearch server; it opens indexes.
type Client struct {
	cfg  Config
	meli meilisearch.ServiceManager
	log  *slog.Logger
}

// Connect checks that the server answers its health check. An unreachable
// server is an error naming the URL; retrying (and /readyz meanwhile) is
// the caller's choice.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("meilisearch: no URL")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 4
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 250 * time.Millisecond
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 1000
	}
	var opts []meilisearch.Option
	if cfg.APIKey != "" {
		opts = append(opts, meilisearch.WithAPIKey(cfg.APIKey))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, meilisearch.WithCustomClient(cfg.HTTPClient))
	}
	c := &Client{cfg: cfg, meli: meilisearch.New(cfg.URL, opts...), log: cfg.Logger}
	h, err := c.meli.Health(ctx)
	if err != nil {
		c.meli.Close()
		return nil, fmt.Errorf("meilisearch at %s is unreachable: %w", cfg.URL, err)
	}
	if h.Status != "available" {
		c.meli.Close()
		return nil, fmt.Errorf("meilisearch at %s is not available (health %q)", cfg.URL, h.Status)
	}
	return c, nil
}

// Close releases the client's connections.
func (c *Client) Close() { c.meli.Close() }

var uidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,400}$`)

// Open opens the index uid, creating it when missing, and brings its
// settings to this package's (an update of identical settings is a no-op
// task in Meilisearch, so opening is cheap when nothing changed).
func (c *Client) Open(ctx context.Context, uid string) (*Index, error) {
	if !uidPattern.MatchString(uid) {
		return nil, fmt.Errorf("meilisearch index %q: a uid is letters, digits, - and _", uid)
	}
	ix := &Index{c: c, uid: uid, idx: c.meli.Index(uid)}
	if _, err := c.meli.GetIndex(ctx, uid); err != nil {
		if !isCode(err, "index_not_found") {
			return nil, ix.errf("open", err)
		}
		err := ix.run(ctx, "create", func() (*meilisearch.TaskInfo, error) {
			return c.meli.CreateIndex(ctx, &meilisearch.IndexConfig{Uid: uid, PrimaryKey: attrID})
		}, "index_already_exists")
		if err != nil {
			return nil, err
		}
	}
	err := ix.run(ctx, "settings", func() (*meilisearch.TaskInfo, error) {
		return ix.idx.UpdateSettings(ctx, indexSettings())
	})
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// indexSettings follow DESIGN.md's "Search behaviour".
func indexSettings() *meilisearch.Settings {
	var filterable []string
	for f := range search.FilterableFields {
		filterable = append(filterable, f)
	}
	slices.Sort(filterable)
	return &meilisearch.Settings{
		// Meilisearch's default order, spelled out so that a server
		// configured otherwise is corrected: more matched words, fewer
		// typos, closer words, better fields, then exactness; sort only
		// matters to placeholder searches, which ask for newest first.
		RankingRules:         []string{"words", "typo", "proximity", "attribute", "sort", "exactness"},
		SearchableAttributes: searchableAttributes,
		DisplayedAttributes:  displayedAttributes,
		FilterableAttributes: filterable,
		SortableAttributes:   []string{attrSortTS},
		TypoTolerance: &meilisearch.TypoTolerance{
			Enabled: true,
			// None under 5 letters, one from 5, two from 9.
			MinWordSizeForTypos: meilisearch.MinWordSizeForTypos{OneTypo: 5, TwoTypos: 9},
			DisableOnWords:      []string{},
			// Pinyin initials are not words: "bky" with a typo would be
			// any three letters.
			DisableOnAttributes: []string{"py_name", "py_authors"},
		},
		Pagination: &meilisearch.Pagination{MaxTotalHits: search.MaxLimit},
		Faceting:   &meilisearch.Faceting{MaxValuesPerFacet: 100},
	}
}

// Index is one Meilisearch index holding the documents and the checkpoint.
type Index struct {
	c   *Client
	uid string
	idx meilisearch.IndexManager

	mu     sync.RWMutex // Close waits for calls in flight
	closed bool
}

var _ search.Index = (*Index)(nil)

// UID is the index's name on the server.
func (ix *Index) UID() string { return ix.uid }

func (ix *Index) errf(op string, err error) error {
	return fmt.Errorf("meilisearch %s index %s: %s: %w", ix.c.cfg.URL, ix.uid, op, err)
}

// TaskError is a Meilisearch task that did not succeed.
type TaskError struct {
	UID     int64
	Status  string
	Code    string
	Type    string
	Message string
}

func (e *TaskError) Error() string {
	return fmt.Sprintf("task %d %s: %s (%s)", e.UID, e.Status, e.Message, e.Code)
}

// run enqueues a task and waits for it, trying again (with backoff) when
// enqueuing fails or the task fails: a write that never made it must not
// be skipped, and the caller (the projector) must not move its checkpoint
// past it. A task failing with one of the ok codes counts as done.
func (ix *Index) run(ctx context.Context, what string, enqueue func() (*meilisearch.TaskInfo, error), ok ...string) error {
	delay := ix.c.cfg.RetryDelay
	var last error
	for attempt := 1; attempt <= ix.c.cfg.Attempts; attempt++ {
		if attempt > 1 {
			ix.c.log.Warn("meilisearch task failed; retrying", "index", ix.uid, "task", what, "attempt", attempt, "err", last)
			select {
			case <-ctx.Done():
				return ix.errf(what, errors.Join(ctx.Err(), last))
			case <-time.After(delay):
			}
			delay *= 2
		}
		info, err := enqueue()
		if err != nil {
			last = err
			continue
		}
		task, err := ix.c.meli.WaitForTask(ctx, info.TaskUID, ix.c.cfg.PollInterval)
		if err != nil {
			last = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if task.Status == meilisearch.TaskStatusSucceeded {
			return nil
		}
		te := &TaskError{UID: task.UID, Status: string(task.Status), Code: string(task.Error.Code), Type: task.Error.Type, Message: task.Error.Message}
		for _, c := range ok {
			if te.Code == c {
				return nil
			}
		}
		last = te
	}
	return ix.errf(fmt.Sprintf("%s (after %d attempts)", what, ix.c.cfg.Attempts), last)
}

func isCode(err error, code string) bool {
	var me *meilisearch.Error
	return errors.As(err, &me) && string(me.APIError.Code) == code
}

// Apply writes the batch. Meilisearch has no transaction across tasks, so
// the order makes it all or nothing as far as the projector can tell:
// deletions first, then the upserts, and the checkpoint travels in the
// last addition task (one task is atomic), enqueued only once every
// earlier task has succeeded. A crash in between leaves the old
// checkpoint, and replaying the batch is harmless (deletes and upserts
// are idempotent).
func (ix *Index) Apply(ctx context.Context, b search.Batch) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return search.ErrClosed
	}
	if len(b.Deletes) > 0 {
		keys := make([]string, len(b.Deletes))
		for i, id := range b.Deletes {
			keys[i] = primaryKey(id)
		}
		if err := ix.run(ctx, "delete documents", func() (*meilisearch.TaskInfo, error) {
			return ix.idx.DeleteDocuments(ctx, keys, nil)
		}); err != nil {
			return err
		}
	}
	docs := make([]any, 0, len(b.Upserts)+1)
	for _, d := range b.Upserts {
		docs = append(docs, toWire(d))
	}
	docs = append(docs, checkpointDoc{
		PK: checkpointID, Type: checkpointType,
		Commit:  strconv.FormatUint(b.Checkpoint.Commit, 10),
		Prepare: strconv.FormatUint(b.Checkpoint.Prepare, 10),
	})
	pk := attrID
	opts := &meilisearch.DocumentOptions{PrimaryKey: &pk}
	// Earlier chunks are enqueued together (Meilisearch batches them) and
	// all waited for before the last, which carries the checkpoint.
	n := ix.c.cfg.ChunkSize
	var pending []func() error
	for len(docs) > n {
		chunk := docs[:n]
		docs = docs[n:]
		pending = append(pending, func() error {
			return ix.run(ctx, "add documents", func() (*meilisearch.TaskInfo, error) { return ix.idx.AddDocuments(ctx, chunk, opts) })
		})
	}
	for _, p := range pending {
		if err := p(); err != nil {
			return err
		}
	}
	return ix.run(ctx, "add documents and checkpoint", func() (*meilisearch.TaskInfo, error) {
		return ix.idx.AddDocuments(ctx, docs, opts)
	})
}

// Checkpoint reads the checkpoint document; an index without one is new.
func (ix *Index) Checkpoint(ctx context.Context) (events.Position, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return events.Position{}, search.ErrClosed
	}
	var cp checkpointDoc
	if err := ix.idx.GetDocument(ctx, checkpointID, nil, &cp); err != nil {
		if isCode(err, "document_not_found") || isCode(err, "index_not_found") {
			return events.Start, nil
		}
		return events.Position{}, ix.errf("checkpoint", err)
	}
	commit, err1 := strconv.ParseUint(cp.Commit, 10, 64)
	prepare, err2 := strconv.ParseUint(cp.Prepare, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return events.Position{}, ix.errf("checkpoint", err)
	}
	return events.Position{Commit: commit, Prepare: prepare}, nil
}

// Count is the number of documents, the checkpoint not counted.
func (ix *Index) Count(ctx context.Context) (int, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return 0, search.ErrClosed
	}
	st, err := ix.idx.GetStats(ctx, nil)
	if err != nil {
		return 0, ix.errf("count", err)
	}
	n := int(st.NumberOfDocuments)
	var cp checkpointDoc
	if err := ix.idx.GetDocument(ctx, checkpointID, nil, &cp); err == nil {
		n--
	} else if !isCode(err, "document_not_found") {
		return 0, ix.errf("count", err)
	}
	return n, nil
}

// Close makes the index refuse further calls; the server's index stays.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.closed = true
	return nil
}

// Drop deletes the index from the server (a retired generation).
func (ix *Index) Drop(ctx context.Context) error {
	ix.Close()
	return ix.c.deleteIndex(ctx, ix.uid)
}

// formatted unmarshals a hit's _formatted (marked, not yet escaped).
type formatted struct {
	Title   string   `json:"title"`
	TitleEN string   `json:"title_en"`
	Name    string   `json:"name"`
	NameZH  string   `json:"name_zh"`
	NameEN  string   `json:"name_en"`
	Authors []string `json:"authors"`
	Tags    []string `json:"tags"`
	Summary string   `json:"summary"`
	Body    string   `json:"body"`
}

// safeHTML escapes text that Meilisearch marked and turns the markers
// into <em>, closing one left open by a crop.
func safeHTML(s string) string {
	s = html.EscapeString(s)
	if opens := strings.Count(s, markOpen); opens > strings.Count(s, markClose) {
		s += markClose
	}
	return strings.NewReplacer(markOpen, "<em>", markClose, "</em>").Replace(s)
}

func safeAll(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = safeHTML(s)
	}
	return out
}

func parseDay(s string) (time.Time, error) { return time.Parse(time.DateOnly, s) }

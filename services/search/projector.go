package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// The projector keeps an index current with the log. It subscribes to $all
// from the index's checkpoint, filtered to the streams it indexes, turns
// events into document writes, and writes them with the new checkpoint in
// one Apply. While catching up it batches many events per Apply; once live
// it applies each event as soon as no other is waiting, so that a post is
// searchable within milliseconds of its append.

// indexedStreams are the stream prefixes the index is built from: blog
// posts, collections, alliance members, contests, user accounts and the
// blogs' own streams. Of the identity streams only profile updates and
// erasures are decoded, and of profile updates only the fields the
// person published are read (projector_identity.go); of the blogs' own
// streams only which account goes by which name there and the blog's
// deletion are read (erasure.go). Sessions, email claims, applications,
// name claims and the alliance's policy are never read at all.
var indexedStreams = []string{
	events.CategoryPost + "-",
	events.CategoryCollection + "-",
	events.CategoryMember + "-",
	events.CategoryContest + "-",
	events.CategoryUser + "-",
	events.CategoryBlog + "-",
}

// Batch limits while catching up: enough to amortise Bleve's per-batch
// cost, small enough to bound memory.
const (
	maxBatchDocs  = 256
	maxBatchBytes = 8 << 20
	// checkpointEvery bounds how often a checkpoint alone (events that
	// were filtered out) is written.
	checkpointEvery = time.Second
)

// projection is one index and the projector that feeds it.
type projection struct {
	ix    Index
	dir   string // where the index lives; "" when it is not on disk
	log   *slog.Logger
	store events.Store

	caughtUp atomic.Bool

	// mem is what the projector remembers of the log (erasure.go), and
	// learned the last position it has learned from: the log is read from
	// the start at every start for it, and projected into the index only
	// after the index's checkpoint.
	mem     *memory
	learned events.Position
	// compact asks for the index to be compacted after an erasure.
	compact chan struct{}

	// seen is the position the index has reached; moved is closed and
	// replaced whenever it advances (see waitFor).
	mu    sync.Mutex
	seen  events.Position
	moved chan struct{}
}

func newProjection(ix Index, dir string, store events.Store, log *slog.Logger) *projection {
	return &projection{ix: ix, dir: dir, store: store, log: log, moved: make(chan struct{}), mem: newMemory(), compact: make(chan struct{}, 1)}
}

func (p *projection) advance(pos events.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pos.Compare(p.seen) > 0 {
		p.seen = pos
		close(p.moved)
		p.moved = make(chan struct{})
	}
}

// waitFor waits until the index reflects the log up to pos.
func (p *projection) waitFor(ctx context.Context, pos events.Position) error {
	for {
		p.mu.Lock()
		reached, moved := pos.Compare(p.seen) <= 0, p.moved
		p.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type message struct {
	msg events.Message
	err error
}

// run follows the log until ctx ends, resubscribing after failures. It
// returns an error only when the index itself fails (the service cannot
// serve stale answers as if they were current).
func (p *projection) run(ctx context.Context) error {
	if c, ok := p.ix.(Compactor); ok {
		done := make(chan struct{})
		defer func() { <-done }()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { defer close(done); p.compactor(cctx, c) }()
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := p.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ie *indexError
		if errors.As(err, &ie) {
			return err
		}
		p.log.Error("search projector: subscription failed; resubscribing", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	return nil
}

// indexError marks failures of the index (as opposed to the log).
type indexError struct{ err error }

func (e *indexError) Error() string { return "search index: " + e.err.Error() }
func (e *indexError) Unwrap() error { return e.err }

// compactWithin is how long after an erasure the index's files may still
// hold the person's bytes.
const compactWithin = 60 * time.Second

// compactor compacts the index whenever an erasure asks for it; requests
// that come while it works are served by one more compaction.
func (p *projection) compactor(ctx context.Context, c Compactor) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.compact:
		}
		// Once now, and again after the index has persisted what was
		// still in memory: a deletion the persister writes out after the
		// first pass leaves a segment with the deleted bytes that only a
		// later pass sees.
		for _, wait := range []time.Duration{0, 3 * time.Second, 12 * time.Second, 25 * time.Second} {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			cctx, cancel := context.WithTimeout(ctx, compactWithin)
			started := time.Now()
			err := c.Compact(cctx)
			cancel()
			if err == nil {
				p.log.Debug("search index compacted after an erasure", "took", time.Since(started))
			}
			if err != nil && ctx.Err() == nil {
				p.log.Error("search index: compacting after an erasure failed; erased documents' bytes may stay in its files until the next one", "err", err)
			}
		}
	}
}

func (p *projection) compactSoon() {
	select {
	case p.compact <- struct{}{}:
	default:
	}
}

// follow subscribes once: from the start of what the memory has not
// learned, or from the index's checkpoint when that is earlier.
func (p *projection) follow(ctx context.Context) error {
	after, err := p.ix.Checkpoint(ctx)
	if err != nil {
		return &indexError{err}
	}
	p.advance(after)
	from := after
	if p.learned.Compare(after) < 0 {
		from = p.learned
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan message, 4*maxBatchDocs)
	go func() {
		defer close(msgs)
		for m, err := range p.store.Subscribe(ctx, events.SubscribeOptions{After: from, Filter: events.Filter{StreamPrefixes: indexedStreams}}) {
			select {
			case msgs <- message{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	b := newPending(after)
	lastWrite := time.Now()
	flush := func() error {
		if !b.dirty() {
			return nil
		}
		if err := p.ix.Apply(ctx, b.batch()); err != nil {
			return &indexError{err}
		}
		p.advance(b.checkpoint)
		if b.purge {
			p.compactSoon()
		}
		b.reset()
		lastWrite = time.Now()
		return nil
	}
	for {
		var m message
		var ok bool
		select {
		case m, ok = <-msgs:
		default:
			// Nothing waiting: write what we have, so that live events
			// become searchable at once.
			if b.docs() > 0 || b.dirty() && time.Since(lastWrite) >= checkpointEvery {
				if err := flush(); err != nil {
					return err
				}
			}
			select {
			case m, ok = <-msgs:
			case <-time.After(checkpointEvery):
				if err := flush(); err != nil {
					return err
				}
				continue
			}
		}
		if !ok {
			if err := flush(); err != nil {
				return err
			}
			return ctx.Err()
		}
		if m.err != nil {
			if err := flush(); err != nil {
				return err
			}
			return m.err
		}
		switch m.msg.Kind {
		case events.KindEvent:
			e := m.msg.Event
			learn, index := e.Position.Compare(p.learned) > 0, e.Position.Compare(after) > 0
			ops, purge, err := p.project(ctx, e, learn, index)
			if err != nil {
				// The event is not consumed: the next subscription
				// starts from the checkpoint before it.
				if ferr := flush(); ferr != nil {
					return ferr
				}
				return err
			}
			if learn {
				p.learned = e.Position
			}
			if !index {
				continue
			}
			for _, o := range ops {
				b.add(o)
			}
			b.purge = b.purge || purge
			b.checkpoint = e.Position
		case events.KindCheckpoint:
			if m.msg.Position.Compare(after) <= 0 {
				continue
			}
			b.checkpoint = m.msg.Position
		case events.KindCaughtUp:
			if m.msg.Position.Compare(b.checkpoint) > 0 {
				b.checkpoint = m.msg.Position
			}
			if err := flush(); err != nil {
				return err
			}
			if !p.caughtUp.Swap(true) {
				p.log.Info("search index caught up with the event log", "position", b.checkpoint.String())
			}
			continue
		}
		if b.docs() >= maxBatchDocs || b.bytes >= maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// op is what one event does to the index.
type op struct {
	id     string
	doc    *Document // nil: delete
	ignore bool
}

// project maps an event to its index operations, by the category of its
// stream: each source has its own function, which decodes only the event
// types it indexes or remembers. Only public events put anything in the
// index (for developer profiles: only the fields published). With learn
// the memory takes the event in (erasure.go); with index its operations
// are made. purge says they remove someone's personal data, after which
// the index is compacted. An error means the event could not be projected
// yet (the log could not be read) and must be tried again.
func (p *projection) project(ctx context.Context, e events.Event, learn, index bool) (ops []op, purge bool, err error) {
	one := func(o op) []op { return []op{o} }
	remembered := func(payload any) {
		if learn {
			p.mem.learn(e, payload)
		}
	}
	switch events.Category(e.Stream) {
	case events.CategoryPost:
		payload, ok := p.decode(e)
		if !ok {
			return nil, false, nil
		}
		remembered(payload)
		if index {
			return one(p.postOpOf(e, payload)), false, nil
		}
	case events.CategoryBlog:
		if !isBlogStreamEvent(e.Type) {
			return nil, false, nil
		}
		payload, ok := p.decode(e)
		if !ok {
			return nil, false, nil
		}
		remembered(payload)
		if v, ok := payload.(events.BlogDeleted); ok && index {
			ops, err := p.deletionOps(ctx, v.Name)
			return ops, true, err
		}
	case events.CategoryCollection:
		if e.Type != typeCollectionPublished {
			return nil, false, nil
		}
		payload, ok := p.decode(e)
		if !ok {
			return nil, false, nil
		}
		remembered(payload)
		if index {
			return one(p.projectCollection(e, payload)), false, nil
		}
	case events.CategoryMember:
		if index {
			o, err := p.projectMember(ctx, e)
			return one(o), false, err
		}
	case events.CategoryContest:
		if e.Type != typeEntryPublished && e.Type != typeGalleryMemberNamed {
			return nil, false, nil
		}
		payload, ok := p.decode(e)
		if !ok {
			return nil, false, nil
		}
		remembered(payload)
		if index {
			return one(p.projectContest(e, payload)), false, nil
		}
	case events.CategoryUser:
		switch e.Type {
		case typeAccountErased:
			payload, ok := p.decode(e)
			if !ok {
				return nil, false, nil
			}
			remembered(payload)
			v, _ := payload.(events.AccountErased)
			if index && v.UserID != "" {
				ops, err := p.erasureOps(ctx, v.UserID)
				return ops, true, err
			}
		case typeProfileUpdated:
			if index {
				return one(p.projectProfile(e)), false, nil
			}
		}
	}
	return nil, false, nil
}

const typeAccountErased = "identity.AccountErased"

// isBlogStreamEvent: of a blog's own stream only who writes there under
// which name, and its deletion, are read.
func isBlogStreamEvent(t string) bool {
	switch t {
	case "blog.BlogCreated", "blog.BlogCoauthorAdded", "blog.BlogAuthorLinked", "blog.BlogDeleted":
		return true
	}
	return false
}

// decode decodes a payload; an event this binary cannot read is logged
// and skipped.
func (p *projection) decode(e events.Event) (any, bool) {
	payload, err := events.Types.Decode(e)
	if err != nil {
		if !errors.Is(err, events.ErrUnknownType) {
			p.log.Error("search projector: cannot decode event; skipping it", "event", e.ID, "type", e.Type, "stream", e.Stream, "err", err)
		}
		return nil, false
	}
	return payload, true
}

// projectPost maps blog events. Content that readers see (an import, a
// revision, a publication) is put in; an unpublish or a withdrawal takes
// the post out. A post event of any visibility other than public takes
// the post out too, so that a mistake in the writer cannot publish: the
// only such event is a draft, which the blog writes only while the post
// is not published (a save of a published post is a public revision),
// so deleting on it never hides a post readers can see.
func (p *projection) postOpOf(e events.Event, payload any) op {
	public := e.Metadata.Visibility == events.Public
	switch v := payload.(type) {
	case events.PostImported:
		return p.postOp(v.Blog, v.Slug, v.PostContent, public)
	case events.PostRevised:
		return p.postOp(v.Blog, v.Slug, v.PostContent, public)
	case events.PostPublished:
		return p.postOp(v.Blog, v.Slug, v.PostContent, public)
	case events.PostDrafted:
		return p.postOp(v.Blog, v.Slug, v.PostContent, false)
	case events.PostUnpublished:
		return op{id: PostID(v.Blog, v.Slug)}
	case events.PostWithdrawn:
		return op{id: PostID(v.Blog, v.Slug)}
	}
	return op{ignore: true}
}

// postOp is a post's document, without the names of erased people and
// never for a deleted blog.
func (p *projection) postOp(blog, slug string, c events.PostContent, public bool) op {
	id := PostID(blog, slug)
	if !public || blog == "" || slug == "" || p.mem.deleted[blog] {
		return op{id: id}
	}
	c.Authors = p.mem.authors(blog, c.Authors)
	d := PostDocument(blog, slug, c)
	return op{id: id, doc: &d}
}

// pending collects operations for one Apply; a later operation on the
// same document replaces an earlier one.
type pending struct {
	order      []string
	ops        map[string]op
	purge      bool // the batch removes someone's personal data
	bytes      int
	checkpoint events.Position
	written    events.Position
}

func newPending(at events.Position) *pending {
	return &pending{ops: map[string]op{}, checkpoint: at, written: at}
}

func (b *pending) add(o op) {
	if o.ignore {
		return
	}
	if _, ok := b.ops[o.id]; !ok {
		b.order = append(b.order, o.id)
	}
	b.ops[o.id] = o
	if o.doc != nil {
		b.bytes += len(o.doc.Body) + len(o.doc.Title) + len(o.doc.Summary) + len(o.doc.Name)
	}
}

func (b *pending) docs() int   { return len(b.order) }
func (b *pending) dirty() bool { return len(b.order) > 0 || b.checkpoint != b.written }
func (b *pending) batch() Batch {
	out := Batch{Checkpoint: b.checkpoint}
	for _, id := range b.order {
		if o := b.ops[id]; o.doc != nil {
			out.Upserts = append(out.Upserts, *o.doc)
		} else {
			out.Deletes = append(out.Deletes, id)
		}
	}
	return out
}

func (b *pending) reset() {
	b.order, b.ops, b.bytes, b.written, b.purge = b.order[:0], map[string]op{}, 0, b.checkpoint, false
}

// String describes the projection for logs.
func (p *projection) String() string { return fmt.Sprintf("search index %s", p.dir) }

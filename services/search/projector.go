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
// posts, collections, alliance members, contests and user accounts. Of
// the identity streams only profile updates are decoded, and of those
// only the fields the person published are read (projector_identity.go);
// sessions, email claims, applications, name claims, the alliance's
// policy and the blogs' own streams (owners, co-authors) are never read
// at all.
var indexedStreams = []string{
	events.CategoryPost + "-",
	events.CategoryCollection + "-",
	events.CategoryMember + "-",
	events.CategoryContest + "-",
	events.CategoryUser + "-",
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

	// seen is the position the index has reached; moved is closed and
	// replaced whenever it advances (see waitFor).
	mu    sync.Mutex
	seen  events.Position
	moved chan struct{}
}

func newProjection(ix Index, dir string, store events.Store, log *slog.Logger) *projection {
	return &projection{ix: ix, dir: dir, store: store, log: log, moved: make(chan struct{})}
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

// follow subscribes once from the index's checkpoint.
func (p *projection) follow(ctx context.Context) error {
	after, err := p.ix.Checkpoint(ctx)
	if err != nil {
		return &indexError{err}
	}
	p.advance(after)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan message, 4*maxBatchDocs)
	go func() {
		defer close(msgs)
		for m, err := range p.store.Subscribe(ctx, events.SubscribeOptions{After: after, Filter: events.Filter{StreamPrefixes: indexedStreams}}) {
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
			o, err := p.project(ctx, m.msg.Event)
			if err != nil {
				// The event is not consumed: the next subscription
				// starts from the checkpoint before it.
				if ferr := flush(); ferr != nil {
					return ferr
				}
				return err
			}
			b.add(o)
			b.checkpoint = m.msg.Event.Position
		case events.KindCheckpoint:
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

// project maps an event to its index operation, by the category of its
// stream: each source has its own function, which decodes only the event
// types it indexes. Only public events put anything in the index (for
// developer profiles: only the fields published). An error means the
// event could not be projected yet (the log could not be read) and must
// be tried again.
func (p *projection) project(ctx context.Context, e events.Event) (op, error) {
	switch events.Category(e.Stream) {
	case events.CategoryPost:
		return p.projectPost(e), nil
	case events.CategoryCollection:
		return p.projectCollection(e), nil
	case events.CategoryMember:
		return p.projectMember(ctx, e)
	case events.CategoryContest:
		return p.projectContest(e), nil
	case events.CategoryUser:
		return p.projectProfile(e), nil
	}
	return op{ignore: true}, nil
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
func (p *projection) projectPost(e events.Event) op {
	payload, ok := p.decode(e)
	if !ok {
		return op{ignore: true}
	}
	public := e.Metadata.Visibility == events.Public
	switch v := payload.(type) {
	case events.PostImported:
		return postOp(v.Blog, v.Slug, v.PostContent, public)
	case events.PostRevised:
		return postOp(v.Blog, v.Slug, v.PostContent, public)
	case events.PostPublished:
		return postOp(v.Blog, v.Slug, v.PostContent, public)
	case events.PostDrafted:
		return postOp(v.Blog, v.Slug, v.PostContent, false)
	case events.PostUnpublished:
		return op{id: PostID(v.Blog, v.Slug)}
	case events.PostWithdrawn:
		return op{id: PostID(v.Blog, v.Slug)}
	}
	return op{ignore: true}
}

func postOp(blog, slug string, c events.PostContent, public bool) op {
	id := PostID(blog, slug)
	if !public || blog == "" || slug == "" {
		return op{id: id}
	}
	d := PostDocument(blog, slug, c)
	return op{id: id, doc: &d}
}

// pending collects operations for one Apply; a later operation on the
// same document replaces an earlier one.
type pending struct {
	order      []string
	ops        map[string]op
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
	b.order, b.ops, b.bytes, b.written = b.order[:0], map[string]op{}, 0, b.checkpoint
}

// String describes the projection for logs.
func (p *projection) String() string { return fmt.Sprintf("search index %s", p.dir) }

package contest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// ledger owns one contest's stream. Its goroutine takes every pending
// command at once, decides them in order against the in-memory contest
// and writes their events in one append at the revision it decided on,
// so sixty judges scoring at once share one fsync. When another process
// moved the stream, the contest is rebuilt from it and the batch decided
// again.
type ledger struct {
	id    string
	store events.Store
	log   *slog.Logger
	now   func() time.Time
	cmds  chan *request

	// Owned by the goroutine.
	c      *Contest
	rev    events.ExpectedRevision
	loaded bool
}

type request struct {
	decide func(c *Contest, now time.Time, emit emit) (any, error)
	meta   events.Metadata
	idKey  string // derives event ids, so a retried request writes nothing twice
	done   chan answer
}

type answer struct {
	value any
	err   error
}

const maxBatch = 1024

func newLedger(id string, store events.Store, log *slog.Logger, now func() time.Time) *ledger {
	return &ledger{id: id, store: store, log: log, now: now, cmds: make(chan *request, maxBatch), rev: events.NoStream}
}

func (l *ledger) do(ctx context.Context, r *request) (any, error) {
	r.done = make(chan answer, 1)
	select {
	case l.cmds <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case a := <-r.done:
		return a.value, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *ledger) run(ctx context.Context) {
	batch := make([]*request, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case r := <-l.cmds:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-l.cmds:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		l.process(ctx, batch)
	}
}

const maxRounds = 10

func (l *ledger) process(ctx context.Context, batch []*request) {
	answers := make([]answer, len(batch))
	var err error
	for round := 0; round < maxRounds; round++ {
		if err = l.catchUp(ctx); err != nil {
			break
		}
		now := l.now()
		var proposed []events.Proposed
		for i, r := range batch {
			first := len(proposed)
			var emitErr error
			value, derr := r.decide(l.c, now, func(p any) {
				meta := r.meta
				meta.OccurredAt = now.UTC()
				meta.Visibility = visibility(p)
				meta.Subject = subject(p)
				ev, err := events.Types.New(p, meta)
				if err != nil {
					emitErr = err
					return
				}
				if r.idKey != "" {
					ev.ID = events.IDFromKey(r.idKey, len(proposed)-first)
				}
				proposed = append(proposed, ev)
				l.c.Apply(p, now.UTC())
			})
			if emitErr != nil {
				derr = emitErr
			}
			answers[i] = answer{value, derr}
		}
		if len(proposed) == 0 {
			break
		}
		var res events.AppendResult
		res, err = l.store.Append(ctx, events.ContestStream(l.id), l.rev, proposed...)
		if err == nil {
			l.rev = events.Exact(res.NextExpected)
			break
		}
		l.loaded = false
		var wrong *events.WrongExpectedRevisionError
		if !errors.As(err, &wrong) {
			break
		}
		err = fmt.Errorf("contest %s: still contended after %d rounds", l.id, maxRounds)
	}
	for i, r := range batch {
		if err != nil {
			answers[i] = answer{nil, fmt.Errorf("contest %s: %w", l.id, err)}
		}
		r.done <- answers[i]
	}
}

// catchUp loads the stream, or reads what other processes appended since.
func (l *ledger) catchUp(ctx context.Context) error {
	opts := events.ReadOptions{}
	if !l.loaded {
		l.c, l.rev = newContest(), events.NoStream
	} else if rev, exact := l.rev.Revision(); exact {
		opts.From = rev + 1
	}
	stream := events.ContestStream(l.id)
	for {
		opts.Count = 4096
		evs, err := l.store.ReadStream(ctx, stream, opts)
		if errors.Is(err, events.ErrStreamNotFound) {
			l.loaded = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		for _, e := range evs {
			if err := applyEvent(l.c, e); err != nil {
				return err
			}
		}
		if len(evs) > 0 {
			last := evs[len(evs)-1].Revision
			l.rev = events.Exact(last)
			opts.From = last + 1
		}
		if len(evs) < opts.Count {
			l.loaded = true
			return nil
		}
	}
}

// applyEvent decodes a stored event into the contest; types this binary
// does not know (written by a newer one) are skipped.
func applyEvent(c *Contest, e events.Event) error {
	p, err := events.Types.Decode(e)
	if errors.Is(err, events.ErrUnknownType) {
		return nil
	}
	if err != nil {
		return err
	}
	c.Apply(p, e.Metadata.OccurredAt)
	return nil
}

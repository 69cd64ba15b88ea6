package conference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// ledger owns one edition's stream. Its goroutine takes every pending
// command at once, decides them in arrival order against the in-memory
// aggregate, and writes all their events in ONE append with the exact
// revision it decided on. Under a rush, a few hundred registrations share
// one fsync instead of retrying against each other. When the append finds
// the stream moved (another process wrote), the state is rebuilt from the
// stream and the batch decided again.
type ledger struct {
	id    string
	store events.Store
	log   *slog.Logger
	now   func() time.Time
	cmds  chan *request

	// Owned by the goroutine.
	ed     *Edition
	rev    events.ExpectedRevision
	loaded bool
}

// request is one command (or read) for the ledger. decide runs on the
// ledger's goroutine; whatever it emits is appended before the answer.
type request struct {
	decide func(ed *Edition, now time.Time, emit emit) (any, error)
	meta   events.Metadata
	// idKey, when set, derives the ids of the events this request emits,
	// so that a retry proposes the same ids and the store dedups them.
	idKey string
	done  chan answer
}

type answer struct {
	value any
	err   error
}

// maxBatch bounds one decision: big enough to cover every client of a
// rush, small enough to keep one append's transaction short.
const maxBatch = 1024

func newLedger(id string, store events.Store, log *slog.Logger, now func() time.Time) *ledger {
	return &ledger{id: id, store: store, log: log, now: now, cmds: make(chan *request, maxBatch), rev: events.NoStream}
}

// do submits a request and waits for its answer.
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
		// The command may still be decided and written; a retry with the
		// same Idempotency-Key finds its answer.
		return nil, ctx.Err()
	}
}

func (l *ledger) run(ctx context.Context) {
	expiry := time.NewTimer(time.Hour)
	defer expiry.Stop()
	batch := make([]*request, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case r := <-l.cmds:
			batch = append(batch, r)
		case <-expiry.C:
			batch = append(batch, &request{decide: func(ed *Edition, now time.Time, emit emit) (any, error) {
				ed.expire(now, emit)
				return nil, nil
			}, meta: events.Metadata{Actor: events.ActorSystem}, done: make(chan answer, 1)})
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
		if next := l.nextExpiry(); !next.IsZero() {
			expiry.Reset(max(time.Until(next), 0) + 10*time.Millisecond)
		}
	}
}

func (l *ledger) nextExpiry() time.Time {
	if l.ed == nil {
		return time.Time{}
	}
	return l.ed.nextExpiry()
}

// maxRounds bounds how often one batch is decided again after losing a
// race with another process.
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
			value, derr := r.decide(l.ed, now, func(p any) {
				meta := r.meta
				meta.OccurredAt = now.UTC()
				meta.Visibility = visibility(p)
				ev, err := events.Types.New(p, meta)
				if err != nil {
					emitErr = err
					return
				}
				if r.idKey != "" {
					ev.ID = events.IDFromKey(r.idKey, len(proposed)-first)
				}
				proposed = append(proposed, ev)
				l.ed.Apply(p, now)
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
		res, err = l.store.Append(ctx, events.EditionStream(l.id), l.rev, proposed...)
		if err == nil {
			l.rev = events.Exact(res.NextExpected)
			break
		}
		// The state holds this batch's events that were not written:
		// rebuild it from the stream before anyone decides again.
		l.loaded = false
		var wrong *events.WrongExpectedRevisionError
		if !errors.As(err, &wrong) {
			break
		}
		err = fmt.Errorf("edition %s: still contended after %d rounds", l.id, maxRounds)
	}
	for i, r := range batch {
		if err != nil {
			answers[i] = answer{nil, fmt.Errorf("edition %s: %w", l.id, err)}
		}
		r.done <- answers[i]
	}
}

// catchUp loads the stream, or reads what other processes appended since
// the last look, so that reads and decisions see the whole ledger.
func (l *ledger) catchUp(ctx context.Context) error {
	opts := events.ReadOptions{}
	if !l.loaded {
		l.ed, l.rev = newEdition(), events.NoStream
	} else if rev, exact := l.rev.Revision(); exact {
		opts.From = rev + 1
	}
	stream := events.EditionStream(l.id)
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
			p, err := events.Types.Decode(e)
			if errors.Is(err, events.ErrUnknownType) {
				continue
			}
			if err != nil {
				return err
			}
			l.ed.Apply(p, e.Metadata.OccurredAt)
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

// visibility classifies conference events for timelines and pages.
func visibility(p any) events.Visibility {
	switch p.(type) {
	case events.EditionScheduled, events.EditionCapacityChanged, events.PolicySet, events.TrackAdded,
		events.SessionScheduled, events.SessionCapacityChanged, events.TicketTypeDefined:
		return events.Public
	case events.InviteCodeIssued, events.TicketScanRefused:
		return events.Staff
	}
	return events.Owner
}

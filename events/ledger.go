package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// LedgerConfig describes one aggregate stream for a Ledger.
type LedgerConfig[S any] struct {
	// Name prefixes the errors the ledger answers, e.g. "edition yunqi-2013".
	Name   string
	Stream string
	Store  Store
	Now    func() time.Time
	// New returns the empty aggregate, before the stream's first event.
	New func() S
	// Apply folds one payload into the aggregate, both for events read
	// back and for events just decided.
	Apply func(state S, payload any, at time.Time)
	// Visibility and Subject (optional) fill the metadata of decided events.
	Visibility func(payload any) Visibility
	Subject    func(payload any) string
	// NextWake (optional) says when the aggregate next has something to
	// decide on its own, such as an offer expiring; Wake is then decided as
	// if a client had sent it. Zero means nothing is due.
	NextWake func(state S) time.Time
	Wake     Command[S]
}

// Ledger owns one aggregate stream. Its goroutine takes every pending
// command at once, decides them in arrival order against the in-memory
// aggregate, and writes all their events in ONE append with the exact
// revision it decided on. Under a rush, hundreds of commands share one
// fsync instead of retrying against each other. When the append finds the
// stream moved (another process wrote), the state is rebuilt from the
// stream and the batch decided again.
type Ledger[S any] struct {
	LedgerConfig[S]
	cmds chan *Command[S]

	// Owned by the goroutine.
	state  S
	rev    ExpectedRevision
	loaded bool
	made   bool // state has been made by New at least once
}

// Command is one decision (or read) for a ledger. Decide runs on the
// ledger's goroutine; whatever it emits is appended before the answer.
type Command[S any] struct {
	Decide func(state S, now time.Time, emit func(payload any)) (any, error)
	Meta   Metadata
	// IDKey, when set, derives the ids of the events this command emits,
	// so that a retry proposes the same ids and the store dedups them.
	IDKey string
	done  chan ledgerAnswer
}

type ledgerAnswer struct {
	value any
	err   error
}

// maxLedgerBatch bounds one decision: big enough to cover every client of
// a rush, small enough to keep one append's transaction short.
const maxLedgerBatch = 1024

// maxLedgerRounds bounds how often one batch is decided again after
// losing a race with another process.
const maxLedgerRounds = 10

// NewLedger returns a ledger; Run must be running for Do to be answered.
func NewLedger[S any](c LedgerConfig[S]) *Ledger[S] {
	return &Ledger[S]{LedgerConfig: c, cmds: make(chan *Command[S], maxLedgerBatch), rev: NoStream}
}

// State is the aggregate as last decided or loaded. Only safe while Run is
// not running, or from inside a Decide.
func (l *Ledger[S]) State() S { return l.state }

// Do submits a command and waits for its answer.
func (l *Ledger[S]) Do(ctx context.Context, c *Command[S]) (any, error) {
	c.done = make(chan ledgerAnswer, 1)
	select {
	case l.cmds <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case a := <-c.done:
		return a.value, a.err
	case <-ctx.Done():
		// The command may still be decided and written; a retry with the
		// same IDKey writes nothing twice.
		return nil, ctx.Err()
	}
}

// Run decides commands until ctx ends.
func (l *Ledger[S]) Run(ctx context.Context) {
	var wake <-chan time.Time
	var timer *time.Timer
	if l.NextWake != nil {
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
		wake = timer.C
	}
	batch := make([]*Command[S], 0, maxLedgerBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case c := <-l.cmds:
			batch = append(batch, c)
		case <-wake:
			w := l.Wake
			w.done = make(chan ledgerAnswer, 1)
			batch = append(batch, &w)
		}
	drain:
		for len(batch) < maxLedgerBatch {
			select {
			case c := <-l.cmds:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		l.process(ctx, batch)
		if timer != nil && l.made {
			if next := l.NextWake(l.state); !next.IsZero() {
				timer.Reset(max(time.Until(next), 0) + 10*time.Millisecond)
			}
		}
	}
}

func (l *Ledger[S]) process(ctx context.Context, batch []*Command[S]) {
	answers := make([]ledgerAnswer, len(batch))
	var err error
rounds:
	for range maxLedgerRounds {
		if err = l.CatchUp(ctx); err != nil {
			break
		}
		now := l.Now()
		var proposed []Proposed
		var payloads []any // beside proposed, to rebuild the state without a failed command
		for i, c := range batch {
			first := len(proposed)
			var emitErr error
			value, derr := c.Decide(l.state, now, func(p any) {
				meta := c.Meta
				meta.OccurredAt = now.UTC()
				meta.Visibility = l.Visibility(p)
				if l.Subject != nil {
					meta.Subject = l.Subject(p)
				}
				ev, err := Types.New(p, meta)
				if err != nil {
					emitErr = err
					return
				}
				if c.IDKey != "" {
					ev.ID = IDFromKey(c.IDKey, len(proposed)-first)
				}
				proposed = append(proposed, ev)
				payloads = append(payloads, p)
				l.Apply(l.state, p, now.UTC())
			})
			if emitErr != nil {
				derr = emitErr
			}
			answers[i] = ledgerAnswer{value, derr}
			if derr != nil && len(proposed) > first {
				// A command that fails commits nothing, not even what it
				// emitted before failing: half a decision is worse than
				// none. A refusal worth recording is an outcome the command
				// returns without error. The state already holds the
				// events, so it is rebuilt from the stream and this
				// batch's earlier commands.
				proposed, payloads = proposed[:first], payloads[:first]
				l.loaded = false
				if err = l.CatchUp(ctx); err != nil {
					break rounds
				}
				for _, p := range payloads {
					l.Apply(l.state, p, now.UTC())
				}
			}
		}
		if len(proposed) == 0 {
			break
		}
		var res AppendResult
		res, err = l.Store.Append(ctx, l.Stream, l.rev, proposed...)
		if err == nil {
			l.rev = Exact(res.NextExpected)
			break
		}
		// The state holds this batch's events that were not written:
		// rebuild it from the stream before anyone decides again.
		l.loaded = false
		var wrong *WrongExpectedRevisionError
		if !errors.As(err, &wrong) {
			break
		}
		err = fmt.Errorf("still contended after %d rounds", maxLedgerRounds)
	}
	for i, c := range batch {
		if err != nil {
			answers[i] = ledgerAnswer{nil, fmt.Errorf("%s: %w", l.Name, err)}
		}
		c.done <- answers[i]
	}
}

// CatchUp loads the stream, or reads what other processes appended since
// the last look, so that reads and decisions see the whole stream. Only
// for the ledger's goroutine, or before Run.
func (l *Ledger[S]) CatchUp(ctx context.Context) error {
	opts := ReadOptions{}
	if !l.loaded {
		l.state, l.rev, l.made = l.New(), NoStream, true
	} else if rev, exact := l.rev.Revision(); exact {
		opts.From = rev + 1
	}
	for {
		opts.Count = 4096
		evs, err := l.Store.ReadStream(ctx, l.Stream, opts)
		if errors.Is(err, ErrStreamNotFound) {
			l.loaded = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", l.Stream, err)
		}
		for _, e := range evs {
			p, err := Types.Decode(e)
			if errors.Is(err, ErrUnknownType) {
				continue // written by a newer binary
			}
			if err != nil {
				return err
			}
			l.Apply(l.state, p, e.Metadata.OccurredAt)
		}
		if len(evs) > 0 {
			last := evs[len(evs)-1].Revision
			l.rev = Exact(last)
			opts.From = last + 1
		}
		if len(evs) < opts.Count {
			l.loaded = true
			return nil
		}
	}
}

// Ledgers keeps one running Ledger per aggregate id, started on first use
// and running until ctx ends.
type Ledgers[S any] struct {
	ctx   context.Context
	build func(id string) *Ledger[S]
	mu    sync.Mutex
	byID  map[string]*Ledger[S]
}

// NewLedgers returns the ledgers that build makes, one per id, run on ctx.
func NewLedgers[S any](ctx context.Context, build func(id string) *Ledger[S]) *Ledgers[S] {
	return &Ledgers[S]{ctx: ctx, build: build, byID: map[string]*Ledger[S]{}}
}

// Get returns the running ledger of id. Unless creating, an id whose stream
// has no events is ErrStreamNotFound, so that probing ids starts nothing.
func (ls *Ledgers[S]) Get(ctx context.Context, id string, creating bool) (*Ledger[S], error) {
	ls.mu.Lock()
	l := ls.byID[id]
	ls.mu.Unlock()
	if l != nil {
		return l, nil
	}
	l = ls.build(id)
	if !creating {
		if _, err := l.Store.ReadStream(ctx, l.Stream, ReadOptions{Count: 1}); err != nil {
			return nil, err
		}
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if running := ls.byID[id]; running != nil {
		return running, nil
	}
	ls.byID[id] = l
	go l.Run(ls.ctx)
	return l, nil
}

// IDs lists the ids whose ledgers run.
func (ls *Ledgers[S]) IDs() []string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ids := make([]string, 0, len(ls.byID))
	for id := range ls.byID {
		ids = append(ids, id)
	}
	return ids
}

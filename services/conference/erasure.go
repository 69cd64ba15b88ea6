package conference

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Erasure. When an account is erased (identity.AccountErased), its key is
// destroyed, so the name in every registration of the person reads as
// nothing from then on; what the service must do itself is let go of
// what it still holds and free the seats. The eraser follows the log for
// erased accounts and, for each, sends every edition the person
// registered in one command: forget the names the running ledger read
// before the key went, and cancel the active registration as a member
// cancelling it would, so that its seats go to the waitlist.
//
// The command's events take their ids from the erasure event's id and the
// edition, so a restart (which replays every erasure) or a second process
// doing the same proposes the same events, and a registration already
// cancelled is not cancelled again.

// eraser is the conference's process reacting to erased accounts.
type eraser struct {
	s        *Service
	follower *events.Follower
	log      *slog.Logger

	mu sync.Mutex
	// placed maps a member to the editions they registered in, in the
	// order of their first registration there.
	placed map[string][]string
	erased map[string]bool
	jobs   []erasure
	wake   chan struct{}
}

// erasure is one erased account still to be dealt with.
type erasure struct {
	member   string
	event    string // the AccountErased event's id
	meta     events.Metadata
	editions []string
}

func newEraser(s *Service, log *slog.Logger) *eraser {
	x := &eraser{s: s, log: log, placed: map[string][]string{}, erased: map[string]bool{}, wake: make(chan struct{}, 1)}
	x.follower = &events.Follower{
		Name:   "conference erasures",
		Store:  s.store,
		Filter: events.Filter{TypePrefixes: []string{"conference.RegistrationPlaced", "identity.AccountErased"}},
		Apply:  x.apply,
		Logger: log,
	}
	return x
}

func (x *eraser) apply(e events.Event) {
	p, err := events.Types.Decode(e)
	if err != nil {
		if !errors.Is(err, events.ErrUnknownType) {
			x.log.Error("conference erasures: cannot decode event", "event", e.ID, "err", err)
		}
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	switch v := p.(type) {
	case events.RegistrationPlaced:
		if v.MemberID != "" && !slices.Contains(x.placed[v.MemberID], v.EditionID) {
			x.placed[v.MemberID] = append(x.placed[v.MemberID], v.EditionID)
		}
	case events.AccountErased:
		if v.UserID == "" {
			return
		}
		x.erased[v.UserID] = true
		if eds := x.placed[v.UserID]; len(eds) > 0 {
			meta := events.Metadata{Actor: events.ActorSystem, CausationID: e.ID.String(),
				CorrelationID: e.Metadata.CorrelationID, RequestID: e.Metadata.RequestID}
			x.jobs = append(x.jobs, erasure{member: v.UserID, event: e.ID.String(), meta: meta, editions: slices.Clone(eds)})
			select {
			case x.wake <- struct{}{}:
			default:
			}
		}
	}
}

// isErased reports whether the account has been erased, as far as the
// log has been read.
func (x *eraser) isErased(member string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.erased[member]
}

// run follows the log and works through the erasures until ctx ends.
// A job whose ledger cannot be reached (the store is down) is tried again
// with a growing pause; jobs are never dropped, since a seat held by an
// erased account would stay taken.
func (x *eraser) run(ctx context.Context) error {
	go x.follower.Run(ctx)
	for {
		x.mu.Lock()
		var job erasure
		ok := len(x.jobs) > 0
		if ok {
			job, x.jobs = x.jobs[0], x.jobs[1:]
		}
		x.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-x.wake:
				continue
			}
		}
		backoff := 100 * time.Millisecond
		for {
			err := x.erase(ctx, &job)
			if err == nil || ctx.Err() != nil {
				break
			}
			x.log.Warn("conference erasures: cannot release an erased account's registrations yet; retrying",
				"member", job.member, "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
		}
	}
}

// erase sends each remaining edition of the job its command, dropping the
// editions done so that a retry starts where the failure was.
func (x *eraser) erase(ctx context.Context, job *erasure) error {
	for len(job.editions) > 0 {
		ed := job.editions[0]
		_, err := x.s.exec(ctx, ed, false, job.meta, "account-erased/"+job.event+"/"+ed,
			func(e *Edition, now time.Time, emit emit) (any, error) {
				e.erase(job.member, now, emit)
				return nil, nil
			})
		if err != nil && !errors.Is(err, ErrEditionNotFound) {
			return err
		}
		job.editions = job.editions[1:]
	}
	return nil
}

// erase forgets the member's names in this edition and cancels their
// active registration.
//
// The usual cancellation rules, read for a person who no longer exists:
//   - the cancellation deadline does not hold. It keeps members from
//     backing out late, when organisers have planned with them; an erased
//     account cannot come (its ticket must stop opening the gate) and its
//     seat is worth most to the waitlist exactly when it is late;
//   - a checked-in registration stays, as for a member: the seat was used,
//     and the check-in is a fact of the edition (now without a name);
//   - an edition that is over frees nothing: its registrations are its
//     history, which keeps its counts, only without the name.
//
// Forgetting the names changes the state without an event: the log
// already reads as nothing where the names were (the key is gone), so the
// state is what a reload of the stream would give, without the reload.
func (ed *Edition) erase(member string, now time.Time, emit emit) {
	if !ed.Exists {
		return
	}
	ed.forget(member)
	regID, ok := ed.ByMember[member]
	if !ok || ed.over(now) {
		return
	}
	r := ed.Regs[regID]
	if r == nil || r.Status == events.StatusCancelled || r.CheckedIn {
		return
	}
	ed.release(r, now, emit)
}

// forget blanks the member's name wherever the edition's state copied it.
func (ed *Edition) forget(member string) {
	mine := map[string]bool{}
	for _, r := range ed.Regs {
		if r.Member == member {
			r.Name = ""
			r.Placed.Personal = events.RegistrantPersonal{}
			mine[r.ID] = true
		}
	}
	if len(mine) == 0 {
		return
	}
	for k, res := range ed.gate.scans {
		if mine[res.Registration] {
			res.Name = ""
			ed.gate.scans[k] = res
		}
	}
	for _, d := range ed.gate.devices {
		for i := range d.Refusals {
			if mine[d.Refusals[i].Registration] {
				d.Refusals[i].Name = ""
			}
		}
	}
}

// over reports whether the edition's last day has passed everywhere on
// Earth: its dates are the venue's days, and the venue's zone is not
// recorded (see outsideDates). An edition without dates is never over.
func (ed *Edition) over(now time.Time) bool {
	last := ed.EndsOn
	if last == "" {
		last = ed.StartsOn
	}
	d, err := time.Parse(time.DateOnly, last)
	return err == nil && now.After(d.Add(36*time.Hour))
}

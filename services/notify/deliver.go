package notify

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// The outbox sends the email that is due. Each mail is claimed in its own
// stream before it is sent and recorded after, both with the revision the
// notifier read, so that:
//   - a second notifier never sends a mail the first has claimed: its claim
//     is refused;
//   - a notifier that dies after its claim leaves the mail to whoever sees
//     the lease run out, and nothing is skipped;
//   - the only repeat is a death between the server's acceptance and the
//     record, and the repeat has the same Message-ID.

// staleAfter: mail that could not go out for this long is not sent late
// (an offer has lapsed by then); it stays in the inbox and is listed as
// failed for the organisers.
const staleAfter = 7 * 24 * time.Hour

type outbox struct {
	s        *Service
	mu       sync.Mutex
	inflight map[string]bool
	wake     chan struct{}
}

func newOutbox(s *Service) *outbox {
	return &outbox{s: s, inflight: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (o *outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run sends until ctx ends. It starts once the model has caught up, so
// that mail recorded by an earlier run is known before anything is sent.
func (o *outbox) run(ctx context.Context) {
	for !o.s.follower.Ready() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	work := make(chan []*outMail)
	var wg sync.WaitGroup
	for range o.s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				o.deliver(ctx, batch)
			}
		}()
	}
	defer func() { close(work); wg.Wait() }()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastCursor := time.Time{}
	for ctx.Err() == nil {
		for _, b := range o.batches() {
			select {
			case work <- b:
			case <-ctx.Done():
				o.release(b)
				return
			}
		}
		if time.Since(lastCursor) > o.s.cfg.CursorEvery {
			o.moveCursor(ctx)
			lastCursor = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-o.wake:
		}
	}
}

// batches takes the mail that may be attempted now, oldest first, in
// batches that each go over one SMTP connection.
func (o *outbox) batches() [][]*outMail {
	now := o.s.now()
	m := o.s.model
	m.mu.RLock()
	var due []*outMail
	for _, om := range m.mail {
		if om.done || now.Before(om.leaseUntil) || now.Before(om.retryAt) {
			continue
		}
		c := *om
		due = append(due, &c)
	}
	m.mu.RUnlock()
	o.mu.Lock()
	due = slices.DeleteFunc(due, func(om *outMail) bool { return o.inflight[om.ID] })
	for _, om := range due {
		o.inflight[om.ID] = true
	}
	o.mu.Unlock()
	slices.SortFunc(due, func(a, b *outMail) int { return a.after.Compare(b.after) })
	var out [][]*outMail
	for len(due) > 0 {
		n := min(len(due), o.s.cfg.Batch)
		out = append(out, due[:n])
		due = due[n:]
	}
	return out
}

func (o *outbox) release(batch []*outMail) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, om := range batch {
		delete(o.inflight, om.ID)
	}
}

func (o *outbox) deliver(ctx context.Context, batch []*outMail) {
	defer o.release(batch)
	s := o.s
	now := s.now()
	type claimed struct {
		om  *outMail
		rev uint64
		msg Message
	}
	var sending []claimed
	for _, om := range batch {
		if s.model.isErased(om.Note.User) {
			// Taken for this batch before the erasure was read: the
			// model has dropped it, and it is neither claimed nor sent.
			continue
		}
		expected := events.NoStream
		if om.rev >= 0 {
			expected = events.Exact(uint64(om.rev))
		}
		attempt := om.attempt + 1
		if now.Sub(om.Note.Created) > staleAfter {
			o.finish(ctx, om, expected, events.MailFailed{NotificationID: om.ID, Kind: om.Note.Kind, UserID: om.Note.User,
				Attempts: om.attempt, Reason: "not sent within 7 days of the event"})
			continue
		}
		res, err := s.appendMail(ctx, om.ID, expected, events.MailClaimed{NotificationID: om.ID, Kind: om.Note.Kind,
			UserID: om.Note.User, Attempt: attempt, Notifier: s.cfg.Name, LeaseUntil: now.Add(s.cfg.Lease)})
		if err != nil {
			// Another notifier claimed or finished it; the model hears of
			// it from the log and drops or delays it.
			var wrong *events.WrongExpectedRevisionError
			if !errors.As(err, &wrong) {
				s.log.Warn("could not claim a mail; trying again later", "notification", om.ID, "err", err)
			}
			continue
		}
		msg, err := s.compose(om)
		if err != nil {
			o.finish(ctx, om, events.Exact(res.NextExpected), events.MailFailed{NotificationID: om.ID, Kind: om.Note.Kind,
				UserID: om.Note.User, Attempts: attempt, Reason: "could not be written: " + err.Error()})
			continue
		}
		om.attempt = attempt
		sending = append(sending, claimed{om, res.NextExpected, msg})
	}
	// The last look before the server gets them: an erasure read while
	// they were claimed and written stops them still. A claim left so
	// runs out with its lease, and every notifier has dropped the mail.
	sending = slices.DeleteFunc(sending, func(c claimed) bool { return s.model.isErased(c.om.Note.User) })
	if len(sending) == 0 {
		return
	}
	msgs := make([]Message, len(sending))
	for i, c := range sending {
		msgs[i] = c.msg
	}
	sendCtx, cancel := context.WithTimeout(ctx, s.cfg.Lease/2)
	defer cancel()
	s.cfg.Mailer.Send(sendCtx, msgs, func(i int, err error) {
		// Recording must not be cut short by shutdown: the server has the
		// message, and an unrecorded one would be sent again.
		rec, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer stop()
		c := sending[i]
		o.record(rec, c.om, events.Exact(c.rev), c.msg, err)
	})
	s.metrics.batch(len(sending))
}

func (o *outbox) record(ctx context.Context, om *outMail, expected events.ExpectedRevision, msg Message, err error) {
	s := o.s
	if err == nil {
		o.finish(ctx, om, expected, events.MailSent{NotificationID: om.ID, MessageID: msg.ID, Attempt: om.attempt})
		s.metrics.sent.Inc()
		return
	}
	var de *DeliveryError
	temporary := true
	reason := err.Error()
	if errors.As(err, &de) {
		temporary, reason = de.Temporary, de.Reason
	}
	if !temporary || om.attempt >= s.cfg.MaxAttempts {
		s.log.Warn("mail failed for good", "notification", om.ID, "kind", om.Note.Kind, "attempts", om.attempt, "reason", reason)
		o.finish(ctx, om, expected, events.MailFailed{NotificationID: om.ID, Kind: om.Note.Kind, UserID: om.Note.User,
			Attempts: om.attempt, Reason: reason})
		s.metrics.failed.Inc()
		return
	}
	wait := s.cfg.RetryBase << min(om.attempt-1, 10)
	wait = min(wait, 30*time.Minute)
	s.log.Info("mail attempt failed; retrying", "notification", om.ID, "attempt", om.attempt, "in", wait.String(), "reason", reason)
	o.finish(ctx, om, expected, events.MailAttemptFailed{NotificationID: om.ID, Attempt: om.attempt, Reason: reason,
		RetryAt: s.now().Add(wait)})
	s.metrics.retried.Inc()
}

func (o *outbox) finish(ctx context.Context, om *outMail, expected events.ExpectedRevision, payload any) {
	if _, err := o.s.appendMail(ctx, om.ID, expected, payload); err != nil {
		o.s.log.Error("could not record a mail's outcome; another notifier will take it over after its lease",
			"notification", om.ID, "err", err)
		return
	}
	// Until the model hears of the record, keep it from being picked again.
	o.s.model.mu.Lock()
	if cur := o.s.model.mail[om.ID]; cur != nil {
		switch payload.(type) {
		case events.MailSent, events.MailFailed:
			cur.done = true
		case events.MailAttemptFailed:
			cur.retryAt = payload.(events.MailAttemptFailed).RetryAt
			cur.leaseUntil = time.Time{}
			if r, ok := expected.Revision(); ok {
				cur.rev = int64(r) + 1
			}
			cur.attempt = om.attempt
		}
	}
	o.s.model.mu.Unlock()
}

// moveCursor records how far every due mail is done, so that a notifier
// starting later reads the mail decisions of the log after it only.
func (o *outbox) moveCursor(ctx context.Context) {
	m := o.s.model
	m.mu.RLock()
	p := m.tip
	for _, om := range m.mail {
		if om.after.Compare(p) < 0 {
			p = om.after
		}
	}
	moved := p.Compare(m.mailAfter) > 0
	m.mu.RUnlock()
	if !moved {
		return
	}
	if err := o.s.appendCursor(ctx, p); err != nil && ctx.Err() == nil {
		o.s.log.Warn("could not record the mail cursor", "err", err)
	}
}
